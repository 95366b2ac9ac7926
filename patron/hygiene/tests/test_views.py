"""The hygiene pages: review queue, merge screen, journal with Undo, Data quality page.

Every write view is tried by a user without the permission (refused, nothing changed),
and by one with it (the behaviour happens, through the service, with an activity entry).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from patron.accounts.models import User
from patron.contacts.models import Contact, ContactIdentity, Tag
from patron.core.models import Activity
from patron.hygiene.models import DuplicateCandidate, HygieneSettings, MergeRecord, QualitySnapshot
from patron.hygiene.services import contact_merge
from patron.hygiene.tests.factories import attach_everything, contact, database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(make_user: Callable[..., User]) -> Callable[[str], tuple[User, Client]]:
    def make(role: str, **fields: object) -> tuple[User, Client]:
        user = make_user(role, **fields)
        client = Client()
        client.force_login(user)
        return user, client

    return make


@pytest.fixture
def pair() -> tuple[Contact, Contact, DuplicateCandidate]:
    a = contact(first_name="Ann", last_name="Lee", email="ann.lee@gmail.com", phone="+14155550100")
    b = contact(
        first_name="Anne",
        last_name="Lee",
        email="ann.lee+shop@gmail.com",
        phone="+14155550199",
        city="Oakland",
    )
    attach_everything(b, 1)
    cand = DuplicateCandidate.objects.create(
        contact_a=a,
        contact_b=b,
        score=0.97,
        explanation=[{"field": "email", "verdict": "agree", "weight": 9.0}],
    )
    return a, b, cand


def _state() -> tuple[object, ...]:
    return (
        database_state(),
        list(MergeRecord.objects.values()),
        list(HygieneSettings.objects.values()),
        Activity.objects.count(),
    )


# --- refusals: nothing changes --------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "support", "readonly", "marketing"])
def test_write_views_refuse_without_permission_and_change_nothing(as_user, pair, role) -> None:
    a, b, cand = pair
    record = contact_merge(actor=None, survivor=a.pk, merged=b.pk)
    b2 = contact(first_name="Zed", last_name="Lee", email="zed@x.com")
    stale = contact(first_name="Old", last_name="Timer")
    Contact.objects.filter(pk=stale.pk).update(updated_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    cand2 = DuplicateCandidate.objects.create(contact_a=a, contact_b=b2, score=0.9)
    _, client = as_user(role)
    before = _state()
    posts = [
        reverse("hygiene:dismiss", args=[cand2.pk]),
        reverse("hygiene:merge", args=[a.pk, b2.pk]),
        reverse("hygiene:undo", args=[record.pk]),
        reverse("hygiene:settings"),
        reverse("hygiene:scan"),
    ]
    if role != "marketing":  # marketing may fix data quality (see below)
        posts += [reverse("hygiene:fix_renormalize"), reverse("hygiene:fix_tag_stale")]
    for url in posts:
        response = client.post(
            url,
            {"auto_merge_enabled": "on", "auto_merge_threshold": "0.95", "stale_months": "1"},
        )
        assert response.status_code in (403, 404), url
    assert _state() == before
    assert client.get(reverse("hygiene:merge", args=[a.pk, b2.pk])).status_code in (403, 404)
    assert client.get(reverse("hygiene:journal")).status_code == 403


def test_pages_need_login(pair) -> None:
    client = Client()
    for name in ("hygiene:quality", "hygiene:queue", "hygiene:journal"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_manager_cannot_turn_on_auto_merge(as_user) -> None:
    _, client = as_user("manager")
    before = _state()
    response = client.post(
        reverse("hygiene:settings"),
        {
            "auto_merge_enabled": "on",
            "auto_merge_threshold": "0.95",
            "auto_merge_rule": "most_complete",
        },
    )
    assert response.status_code == 403
    assert _state() == before
    page = client.get(reverse("hygiene:quality")).content.decode()
    assert 'action="/hygiene/quality/settings/"' not in page


def test_restricted_user_cannot_reach_out_of_scope_contacts(as_user, make_user, pair) -> None:
    a, b, cand = pair
    owner = make_user("sales")
    Contact.objects.filter(pk__in=[a.pk, b.pk]).update(owner=owner)
    from patron.core.services import workspace_update

    admin = make_user("admin", is_superuser=True)
    workspace_update(actor=admin, restricted_visibility="own")
    user, client = as_user("sales")
    from patron.accounts.models import Role

    role = Role.objects.get(key="sales")
    role.permissions = [*role.permissions, "contact.merge"]
    role.save()
    before = _state()
    assert client.get(reverse("hygiene:merge", args=[a.pk, b.pk])).status_code == 404
    assert client.post(reverse("hygiene:merge", args=[a.pk, b.pk])).status_code == 404
    assert client.post(reverse("hygiene:dismiss", args=[cand.pk])).status_code == 404
    assert f">{a.display_name}<" not in client.get(reverse("hygiene:queue")).content.decode()
    assert _state() == before


# --- behaviour -------------------------------------------------------------------------


def test_queue_lists_pairs_with_explanations_and_dismiss_works(as_user, pair) -> None:
    a, b, cand = pair
    user, client = as_user("manager")
    page = client.get(reverse("hygiene:queue")).content.decode()
    assert a.display_name in page and b.display_name in page
    assert "97%" in page and "Email: agree" in page
    assert reverse("hygiene:merge", args=[a.pk, b.pk]) in page
    response = client.post(reverse("hygiene:dismiss", args=[cand.pk]))
    assert response.status_code == 302
    cand.refresh_from_db()
    assert cand.status == "dismissed" and cand.reviewed_by == user
    assert b.display_name not in client.get(reverse("hygiene:queue")).content.decode()
    assert Activity.objects.filter(verb="contact.duplicate_dismissed").count() == 2


def test_merge_screen_shows_both_sides_and_kept_secondaries(as_user, pair) -> None:
    a, b, _ = pair
    _, client = as_user("manager")
    page = client.get(reverse("hygiene:merge", args=[a.pk, b.pk])).content.decode()
    assert "ann.lee@gmail.com" in page and "ann.lee+shop@gmail.com" in page
    assert "Oakland" in page
    # Most complete: the merged contact (it has an address) gives email and phone, so the
    # survivor's own email and phone are shown as kept, not dropped.
    assert 'name="pick_email" value="merged" checked' in page
    kept = page.split("Kept as secondary", 1)[1]
    assert "ann.lee@gmail.com" in kept and "+14155550100" in kept
    assert "<script>" not in page.split("</head>", 1)[1].replace(
        '<script src="', ""
    )  # no inline script
    assert not re.search(r'\sstyle="', page)  # no inline style (CSP)


def test_merge_with_picked_values_and_undo_from_the_journal(as_user, pair) -> None:
    a, b, _ = pair
    before = database_state()
    _, client = as_user("manager")
    response = client.post(
        reverse("hygiene:merge", args=[a.pk, b.pk]),
        {"rule": "most_complete", "pick_name": "merged", "pick_email": "survivor"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("web:contact_detail", args=[a.pk])
    a.refresh_from_db()
    assert a.first_name == "Anne" and a.email == "ann.lee@gmail.com"
    assert a.city == "Oakland"  # most complete: only the merged one had an address
    assert not Contact.objects.filter(pk=b.pk).exists()
    assert ContactIdentity.objects.filter(
        contact=a, kind="email", value="ann.lee+shop@gmail.com"
    ).exists()
    record = MergeRecord.objects.get()
    page = client.get(reverse("hygiene:journal")).content.decode()
    assert f'action="{reverse("hygiene:undo", args=[record.pk])}"' in page
    client.post(reverse("hygiene:undo", args=[record.pk]))
    assert database_state() == before
    page = client.get(reverse("hygiene:journal")).content.decode()
    assert "Undone" in page
    # A second undo is refused with a message, nothing changes.
    client.post(reverse("hygiene:undo", args=[record.pk]))
    assert database_state() == before


def test_merge_into_itself_is_refused(as_user, pair) -> None:
    a, _, _ = pair
    _, client = as_user("manager")
    assert client.post(reverse("hygiene:merge", args=[a.pk, a.pk])).status_code == 404
    assert not MergeRecord.objects.exists()


def test_quality_page_figures_trend_svg_and_fixes(as_user, pair) -> None:
    QualitySnapshot.objects.create(
        day=dt.date.today() - dt.timedelta(days=1),
        figures={"shares": {"email": 0.5}, "duplicate_pairs": 3},
    )
    QualitySnapshot.objects.create(
        day=dt.date.today(), figures={"shares": {"email": 0.75}, "duplicate_pairs": 1}
    )
    _, client = as_user("admin")
    page = client.get(reverse("hygiene:quality")).content.decode()
    assert "<svg" in page and "<polyline" in page
    assert "Contacts with an email: <strong>75.0%</strong>" in page
    assert reverse("hygiene:queue") in page  # one-click: open duplicate review
    assert "Off: nothing is merged" in page


def test_nav_links_to_data_quality_for_roles_that_see_it(as_user) -> None:
    _, client = as_user("marketing")
    assert reverse("hygiene:quality") in client.get(reverse("web:contacts")).content.decode()
    _, client = as_user("sales")
    assert reverse("hygiene:quality") not in client.get(reverse("web:contacts")).content.decode()


def test_renormalize_fixes_values_that_now_normalise(as_user) -> None:
    c = contact(
        first_name="Max",
        invalid_fields={"phone": {"value": "030 1234567", "reason": "Not a valid number."}},
    )
    still = contact(first_name="Bad", invalid_fields={"email": {"value": "nope@", "reason": "bad"}})
    Contact.objects.filter(pk=c.pk).update(country="DE")  # the region is known now
    _, client = as_user("marketing")
    response = client.post(reverse("hygiene:fix_renormalize"))
    assert response.status_code == 302
    c.refresh_from_db()
    still.refresh_from_db()
    assert c.phone == "+49301234567" and c.invalid_fields == {}
    assert "email" in still.invalid_fields and still.email == ""
    assert Activity.objects.filter(verb="contact.updated", contact_id=c.pk).exists()
    assert not Activity.objects.filter(verb="contact.updated", contact_id=still.pk).exists()


def test_tag_stale_tags_only_stale_contacts_once(as_user) -> None:
    old = contact(first_name="Old")
    fresh = contact(first_name="Fresh")
    Contact.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    _, client = as_user("marketing")
    client.post(reverse("hygiene:fix_tag_stale"), {"stale_months": "12", "tag": "stale"})
    client.post(reverse("hygiene:fix_tag_stale"), {"stale_months": "12", "tag": "stale"})
    tag = Tag.objects.get(name="stale")
    assert list(tag.contacts.values_list("pk", flat=True)) == [old.pk]
    assert fresh.pk not in tag.contacts.values_list("pk", flat=True)
    assert Activity.objects.filter(verb="contact.tagged", contact_id=old.pk).count() == 1


def test_admin_sets_auto_merge_with_a_floor(as_user) -> None:
    user, client = as_user("admin")
    client.post(
        reverse("hygiene:settings"),
        {
            "auto_merge_enabled": "on",
            "auto_merge_threshold": "0.5",
            "auto_merge_rule": "most_recent",
        },
    )
    assert not HygieneSettings.objects.filter(auto_merge_enabled=True).exists()
    client.post(
        reverse("hygiene:settings"),
        {
            "auto_merge_enabled": "on",
            "auto_merge_threshold": "0.97",
            "auto_merge_rule": "most_recent",
        },
    )
    config = HygieneSettings.objects.get()
    assert config.auto_merge_enabled and config.auto_merge_threshold == 0.97
    assert config.updated_by == user
    entry = Activity.objects.get(verb="hygiene.settings_updated")
    assert entry.changes["after"]["auto_merge_enabled"] is True


def test_profile_shows_likely_duplicate_notice(as_user) -> None:
    a = contact(first_name="Robert", last_name="Smith", email="rob.smith@gmail.com")
    b = contact(first_name="Bob", last_name="Smith", email="robsmith@gmail.com")
    other = contact(first_name="Carla", last_name="Diaz", email="carla@x.com")
    _, client = as_user("manager")
    page = client.get(reverse("web:contact_detail", args=[a.pk])).content.decode()
    assert "Likely duplicate" in page and reverse("web:contact_detail", args=[b.pk]) in page
    assert reverse("hygiene:merge", args=[a.pk, b.pk]) in page
    page = client.get(reverse("web:contact_detail", args=[other.pk])).content.decode()
    assert "Likely duplicate" not in page
    _, client = as_user("support")  # may see, may not merge
    page = client.get(reverse("web:contact_detail", args=[a.pk])).content.decode()
    assert "Likely duplicate" in page and "Compare and merge" not in page
