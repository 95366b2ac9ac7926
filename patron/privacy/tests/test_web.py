"""Privacy pages: the profile's Privacy card, erase with a typed confirmation, the result
page and the erasure log, and the data download; permissions per object, refusals change
nothing, hostile names are escaped."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.core.permissions import P
from patron.core.services import workspace_update
from patron.core.tests.api_client import db_state
from patron.privacy.models import Erasure
from patron.privacy.services import contact_erase
from patron.privacy.tests.people import HOSTILE, exporter, person, role_user

pytestmark = pytest.mark.django_db


def _unchanged(client: Client, method: str, url: str, status: int, **data: Any) -> None:
    before, erasures = db_state(), Erasure.objects.count()
    response = client.post(url, data) if method == "post" else client.get(url)
    assert response.status_code == status
    assert db_state() == before and Erasure.objects.count() == erasures


def test_the_profile_shows_the_privacy_card_by_permission(
    admin_user_p: Any, client_for: Any, make_user: Any
) -> None:
    ada = person(admin_user_p, "ada")
    url = f"/contacts/{ada.contact.pk}/"
    page = client_for(admin_user_p).get(url).content.decode()
    assert 'id="privacy-export"' in page and 'id="privacy-erase"' in page
    assert "/privacy/erasures/" in page
    for role in ("readonly", "sales", "marketing", "support"):
        page = client_for(make_user(role)).get(url).content.decode()
        assert 'id="privacy-actions"' not in page, role
    page = client_for(make_user("manager")).get(url).content.decode()
    assert 'id="privacy-erase"' in page and 'id="privacy-export"' in page
    assert "/privacy/erasures/" not in page  # no audit.view


def test_erase_asks_for_the_name_then_erases_and_shows_the_result(
    admin_user_p: Any, client_for: Any
) -> None:
    ada = person(admin_user_p, "ada")
    client = client_for(admin_user_p)
    url = f"/privacy/contacts/{ada.contact.pk}/erase/"
    page = client.get(url).content.decode()
    assert ada.email in page and "cannot be undone" in page

    _unchanged(client, "post", url, 422, confirm="someone else")
    _unchanged(client, "post", url, 422, confirm="")
    response = client.post(url, {"confirm": f"  {ada.contact.display_name.upper()} "})

    record = Erasure.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/privacy/erasures/{record.pk}/"
    assert not Contact.objects.filter(pk=ada.contact.pk).exists()
    result = client.get(response["Location"]).content.decode()
    assert f"Contact #{ada.contact.pk} was erased" in result and "events.Event" in result
    assert ada.marker not in result


def test_the_email_also_confirms(admin_user_p: Any, client_for: Any) -> None:
    ada = person(admin_user_p, "ada")
    response = client_for(admin_user_p).post(
        f"/privacy/contacts/{ada.contact.pk}/erase/", {"confirm": ada.email.upper()}
    )
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=ada.contact.pk).exists()


def test_erase_needs_the_csrf_token(admin_user_p: Any) -> None:
    ada = person(admin_user_p, "ada")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user_p)
    url = f"/privacy/contacts/{ada.contact.pk}/erase/"
    _unchanged(client, "post", url, 403, confirm=ada.email)


@pytest.mark.parametrize("role", ["readonly", "sales", "marketing", "support"])
def test_erase_is_refused_without_contact_delete(
    admin_user_p: Any, client_for: Any, make_user: Any, role: str
) -> None:
    ada = person(admin_user_p, "ada")
    client = client_for(make_user(role))
    url = f"/privacy/contacts/{ada.contact.pk}/erase/"
    _unchanged(client, "get", url, 403)
    _unchanged(client, "post", url, 403, confirm=ada.email)


def test_erase_of_a_contact_out_of_scope_is_404(
    admin_user_p: Any, client_for: Any, make_user: Any
) -> None:
    workspace_update(actor=admin_user_p, restricted_visibility="own")
    user = role_user(make_user, "eraser", [P.CONTACT_VIEW, P.CONTACT_DELETE], restricted=True)
    theirs = person(admin_user_p, "theirs", owner=admin_user_p)
    client = client_for(user)
    url = f"/privacy/contacts/{theirs.contact.pk}/erase/"
    _unchanged(client, "get", url, 404)
    _unchanged(client, "post", url, 404, confirm=theirs.email)
    _unchanged(client, "post", "/privacy/contacts/99999999/erase/", 404, confirm="x")


def test_anonymous_users_are_sent_to_login(admin_user_p: Any, client: Any) -> None:
    ada = person(admin_user_p, "ada")
    for url in (f"/privacy/contacts/{ada.contact.pk}/erase/", "/privacy/erasures/"):
        assert client.get(url).status_code == 302
    _unchanged(client, "post", f"/privacy/contacts/{ada.contact.pk}/erase/", 302, confirm=ada.email)
    _unchanged(client, "post", f"/privacy/contacts/{ada.contact.pk}/export/", 302)


def test_hostile_names_are_escaped_on_every_page(admin_user_p: Any, client_for: Any) -> None:
    contact = contact_create(actor=admin_user_p, data={"first_name": HOSTILE, "email": ""})
    client = client_for(admin_user_p)
    page = client.get(f"/privacy/contacts/{contact.pk}/erase/").content.decode().lower()
    assert "<script>alert" not in page and "<svg onload" not in page
    assert "&lt;script&gt;alert" in page
    response = client.post(f"/privacy/contacts/{contact.pk}/erase/", {"confirm": HOSTILE})
    assert response.status_code == 302  # the typed (raw) name confirms
    # The erasure's actor label is shown on the log: a hostile one is escaped too.
    admin_user_p.first_name = HOSTILE
    admin_user_p.save(update_fields=["first_name"])
    other = contact_create(actor=admin_user_p, data={"first_name": "Zed"})
    contact_erase(actor=admin_user_p, contact=other)
    for url in ("/privacy/erasures/", f"/privacy/erasures/{Erasure.objects.last().pk}/"):
        page = client.get(url).content.decode().lower()
        assert "<script>alert" not in page and "<svg onload" not in page
        assert "&lt;script&gt;alert" in page


def test_the_log_needs_audit_view(
    admin_user_p: Any, manager_user_p: Any, client_for: Any, make_user: Any
) -> None:
    ada = person(admin_user_p, "ada")
    mine = contact_erase(actor=manager_user_p, contact=ada.contact)
    page = client_for(admin_user_p).get("/privacy/erasures/").content.decode()
    assert f"#{ada.contact.pk}" in page and "manager_p" in page and ada.marker not in page
    manager = client_for(manager_user_p)
    _unchanged(manager, "get", "/privacy/erasures/", 403)
    assert manager.get(f"/privacy/erasures/{mine.pk}/").status_code == 200  # their own
    other = client_for(make_user("manager", username="manager_2"))
    _unchanged(other, "get", f"/privacy/erasures/{mine.pk}/", 404)


def test_the_log_pages_with_a_cursor(admin_user_p: Any, client_for: Any, monkeypatch: Any) -> None:
    from patron.web.views import privacy as views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    ids = []
    for i in range(3):
        c = contact_create(actor=admin_user_p, data={"first_name": f"P{i}"})
        ids.append(contact_erase(actor=admin_user_p, contact=c).pk)
    client = client_for(admin_user_p)
    first = client.get("/privacy/erasures/")
    assert first.context["next_cursor"]
    assert [e["record"].pk for e in first.context["entries"]] == ids[:0:-1]
    second = client.get("/privacy/erasures/", {"cursor": first.context["next_cursor"]})
    assert [e["record"].pk for e in second.context["entries"]] == [ids[0]]
    assert client.get("/privacy/erasures/", {"cursor": "garbage"}).status_code == 200


def test_the_download_is_a_post_with_the_whole_document(admin_user_p: Any, client_for: Any) -> None:
    ada = person(admin_user_p, "ada")
    client = client_for(admin_user_p)
    url = f"/privacy/contacts/{ada.contact.pk}/export/"
    assert client.get(url).status_code == 405
    response = client.post(url)
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    doc = json.loads(b"".join(response.streaming_content))
    assert doc["profile"]["email"] == ada.email
    assert Activity.objects.filter(verb="privacy.exported", subject_id=ada.contact.pk).exists()


@pytest.mark.parametrize("role", ["readonly", "sales", "marketing", "support"])
def test_the_download_is_refused_without_the_permissions(
    admin_user_p: Any, client_for: Any, make_user: Any, role: str
) -> None:
    ada = person(admin_user_p, "ada")
    _unchanged(
        client_for(make_user(role)), "post", f"/privacy/contacts/{ada.contact.pk}/export/", 403
    )


def test_the_download_of_a_contact_out_of_scope_is_404(
    admin_user_p: Any, client_for: Any, make_user: Any
) -> None:
    workspace_update(actor=admin_user_p, restricted_visibility="own")
    theirs = person(admin_user_p, "theirs", owner=admin_user_p)
    client = client_for(exporter(make_user, restricted=True))
    _unchanged(client, "post", f"/privacy/contacts/{theirs.contact.pk}/export/", 404)


def test_ids_past_the_column_range_are_404(admin_user_p: Any, client_for: Any) -> None:
    client = client_for(admin_user_p)
    huge = "9" * 25
    assert client.get(f"/privacy/erasures/{huge}/").status_code == 404
    assert client.get(f"/privacy/contacts/{huge}/erase/").status_code == 404
