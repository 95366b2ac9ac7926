"""The Django admin: every registered model's pages work, logs and consent are read-only,
secrets stay hidden, and edits of contacts, tickets and settings go through services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.widgets import AdminSplitDateTime
from django.db import models
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from patron.accounts.models import ApiKey, User
from patron.contacts.models import Contact
from patron.core.demo import demo_generate
from patron.core.models import Activity, Workspace
from patron.events.models import (
    ContactTraits,
    Event,
    IdentityConflict,
    RejectedMessage,
    Source,
)
from patron.privacy.models import Consent, Erasure, ErasureMatch
from patron.support.models import Ticket

# Apps whose admin this project owns: every model needs a row so its change page is tested.
PATRON_APPS = {"accounts", "core", "contacts", "events", "commerce", "support", "privacy"}
READ_ONLY = (Activity, Consent)


@pytest.fixture
def site(db: None, tmp_path: Path, make_api_key: Callable[..., str]) -> None:
    """Demo data, an API key and the few rows the demo does not make."""
    demo_generate(contacts=25, seed=5, duplicates_path=tmp_path / "dups.csv")
    make_api_key("readonly", name="ci")
    contact = Contact.objects.order_by("pk").first()
    other = Contact.objects.order_by("-pk").first()
    source = Source.objects.first()
    assert contact and other and source
    RejectedMessage.objects.create(
        source=source, received_at=timezone.now(), type="track", reason="track needs an event"
    )
    ContactTraits.objects.create(contact=contact, traits={"favourite_roast": "light"})
    IdentityConflict.objects.create(
        survivor=contact, merged=other, kind="email", value="a@b.example"
    )
    erasure = Erasure.objects.create(contact_id=10**9, removed={"contacts.Contact": 1})
    ErasureMatch.objects.create(erasure=erasure, digest="0" * 64)


@pytest.fixture
def client(admin_user_p: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(admin_user_p)


def _url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _post_data(response: Any) -> dict[str, Any]:
    """What a browser would post back from an admin change/add page, unchanged."""
    data: dict[str, Any] = {}

    def add(form: Any) -> None:
        for bf in form:
            value = bf.value()
            if isinstance(bf.field.widget, AdminSplitDateTime):
                if value:
                    if isinstance(value, str):
                        value = dt.datetime.fromisoformat(value)
                    value = timezone.localtime(value)
                    data[f"{bf.html_name}_0"] = value.date().isoformat()
                    data[f"{bf.html_name}_1"] = value.time().replace(microsecond=0).isoformat()
            elif value is None:
                continue
            elif isinstance(value, bool):
                if value:
                    data[bf.html_name] = "on"
            elif isinstance(value, (list, tuple)):
                data[bf.html_name] = [str(v) for v in value]
            else:
                data[bf.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for form in formset.forms:
            add(form)
    return data


# --- every page -----------------------------------------------------------------------


def test_every_registered_model_has_working_list_search_and_change_pages(
    site: None, client: Client
) -> None:
    # Every model of the project's apps is registered (auto-created M2M tables aside).
    for label in PATRON_APPS:
        for model in apps.get_app_config(label).get_models():
            assert model in admin.site._registry, model._meta.label
    checked = 0
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label
        response = client.get(_url(model, "changelist"))
        assert response.status_code == 200, label
        if model_admin.search_fields:
            response = client.get(_url(model, "changelist"), {"q": "a"})
            assert response.status_code == 200, f"{label} search"
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            assert model._meta.app_label not in PATRON_APPS, f"no {label} row to test"
            continue
        response = client.get(_url(model, "change", obj.pk))
        assert response.status_code == 200, label
        checked += 1
    assert checked >= sum(1 for m in admin.site._registry if m._meta.app_label in PATRON_APPS)


def test_contact_search_finds_by_name_email_and_phone_digits(site: None, client: Client) -> None:
    contact = Contact.objects.exclude(email="").exclude(phone="").order_by("pk").first()
    assert contact is not None
    for term in (contact.last_name.upper(), contact.email, contact.phone, contact.phone[1:]):
        response = client.get(_url(Contact, "changelist"), {"q": term})
        assert response.status_code == 200
        found = list(response.context["cl"].result_list)
        assert contact in found, term


# --- read-only logs and secrets ---------------------------------------------------------


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_activity_and_consent_cannot_be_added_changed_or_deleted(
    site: None, client: Client, admin_user_p: User, model: type[models.Model]
) -> None:
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = admin_user_p
    obj = model._default_manager.order_by("pk").first()
    assert obj is not None
    before = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}
    # The permissions say no, even to a superuser
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, obj)
    assert not model_admin.has_delete_permission(request, obj)
    assert model_admin.has_view_permission(request, obj)
    # And the pages refuse
    assert client.get(_url(model, "add")).status_code == 403
    assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    changed = client.post(_url(model, "change", obj.pk), {"verb": "x", "status": "withdrawn"})
    assert changed.status_code == 403
    page = client.get(_url(model, "changelist"))
    assert _url(model, "add") not in page.content.decode()
    # Nothing changed
    obj.refresh_from_db()
    assert {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields} == before
    assert model._default_manager.filter(pk=obj.pk).exists()


def test_api_key_page_shows_the_prefix_never_the_hash(site: None, client: Client) -> None:
    key = ApiKey.objects.get(name="ci")
    page = client.get(_url(ApiKey, "change", key.pk)).content.decode()
    assert key.prefix in page
    assert key.key_hash not in page
    listing = client.get(_url(ApiKey, "changelist")).content.decode()
    assert key.key_hash not in listing
    assert client.get(_url(ApiKey, "add")).status_code == 403


def test_api_key_revoke_action_uses_the_service(site: None, client: Client) -> None:
    key = ApiKey.objects.get(name="ci")
    response = client.post(
        _url(ApiKey, "changelist"),
        {"action": "revoke", "_selected_action": [key.pk], "index": 0},
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert Activity.objects.filter(verb="apikey.revoked", subject_id=key.pk).exists()


def test_source_page_hides_write_key_hashes(site: None, client: Client) -> None:
    source = Source.objects.first()
    assert source is not None
    page = client.get(_url(Source, "change", source.pk)).content.decode()
    assert source.key_hash not in page
    assert source.key_prefix in page


def test_events_are_view_only(site: None, client: Client) -> None:
    event = Event.objects.order_by("pk").first()
    assert event is not None
    assert client.get(_url(Event, "add")).status_code == 403
    assert client.post(_url(Event, "delete", event.pk), {"post": "yes"}).status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()


# --- edits go through the services ------------------------------------------------------


def test_contact_edit_is_normalised_and_logged(
    site: None, client: Client, admin_user_p: User
) -> None:
    contact = Contact.objects.order_by("pk").first()
    assert contact is not None
    url = _url(Contact, "change", contact.pk)
    data = _post_data(client.get(url))
    # When the email is changed in the admin
    data["email"] = "New.Person+vip@Example.COM"
    response = client.post(url, data)
    # Then it is saved normalised, with the search text and match key kept in step
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    contact.refresh_from_db()
    assert contact.email == "New.Person+vip@example.com"
    assert "new.person+vip@example.com" in contact.search_text
    assert contact.email_match_key == "new.person@example.com"
    # And the activity log says who did it
    entry = Activity.objects.filter(verb="contact.updated", contact_id=contact.pk).get()
    assert entry.actor_id == admin_user_p.pk
    assert entry.changes["after"]["email"] == "New.Person+vip@example.com"


def test_invalid_contact_edit_shows_the_error_and_changes_nothing(
    site: None, client: Client
) -> None:
    contact = Contact.objects.order_by("pk").first()
    assert contact is not None
    url = _url(Contact, "change", contact.pk)
    data = _post_data(client.get(url))
    before = contact.email
    data["email"] = "not an email"
    response = client.post(url, data)
    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    contact.refresh_from_db()
    assert contact.email == before
    assert not Activity.objects.filter(verb="contact.updated").exists()


def test_contact_added_in_admin_is_created_by_the_service(
    site: None, client: Client, admin_user_p: User
) -> None:
    url = _url(Contact, "add")
    data = _post_data(client.get(url))
    data.update(first_name="Jana", last_name="Nováková", phone="030 1234567", country="DE")
    response = client.post(url, data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    contact = Contact.objects.get(last_name="Nováková")
    assert contact.phone == "+49301234567"
    assert contact.name_key
    entry = Activity.objects.get(verb="contact.created", contact_id=contact.pk)
    assert entry.actor_id == admin_user_p.pk


def test_contact_deleted_in_admin_is_logged(site: None, client: Client) -> None:
    contact = Contact.objects.order_by("-pk").first()
    assert contact is not None
    response = client.post(_url(Contact, "delete", contact.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Activity.objects.filter(verb="contact.deleted", subject_id=contact.pk).exists()


def test_ticket_resolved_in_admin_is_stamped_and_logged(site: None, client: Client) -> None:
    ticket = Ticket.objects.filter(status="open").order_by("pk").first()
    if ticket is None:
        ticket = Ticket.objects.order_by("pk").first()
        assert ticket is not None
        Ticket.objects.filter(pk=ticket.pk).update(status="open", resolved_at=None)
    url = _url(Ticket, "change", ticket.pk)
    data = _post_data(client.get(url))
    data["status"] = "resolved"
    response = client.post(url, data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    assert ticket.resolved_at is not None
    assert Activity.objects.filter(verb="ticket.updated", subject_id=ticket.pk).exists()


def test_workspace_settings_change_is_logged(site: None, client: Client) -> None:
    url = _url(Workspace, "change", 1)
    data = _post_data(client.get(url))
    data["name"] = "Brightbean HQ"
    response = client.post(url, data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    assert Workspace.objects.get(pk=1).name == "Brightbean HQ"
    entry = Activity.objects.get(verb="workspace.updated")
    assert entry.changes["after"] == {"name": "Brightbean HQ"}
