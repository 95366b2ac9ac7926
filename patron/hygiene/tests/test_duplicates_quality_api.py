"""Duplicate finding, the review queue, quality figures and the /hygiene JSON API."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from patron.accounts.models import Role
from patron.contacts.models import Contact, ContactIdentity
from patron.core.models import Activity, Workspace
from patron.core.permissions import P, PermissionDenied
from patron.hygiene.matching import profile_of, score_pair
from patron.hygiene.models import (
    DuplicateCandidate,
    HygieneSettings,
    MergeRecord,
    QualitySnapshot,
)
from patron.hygiene.quality import contact_quality, quality_figures
from patron.hygiene.selectors import duplicate_queue, duplicates_for
from patron.hygiene.services import (
    duplicate_candidates_refresh,
    duplicate_dismiss,
    quality_snapshot_take,
)
from patron.hygiene.tests.factories import contact, database_state

pytestmark = pytest.mark.django_db


# --- scoring ---------------------------------------------------------------------------


def test_scores_explain_agreement_without_values() -> None:
    a = profile_of(1, first_name="Robert", last_name="Smith", email_keys={"bob@x.com"})
    b = profile_of(2, first_name="Bob", last_name="Smyth", email_keys={"bob@x.com"})
    match = score_pair(a, b)
    assert match.score > 0.95
    verdicts = {e["field"]: e["verdict"] for e in match.explanation}
    assert verdicts["email"] == "agree" and verdicts["first_name"] == "agree"
    assert verdicts["last_name"] == "similar"
    assert "Smith" not in json.dumps(match.explanation)  # no values in explanations


def test_swapped_names_and_conflicting_birthdays() -> None:
    a = profile_of(1, first_name="Chen", last_name="Wei", postal_code="10115")
    b = profile_of(2, first_name="Wei", last_name="Chen", postal_code="10115")
    assert score_pair(a, b).explanation[2]["verdict"] == "swapped"
    assert score_pair(a, b).score > 0.8
    c = profile_of(3, first_name="John", last_name="Smith", birthday=dt.date(1980, 1, 1))
    d = profile_of(4, first_name="John", last_name="Smith", birthday=dt.date(1990, 7, 7))
    assert score_pair(c, d).score < 0.1


# --- real-time candidates -------------------------------------------------------------


@pytest.fixture
def jane():
    return contact(
        first_name="Jane",
        last_name="Doe",
        email="jane.doe+crm@gmail.com",
        phone="+442079460958",
        postal_code="SW1A 1AA",
        birthday=dt.date(1980, 5, 6),
    )


def test_duplicates_for_finds_each_blocking_key(jane, manager_user_p) -> None:
    by_email = contact(first_name="J", last_name="Doe", email="janedoe@googlemail.com")
    by_phone = contact(first_name="Jane", last_name="Doh", phone="+442079460958")
    by_name = contact(first_name="Jane", last_name="Doe", postal_code="SW1A 1AA")
    by_pc_bday = contact(
        first_name="Jayne", last_name="Dow", postal_code="SW1A 1AA", birthday=jane.birthday
    )
    by_identity = contact(first_name="Jane", last_name="Doe-Smith")
    ContactIdentity.objects.create(contact=by_identity, kind="phone", value="+442079460958")
    stranger = contact(first_name="Max", last_name="Muster", email="max@example.com")

    found = {m.contact.pk: m for m in duplicates_for(manager_user_p, jane)}

    assert {by_email.pk, by_phone.pk, by_name.pk, by_pc_bday.pk, by_identity.pk} <= set(found)
    assert stranger.pk not in found
    assert jane.pk not in found
    scores = [m.score for m in found.values()]
    assert scores == sorted(scores, reverse=True)


def test_duplicates_for_only_shows_contacts_in_scope(jane, make_user) -> None:
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    rep = make_user("sales")
    Contact.objects.filter(pk=jane.pk).update(owner=rep)
    contact(first_name="Jane", last_name="Doe", email="janedoe@gmail.com")  # not the rep's
    assert duplicates_for(rep, jane.pk) == []
    Role.objects.create(key="none", name="No permissions", permissions=[])
    with pytest.raises(PermissionDenied):
        duplicates_for(make_user("none"), jane.pk)


def test_refresh_fills_the_queue_and_keeps_dismissed_pairs_dismissed(jane, manager_user_p):
    twin = contact(first_name="Jane", last_name="Doe", email="JaneDoe@gmail.com")
    assert duplicate_candidates_refresh(contact_id=jane.pk) == 1
    pair = DuplicateCandidate.objects.get()
    assert (pair.contact_a_id, pair.contact_b_id) == (jane.pk, twin.pk)
    assert pair.status == "open" and pair.score > 0.9
    duplicate_dismiss(actor=manager_user_p, candidate=pair)
    duplicate_candidates_refresh(contact_id=twin.pk)
    pair.refresh_from_db()
    assert pair.status == "dismissed"
    assert not duplicate_queue(manager_user_p).exists()
    assert Activity.objects.filter(verb="contact.duplicate_dismissed").count() == 2


def test_contact_create_enqueues_a_duplicate_check(
    sales_user_p, settings, django_capture_on_commit_callbacks
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from patron.contacts.services import contact_create

    first = contact_create(actor=sales_user_p, data={"full_name": "Ann Lee", "email": "a@x.com"})
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = contact_create(
            actor=sales_user_p, data={"full_name": "ANN LEE", "email": "A@x.com"}
        )
    assert len(callbacks) == 1
    pair = DuplicateCandidate.objects.get()
    assert (pair.contact_a_id, pair.contact_b_id, pair.status) == (first.pk, second.pk, "open")


# --- quality --------------------------------------------------------------------------


def test_contact_quality_has_reasons() -> None:
    full = contact(
        first_name="A",
        last_name="B",
        email="a@example.com",
        phone="+442079460958",
        country="GB",
        city="London",
        job_title="CTO",
    )
    q = contact_quality(full)
    assert (q.completeness, q.validity) == (65, 30)
    assert [r["code"] for r in q.reasons] == ["missing_owner"]
    bare = contact(first_name="X", invalid_fields={"email": {"value": "x@", "reason": "bad"}})
    codes = [r["code"] for r in contact_quality(bare).reasons]
    assert "invalid_email" in codes and "missing_phone" in codes
    assert contact_quality(bare).score < 30


def test_workspace_figures_and_snapshots(manager_user_p, make_user) -> None:
    contact(first_name="A", email="a@example.com", country="DE")
    contact(first_name="B", invalid_fields={"phone": {"value": "nope"}})
    old = contact(first_name="C", phone="+442079460958", country="GB")
    Contact.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    figures = quality_figures(manager_user_p)
    assert figures["total"] == 3
    assert figures["with_email"] == 1 and figures["invalid_phone"] == 1
    assert figures["incomplete"] == 1 and figures["stale"] == 1
    assert figures["shares"]["email"] == round(1 / 3, 4)
    snap = quality_snapshot_take(actor=None)
    again = quality_snapshot_take(actor=None)
    assert snap.pk == again.pk and QualitySnapshot.objects.count() == 1
    with pytest.raises(PermissionDenied):
        quality_figures(make_user("support"))


# --- the JSON API ---------------------------------------------------------------------


def _api(make_api_key, role: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {make_api_key(role)}"})


def _post(client: Client, path: str, body: dict | None = None):
    return client.post(
        f"/api/v1/hygiene{path}", data=json.dumps(body or {}), content_type="application/json"
    )


def test_api_merge_undo_duplicates_quality(make_api_key, jane) -> None:
    api = _api(make_api_key, "admin")
    twin = contact(first_name="Jane", last_name="Doe", email="janedoe@gmail.com")
    r = api.get(f"/api/v1/hygiene/contacts/{jane.pk}/duplicates")
    assert r.status_code == 200 and r.json()[0]["contact_id"] == twin.pk
    r = api.get(f"/api/v1/hygiene/contacts/{jane.pk}/quality")
    assert r.status_code == 200 and 0 < r.json()["score"] <= 100
    duplicate_candidates_refresh(contact_id=jane.pk)
    r = api.get("/api/v1/hygiene/duplicates")
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    before = database_state()
    r = _post(api, "/merges", {"survivor_id": jane.pk, "merged_id": twin.pk, "rule": "most_recent"})
    assert r.status_code == 201, r.content
    merge_id = r.json()["id"]
    assert not Contact.objects.filter(pk=twin.pk).exists()
    assert api.get(f"/api/v1/hygiene/merges/{merge_id}").json()["survivor_id"] == jane.pk
    r = _post(api, f"/merges/{merge_id}/undo")
    assert r.status_code == 200 and r.json()["undone_at"]
    assert database_state() == before
    assert _post(api, f"/merges/{merge_id}/undo").status_code == 422
    r = api.get("/api/v1/hygiene/quality", {"stale_months": 6})
    assert r.status_code == 200 and r.json()["total"] == 2 and "trend" in r.json()


@pytest.mark.parametrize("role", ["sales", "marketing", "support", "readonly"])
def test_api_refuses_merge_undo_dismiss_without_permission_and_changes_nothing(
    make_api_key, jane, role
) -> None:
    twin = contact(first_name="Jane", last_name="Doe", email="janedoe@gmail.com")
    duplicate_candidates_refresh(contact_id=jane.pk)
    from patron.hygiene.services import contact_merge

    record = contact_merge(actor=None, survivor=jane, merged=twin)
    other = contact(first_name="Jane", last_name="Doe", email="jane.doe@gmail.com")
    duplicate_candidates_refresh(contact_id=other.pk)
    candidate = DuplicateCandidate.objects.get()
    api = _api(make_api_key, role)
    before, activity = database_state(), Activity.objects.count()

    responses = [
        _post(api, "/merges", {"survivor_id": jane.pk, "merged_id": other.pk}),
        _post(api, f"/merges/{record.pk}/undo"),
        api.get(f"/api/v1/hygiene/merges/{record.pk}"),
        _post(api, f"/duplicates/{candidate.pk}/dismiss"),
    ]
    assert [r.status_code for r in responses] == [403, 403, 403, 403]
    assert database_state() == before and Activity.objects.count() == activity
    assert MergeRecord.objects.get().undone_at is None
    if role != "marketing":  # marketing may see quality figures, others may not
        assert api.get("/api/v1/hygiene/quality").status_code == 403


def test_api_scope_hides_other_peoples_contacts(make_user, client_for, jane) -> None:
    Role.objects.create(
        key="merger",
        name="Restricted merger",
        permissions=[P.CONTACT_VIEW, P.CONTACT_EDIT, P.CONTACT_MERGE, P.QUALITY_VIEW],
        restricted=True,
    )
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    user = make_user("merger")
    mine = contact(first_name="Jane", last_name="Doe", email="janedoe@gmail.com", owner=user)
    client = client_for(user)
    client.get("/api/v1/hygiene/quality")  # sets the CSRF cookie for session posts
    before = database_state()
    r = client.get(f"/api/v1/hygiene/contacts/{jane.pk}/duplicates")
    assert r.status_code == 404
    r = client.get(f"/api/v1/hygiene/contacts/{mine.pk}/duplicates")
    assert r.status_code == 200 and r.json() == []  # jane is not the user's
    r = client.post(
        "/api/v1/hygiene/merges",
        data=json.dumps({"survivor_id": mine.pk, "merged_id": jane.pk}),
        content_type="application/json",
        headers={"X-CSRFToken": client.cookies["csrftoken"].value}
        if "csrftoken" in client.cookies
        else {},
    )
    assert r.status_code == 403
    assert database_state() == before
    assert client.get("/api/v1/hygiene/quality").json()["total"] == 1


# --- settings, scans and fixes over the API ------------------------------------------


def test_api_settings_scans_and_fixes(make_api_key) -> None:
    api = _api(make_api_key, "admin")
    assert api.get("/api/v1/hygiene/settings").json()["auto_merge_enabled"] is False
    body = {"auto_merge_enabled": True, "auto_merge_threshold": 0.5}
    r = api.put("/api/v1/hygiene/settings", json.dumps(body), content_type="application/json")
    assert r.status_code == 422 and not HygieneSettings.objects.exists()  # below the floor
    body["auto_merge_threshold"] = 0.98
    r = api.put("/api/v1/hygiene/settings", json.dumps(body), content_type="application/json")
    assert r.status_code == 200 and r.json()["auto_merge_threshold"] == 0.98
    assert HygieneSettings.objects.get().auto_merge_enabled
    r = _post(api, "/scans")
    assert r.status_code == 202
    assert Activity.objects.filter(verb="duplicates.scan_requested").exists()
    old = contact(first_name="Old")
    Contact.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    r = _post(api, "/fixes/tag-stale", {"stale_months": 6, "tag": "sleepy"})
    assert r.status_code == 200 and r.json()["changed"] == 1
    assert list(old.tags.values_list("name", flat=True)) == ["sleepy"]
    r = _post(api, "/fixes/renormalize")
    assert r.status_code == 200 and r.json() == {"examined": 0, "changed": 0, "remaining": 0}
    assert api.get("/api/v1/hygiene/scans").status_code == 200


@pytest.mark.parametrize("role", ["manager", "sales", "support", "readonly"])
def test_api_settings_scans_fixes_refused_and_nothing_changes(make_api_key, role) -> None:
    old = contact(first_name="Old", invalid_fields={"phone": {"value": "x", "reason": "bad"}})
    Contact.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    api = _api(make_api_key, role)
    before, activity = database_state(), Activity.objects.count()
    body = json.dumps({"auto_merge_enabled": True, "auto_merge_threshold": 0.99})
    codes = [api.put("/api/v1/hygiene/settings", body, content_type="application/json")]
    if role != "manager":  # managers may merge, fix and scan; only admins set auto-merge
        codes += [
            _post(api, "/scans"),
            _post(api, "/fixes/tag-stale", {"stale_months": 1}),
            _post(api, "/fixes/renormalize"),
        ]
    assert {r.status_code for r in codes} == {403}
    assert database_state() == before and Activity.objects.count() == activity
    assert not HygieneSettings.objects.exists()
