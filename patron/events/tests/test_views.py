"""Web pages: Sources (list, create, rotate, enable/disable, live debugger) and the
profile's identity graph and behaviour card. Every refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from patron.accounts.models import Role
from patron.contacts.models import Contact
from patron.core.models import Activity, Workspace
from patron.events.models import Source
from patron.events.services import source_authenticate
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def state() -> list[Any]:
    """What a refused request must leave as it was."""
    return [
        list(Source.objects.order_by("pk").values()),
        Activity.objects.count(),
    ]


@pytest.fixture
def admin(make_user):
    return login(make_user("admin"))


# --- Sources -----------------------------------------------------------------------------


def test_sources_page_lists_sources_and_the_nav_links_it(admin, source_key):
    source, _ = source_key
    page = admin.get("/events/sources/")
    assert page.status_code == 200
    html = page.content.decode()
    assert source.name in html and source.key_prefix in html
    assert 'href="/events/sources/"' in html  # the nav entry


def test_creating_a_source_shows_its_key_once(admin):
    response = admin.post("/events/sources/new/", {"name": "iOS app"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    source = Source.objects.get(name="iOS app")
    key = response.context["key"]
    assert source_authenticate(key) == source
    assert key in response.content.decode()
    # never again: the list and the source page show only the prefix
    for url in ("/events/sources/", f"/events/sources/{source.pk}/"):
        assert key not in admin.get(url).content.decode()


def test_creating_a_duplicate_or_blank_source_is_refused_with_the_reason(admin, source_key):
    before = state()
    response = admin.post("/events/sources/new/", {"name": "website"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert admin.post("/events/sources/new/", {"name": "  "}).status_code == 400
    assert state() == before


def test_rotating_shows_the_new_key_and_keeps_the_old_one_for_the_grace(admin, source_key):
    source, old = source_key
    response = admin.post(f"/events/sources/{source.pk}/rotate/", {"grace_hours": "2"})
    assert response.status_code == 200
    new = response.context["key"]
    assert source_authenticate(new) == source and source_authenticate(old) == source
    response = admin.post(f"/events/sources/{source.pk}/rotate/", {"grace_hours": "0"})
    assert source_authenticate(new) is None
    assert source_authenticate(response.context["key"]) == source


def test_rotating_with_a_bad_grace_changes_nothing(admin, source_key):
    source, _ = source_key
    before = state()
    response = admin.post(f"/events/sources/{source.pk}/rotate/", {"grace_hours": "9999"})
    assert response.status_code == 302
    assert state() == before


def test_disabling_a_source_refuses_its_key_and_enabling_restores_it(admin, source_key):
    source, key = source_key
    assert admin.post(f"/events/sources/{source.pk}/active/").status_code == 302
    assert source_authenticate(key) is None
    assert admin.post(f"/events/sources/{source.pk}/active/", {"active": "on"}).status_code == 302
    assert source_authenticate(key) == source


def test_debugger_shows_latest_events_and_refusals_escaped(admin, source_key, post):
    source, key = source_key
    post("/v1/batch", {"writeKey": key, "batch": [
        {"type": "track", "userId": "u1", "event": "<script>alert(1)</script>"},
        {"type": "track", "userId": "u1"},  # no event name: refused
    ]})  # fmt: skip
    page = admin.get(f"/events/sources/{source.pk}/")
    html = page.content.decode()
    assert f'hx-get="/events/sources/{source.pk}/debugger/"' in html
    assert 'hx-trigger="every 2s"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "track needs an event name." in html
    assert "Waiting" in html  # not processed yet
    # the polled fragment alone: no page around it, the same rows
    fragment = admin.get(f"/events/sources/{source.pk}/debugger/", HTTP_HX_REQUEST="true")
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in body
    assert 'id="debugger"' in body and "track needs an event name." in body


@pytest.mark.parametrize("role", ["manager", "sales", "readonly"])
def test_users_without_settings_manage_are_refused_everywhere_and_nothing_changes(
    make_user, source_key, role
):
    source, key = source_key
    client = login(make_user(role))
    before = state()
    for url in (
        "/events/sources/",
        f"/events/sources/{source.pk}/",
        f"/events/sources/{source.pk}/debugger/",
    ):
        assert client.get(url).status_code == 403, url
    for url, data in (
        ("/events/sources/new/", {"name": "Sneaky"}),
        (f"/events/sources/{source.pk}/rotate/", {"grace_hours": "0"}),
        (f"/events/sources/{source.pk}/active/", {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert state() == before
    assert source_authenticate(key) == source
    assert 'href="/events/sources/"' not in client.get("/contacts/").content.decode()


def test_sources_pages_need_login_and_post_for_writes(client, admin, source_key):
    source, _ = source_key
    before = state()
    assert client.get("/events/sources/").status_code == 302  # to the login page
    assert client.post("/events/sources/new/", {"name": "X"}).status_code == 302
    assert admin.get(f"/events/sources/{source.pk}/rotate/").status_code == 405
    assert admin.get(f"/events/sources/{source.pk}/active/").status_code == 405
    assert admin.get("/events/sources/999999/").status_code == 404
    assert state() == before


# --- The profile's identity graph and behaviour ------------------------------------------


@pytest.fixture
def tracked(source_key) -> Contact:
    source, _ = source_key
    messages: list[dict[str, Any]] = [
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "anon-1",
            "messageId": "m0",
            "traits": {"name": "Ann Lee", "phone": "+1 415 555 0100", "plan": "<b>pro</b>"},
            "timestamp": T0.isoformat(),
        },  # fmt: skip
        *(
            {
                "type": "track",
                "userId": "u1",
                "event": "Clicked",
                "messageId": f"m{i}",
                "timestamp": (T0 + dt.timedelta(minutes=i)).isoformat(),
            }  # fmt: skip
            for i in range(1, 4)
        ),
        {
            "type": "page",
            "userId": "u1",
            "name": "Home",
            "messageId": "m9",
            "timestamp": (T0 + dt.timedelta(hours=3)).isoformat(),
        },  # fmt: skip
    ]
    events_ingest(source=source, messages=messages, received_at=T0 + dt.timedelta(days=1))
    events_process_pending()
    contact = Contact.objects.get()
    # a second phone: the primary one stays, this one joins the identity graph
    events_ingest(source=source, messages=[{"type": "identify", "userId": "u1",
                  "messageId": "m10", "traits": {"phone": "+1 415 555 0199"}}])  # fmt: skip
    events_process_pending()
    return contact


def test_profile_loads_the_behaviour_card_with_htmx(make_user, tracked):
    client = login(make_user("manager"))
    html = client.get(f"/contacts/{tracked.pk}/").content.decode()
    url = f"/events/contacts/{tracked.pk}/behaviour/"
    assert f'hx-get="{url}"' in html and 'hx-trigger="load"' in html


def test_behaviour_card_shows_identities_and_aggregates(make_user, tracked):
    client = login(make_user("manager"))
    url = f"/events/contacts/{tracked.pk}/behaviour/"
    fragment = client.get(url, HTTP_HX_REQUEST="true")
    html = fragment.content.decode()
    assert fragment.status_code == 200 and "<html" not in html
    assert "u1" in html and "anon-1" in html
    assert "6 in 3 sessions" in html  # 2 identifies, 3 clicks, 1 page; two long gaps
    assert "Clicked" in html and "1 page view" in html
    assert "&lt;b&gt;pro&lt;/b&gt;" in html and "<b>pro</b>" not in html
    assert "+14155550199" in html
    # without htmx: a whole page (works without JavaScript)
    assert "<html" in client.get(url).content.decode()


def test_behaviour_card_masks_phones_and_hides_behaviour_without_permission(make_user, tracked):
    Role.objects.create(key="peek", name="Peek", permissions=["contact.view"])
    client = login(make_user("peek"))
    html = client.get(f"/events/contacts/{tracked.pk}/behaviour/",
                      HTTP_HX_REQUEST="true").content.decode()  # fmt: skip
    assert "u1" in html
    assert "+14155550199" not in html  # no contact.view_sensitive: masked
    assert "Clicked" not in html and "sessions" not in html  # no event.view


def test_behaviour_card_of_an_out_of_scope_contact_is_404_and_changes_nothing(make_user, tracked):
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    client, reader = login(make_user("sales")), login(make_user("readonly"))
    before = state()
    assert client.get(f"/events/contacts/{tracked.pk}/behaviour/").status_code == 404
    assert client.get("/events/contacts/999999/behaviour/").status_code == 404
    assert reader.post(f"/events/contacts/{tracked.pk}/behaviour/").status_code == 405
    assert state() == before
