"""The privacy JSON API: erase, export and the erasure log, per object and per permission;
refusals change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import P
from patron.core.services import workspace_update
from patron.core.tests.api_client import Api, db_state
from patron.privacy.models import Erasure
from patron.privacy.services import contact_erase
from patron.privacy.tests.people import exporter, person, role_user

pytestmark = pytest.mark.django_db

ERASURE_KEYS = {"id", "contact_id", "erased_at", "actor", "removed"}


def _refused(api: Api, method: str, path: str, status: int) -> None:
    before = db_state()
    erasures = Erasure.objects.count()
    response = api.post(path, {}) if method == "post" else api.get(path)
    assert response.status_code == status, response.content
    assert "detail" in response.json()
    assert db_state() == before and Erasure.objects.count() == erasures


# --- erase ----------------------------------------------------------------------------


def test_erase_removes_what_the_service_removes_and_returns_the_record(
    admin_user_p: Any, api_key_client: Any
) -> None:
    ada = person(admin_user_p, "ada")
    twin = person(admin_user_p, "twin")  # the same kinds of rows, erased by the service
    bob = person(admin_user_p, "bob")
    api = api_key_client("admin")

    response = api.post(f"/contacts/{ada.contact.pk}/erase", {})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ERASURE_KEYS and body["contact_id"] == ada.contact.pk
    assert not Contact.objects.filter(pk=ada.contact.pk).exists()
    via_service = contact_erase(actor=admin_user_p, contact=twin.contact)
    assert body["removed"] == via_service.removed
    assert body["removed"]["events.Event"] == 3 and body["removed"]["commerce.OrderLine"] == 2
    # Nothing of the person is in the answer or the log; Bob is untouched.
    text = json.dumps(body) + str(list(Erasure.objects.values()))
    assert ada.marker not in text and ada.email not in text
    assert Contact.objects.filter(pk=bob.contact.pk).exists()
    entry = Activity.objects.get(verb="privacy.erased", subject_id=body["id"])
    assert ada.marker not in json.dumps(entry.changes) + entry.subject_label


@pytest.mark.parametrize("role", ["readonly", "sales", "marketing", "support"])
def test_erase_needs_contact_delete(admin_user_p: Any, api_key_client: Any, role: str) -> None:
    ada = person(admin_user_p, "ada")
    _refused(api_key_client(role), "post", f"/contacts/{ada.contact.pk}/erase", 403)


def test_erase_of_a_contact_out_of_scope_is_404_and_changes_nothing(
    world: Any, api_for: Any, make_user: Any
) -> None:
    workspace_update(actor=world.admin, restricted_visibility="own")
    user = role_user(make_user, "eraser", [P.CONTACT_VIEW, P.CONTACT_DELETE], restricted=True)
    theirs = Contact.objects.get(pk=world.ids["theirs_contact"])
    api = api_for(user)
    _refused(api, "post", f"/contacts/{theirs.pk}/erase", 404)
    _refused(api, "post", "/contacts/99999999/erase", 404)
    # Their own contact goes.
    Contact.objects.filter(pk=world.ids["mine_contact"]).update(owner=user)
    assert api.post(f"/contacts/{world.ids['mine_contact']}/erase", {}).status_code == 200


def test_erase_without_authentication_is_401(client: Any, admin_user_p: Any) -> None:
    ada = person(admin_user_p, "ada")
    response = client.post(f"/api/v1/contacts/{ada.contact.pk}/erase")
    assert response.status_code == 401
    assert Contact.objects.filter(pk=ada.contact.pk).exists()


def test_a_browser_session_needs_the_csrf_token(admin_user_p: Any) -> None:
    from django.test import Client

    ada = person(admin_user_p, "ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user_p)
    response = client.post(f"/api/v1/contacts/{ada.contact.pk}/erase")
    assert response.status_code in (401, 403)
    assert Contact.objects.filter(pk=ada.contact.pk).exists()


# --- export ---------------------------------------------------------------------------


def test_export_streams_the_document_and_audits_it(admin_user_p: Any, api_key_client: Any) -> None:
    ada = person(admin_user_p, "ada")
    bob = person(admin_user_p, "bob")
    response = api_key_client("admin").get(f"/contacts/{ada.contact.pk}/privacy-export")
    assert response.status_code == 200
    assert response.streaming and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    doc = json.loads(b"".join(response.streaming_content))
    assert doc["contact_id"] == ada.contact.pk and doc["profile"]["email"] == ada.email
    assert bob.marker not in json.dumps(doc)
    entry = Activity.objects.get(verb="privacy.exported")
    assert entry.subject_id == ada.contact.pk and entry.changes["counts"] == doc["counts"]


@pytest.mark.parametrize("role", ["readonly", "sales", "marketing", "support"])
def test_export_is_refused_without_sensitive_and_export(
    admin_user_p: Any, api_key_client: Any, role: str
) -> None:
    ada = person(admin_user_p, "ada")
    _refused(api_key_client(role), "get", f"/contacts/{ada.contact.pk}/privacy-export", 403)


def test_export_of_a_contact_out_of_scope_is_404(world: Any, api_for: Any, make_user: Any) -> None:
    workspace_update(actor=world.admin, restricted_visibility="own")
    api = api_for(exporter(make_user, restricted=True))
    _refused(api, "get", f"/contacts/{world.ids['theirs_contact']}/privacy-export", 404)


# --- the erasure log ------------------------------------------------------------------


def test_the_log_lists_erasures_for_audit_view_only(
    admin_user_p: Any, manager_user_p: Any, api_for: Any, api_key_client: Any
) -> None:
    a = person(admin_user_p, "ada")
    b = person(admin_user_p, "bea")
    first = contact_erase(actor=manager_user_p, contact=a.contact)
    second = contact_erase(actor=admin_user_p, contact=b.contact)
    items = api_key_client("admin").walk("/privacy/erasures", limit=1)
    assert [i["id"] for i in items] == [second.pk, first.pk]
    assert all(set(i) == ERASURE_KEYS for i in items)
    assert items[1]["actor"] == "manager_p"
    assert a.marker not in json.dumps(items)
    # A manager can erase but cannot read the log; they can read their own erasure.
    manager = api_for(manager_user_p)
    _refused(manager, "get", "/privacy/erasures", 403)
    assert manager.get(f"/privacy/erasures/{first.pk}").json()["id"] == first.pk
    _refused(manager, "get", f"/privacy/erasures/{second.pk}", 404)
    _refused(api_key_client("readonly"), "get", "/privacy/erasures", 403)


def test_the_openapi_document_lists_the_privacy_paths(client: Any, db: None) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert set(doc["paths"]["/api/v1/contacts/{contact_id}/erase"]) == {"post"}
    assert set(doc["paths"]["/api/v1/contacts/{contact_id}/privacy-export"]) == {"get"}
    assert set(doc["paths"]["/api/v1/privacy/erasures"]) == {"get"}
    assert set(doc["paths"]["/api/v1/privacy/erasures/{erasure_id}"]) == {"get"}
    erase = doc["paths"]["/api/v1/contacts/{contact_id}/erase"]["post"]
    assert {"200", "401", "403", "404"} <= set(erase["responses"])
