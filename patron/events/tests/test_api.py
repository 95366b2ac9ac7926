"""Read APIs: a contact's events, identity graph, lookups by id; sources and debugger."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from patron.contacts.models import Contact
from patron.core.models import Workspace
from patron.events.models import Source
from patron.events.services import source_authenticate
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def bearer(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def tracked(source_key) -> Contact:
    """A contact u1 with 7 events over 7 hours, a phone, and an anonymous id."""
    source, _ = source_key
    messages: list[dict[str, Any]] = [
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "anon-1",
            "traits": {"name": "Ann Lee", "phone": "+1 415 555 0100"},
            "timestamp": T0.isoformat(),
        }
    ]
    for i in range(1, 7):
        messages.append(
            {
                "type": "track",
                "userId": "u1",
                "event": "Clicked" if i % 2 else "Viewed",
                "timestamp": (T0 + dt.timedelta(hours=i)).isoformat(),
                "properties": {"i": i},
            }
        )
    events_ingest(source=source, messages=messages, received_at=T0 + dt.timedelta(days=1))
    events_process_pending()
    return Contact.objects.get()


def test_contact_events_are_paginated_newest_first(tracked, make_api_key):
    client = bearer(make_api_key("manager"))
    seen: list[int] = []
    url = f"/api/v1/contacts/{tracked.pk}/events?limit=3"
    cursor = None
    while True:
        response = client.get(url + (f"&cursor={cursor}" if cursor else ""))
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [item["properties"].get("i", 0) for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == [6, 5, 4, 3, 2, 1, 0]


def test_contact_events_filter_by_name_and_time_range(tracked, make_api_key):
    client = bearer(make_api_key("manager"))
    base = f"/api/v1/contacts/{tracked.pk}/events"
    body = client.get(base, {"event": "Clicked"}).json()
    assert [i["properties"]["i"] for i in body["items"]] == [5, 3, 1]
    since = (T0 + dt.timedelta(hours=2)).isoformat()
    until = (T0 + dt.timedelta(hours=4)).isoformat()
    body = client.get(base, {"since": since, "until": until}).json()
    assert [i["properties"]["i"] for i in body["items"]] == [3, 2]
    body = client.get(base, {"type": "identify"}).json()
    assert [i["type"] for i in body["items"]] == ["identify"]
    assert client.get(base, {"since": until, "until": since}).status_code == 422
    assert client.get(base, {"cursor": "garbage"}).status_code == 422
    assert client.get(base, {"type": "nope"}).status_code == 422


def test_events_need_event_view_and_the_contact_in_scope(tracked, make_api_key, make_user):
    # readonly has contact.view but not event.view
    assert (
        bearer(make_api_key("readonly")).get(f"/api/v1/contacts/{tracked.pk}/events").status_code
        == 403
    )
    # a sales user restricted to their own contacts does not see this one at all
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    rep = make_user("sales")
    client = Client()
    client.force_login(rep)
    assert client.get(f"/api/v1/contacts/{tracked.pk}/events").status_code == 404
    assert client.get(f"/api/v1/contacts/{tracked.pk}/identities").status_code == 404
    assert Client().get(f"/api/v1/contacts/{tracked.pk}/events").status_code == 401
    # once it is theirs, they do
    Contact.objects.filter(pk=tracked.pk).update(owner=rep)
    assert client.get(f"/api/v1/contacts/{tracked.pk}/events").status_code == 200


def test_identity_graph_lists_ids_with_first_and_last_seen(tracked, make_api_key):
    body = bearer(make_api_key("manager")).get(f"/api/v1/contacts/{tracked.pk}/identities").json()
    kinds = {(i["kind"], i["value"]) for i in body["identities"]}
    assert kinds == {("user_id", "u1"), ("anonymous_id", "anon-1")}
    uid = next(i for i in body["identities"] if i["kind"] == "user_id")
    assert uid["first_seen"].startswith("2025-03-01T09:00")
    assert body["primary"]["phone"] == "+14155550100"
    behaviour = body["behaviour"]
    assert behaviour["event_count"] == 7
    assert {e["event"]: e["count"] for e in behaviour["events"]} == {"Clicked": 3, "Viewed": 3}


def test_identity_graph_masks_phones_and_hides_behaviour_without_permission(tracked, make_api_key):
    body = bearer(make_api_key("readonly")).get(f"/api/v1/contacts/{tracked.pk}/identities")
    assert body.status_code == 200
    assert body.json()["primary"]["phone"] == "•••"
    assert body.json()["behaviour"] is None


def test_lookup_by_user_id_and_anonymous_id(tracked, make_api_key):
    client = bearer(make_api_key("manager"))
    for query in ({"user_id": "u1"}, {"anonymous_id": "anon-1"}):
        body = client.get("/api/v1/identities/contacts", query).json()
        assert [c["id"] for c in body["items"]] == [tracked.pk]
    assert client.get("/api/v1/identities/contacts", {"user_id": "nobody"}).json()["items"] == []
    both = {"user_id": "u1", "anonymous_id": "anon-1"}
    assert client.get("/api/v1/identities/contacts", both).status_code == 422
    assert client.get("/api/v1/identities/contacts").status_code == 422


def test_lookup_is_scoped(tracked, make_user):
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    client = Client()
    client.force_login(make_user("sales"))
    body = client.get("/api/v1/identities/contacts", {"user_id": "u1"}).json()
    assert body["items"] == []


def test_contacts_list_filters_by_user_id_and_anonymous_id(tracked, source_key, make_api_key):
    # Given a second tracked contact with other ids
    source, _ = source_key
    events_ingest(source=source, messages=[{"type": "identify", "userId": "u2",
                                            "anonymousId": "anon-2"}])  # fmt: skip
    events_process_pending()
    other = Contact.objects.exclude(pk=tracked.pk).get()
    client = bearer(make_api_key("manager"))
    # When the contacts list is asked for an id: only its holder comes back
    for query, expected in (
        ({"user_id": "u1"}, [tracked.pk]),
        ({"anonymous_id": "anon-1"}, [tracked.pk]),
        ({"anonymous_id": "anon-2"}, [other.pk]),
        ({"user_id": "u1", "anonymous_id": "anon-1"}, [tracked.pk]),
        ({"user_id": "u1", "anonymous_id": "anon-2"}, []),  # both must hold
        ({"user_id": "nobody"}, []),
        ({"user_id": "anon-1"}, []),  # kinds do not mix
    ):
        response = client.get("/api/v1/contacts", query)
        assert response.status_code == 200, response.content
        assert [c["id"] for c in response.json()["items"]] == expected, query
    # Then the other filters still apply alongside
    body = client.get("/api/v1/contacts", {"user_id": "u1", "q": "zzz-no-match"}).json()
    assert body["items"] == []
    assert client.get("/api/v1/contacts", {"user_id": "x" * 201}).status_code == 422


def test_contacts_list_identity_filters_are_scoped(tracked, make_user):
    # Given own-records-only visibility and a rep who owns nothing
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    client = Client()
    client.force_login(make_user("sales"))
    # When the rep looks the tracked contact up by its ids: nothing is found
    for query in ({"user_id": "u1"}, {"anonymous_id": "anon-1"}):
        response = client.get("/api/v1/contacts", query)
        assert response.status_code == 200 and response.json()["items"] == []


def test_sources_api_create_rotate_and_debugger(make_api_key, source_key, post):
    client = bearer(make_api_key("admin"))
    response = client.post("/api/v1/sources", {"name": "iOS app"}, content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    source = Source.objects.get(name="iOS app")
    assert source_authenticate(created["write_key"]) == source
    listed = client.get("/api/v1/sources").json()
    assert {s["name"] for s in listed} == {"iOS app", "Website"}
    assert all("write_key" not in s for s in listed)
    response = client.post(
        f"/api/v1/sources/{source.pk}/rotate", {"grace_hours": 0}, content_type="application/json"
    )
    assert response.status_code == 200
    assert source_authenticate(created["write_key"]) is None
    assert source_authenticate(response.json()["write_key"]) == source
    # the debugger shows accepted and rejected messages with reasons
    key = response.json()["write_key"]
    post("/v1/batch", {"writeKey": key, "batch": [{"type": "track", "userId": "u", "event": "Ok"}]})
    post("/v1/track", {"writeKey": key, "userId": "u"})
    body = client.get(f"/api/v1/sources/{source.pk}/debugger").json()
    assert [e["event"] for e in body["events"]] == ["Ok"]
    assert [r["reason"] for r in body["rejections"]] == ["track needs an event name."]
    assert body["unprocessed"] == 1 and body["source"]["rejected_count"] == 1


def test_sources_api_refuses_other_roles_and_changes_nothing(make_api_key, source_key):
    source, raw = source_key
    client = bearer(make_api_key("manager"))
    assert client.get("/api/v1/sources").status_code == 403
    response = client.post("/api/v1/sources", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    response = client.post(
        f"/api/v1/sources/{source.pk}/rotate", {}, content_type="application/json"
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/sources/{source.pk}/debugger").status_code == 403
    assert list(Source.objects.values_list("name", flat=True)) == ["Website"]
    assert source_authenticate(raw) == source
    # extra fields are refused
    admin = bearer(make_api_key("admin"))
    response = admin.post(
        "/api/v1/sources", {"name": "y", "is_active": False}, content_type="application/json"
    )
    assert response.status_code == 422
