"""The HTTP Tracking API: auth, limits, validation, timestamps, idempotency (ingest only)."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from django.utils import timezone

from patron.events.models import Event, RejectedMessage, Source
from patron.events.services import source_rotate_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def _iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _nothing_stored() -> bool:
    return not Event.objects.exists() and not RejectedMessage.objects.exists()


def test_track_with_write_key_in_body_is_stored(source_key, post):
    source, key = source_key
    # when a track call arrives with the write key in the body
    response = post(
        "/v1/track",
        {
            "writeKey": key,
            "userId": "u1",
            "event": "Signed Up",
            "properties": {"plan": "pro"},
            "messageId": "m-1",
            "context": {"ip": "203.0.113.9"},
        },
    )
    # then it is accepted and stored unprocessed, attributed to the source
    assert response.status_code == 200
    assert response.json()["success"] is True and response.json()["accepted"] == 1
    event = Event.objects.get()
    assert (event.type, event.event, event.user_id, event.message_id) == (
        "track",
        "Signed Up",
        "u1",
        "m-1",
    )
    assert event.properties == {"plan": "pro"} and event.context == {"ip": "203.0.113.9"}
    assert (event.source_id, event.source, event.processed) == (source.pk, "Website", False)
    assert response["Access-Control-Allow-Origin"] == "*"


def test_batch_with_basic_auth_and_gzip_merges_batch_context(source_key, post):
    _, key = source_key
    body = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "a@example.com"}},
            {"type": "page", "anonymousId": "a1", "name": "Home", "context": {"locale": "de"}},
            {"type": "group", "userId": "u1", "groupId": "g1", "traits": {"name": "Acme"}},
            {"type": "alias", "userId": "u1", "previousId": "a1"},
            {"type": "screen", "userId": "u1", "name": "Settings", "category": "App"},
        ],
        "context": {"library": {"name": "test"}, "locale": "en"},
        "integrations": {"All": True},
    }
    response = post("/v1/batch", body, basic=key, gzipped=True)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 5
    events = {e.type: e for e in Event.objects.all()}
    # batch-level context merges into each message; the message's own keys win
    assert events["page"].context == {"library": {"name": "test"}, "locale": "de"}
    assert events["identify"].context["locale"] == "en"
    assert events["identify"].integrations == {"All": True}
    assert events["identify"].traits == {"email": "a@example.com"}
    assert events["group"].group_id == "g1"
    assert events["alias"].previous_id == "a1"
    assert events["screen"].properties == {"category": "App"}


def test_message_id_is_stored_once_per_source_even_within_one_batch(source_key, post):
    source, key = source_key
    msg = {"type": "track", "userId": "u1", "event": "A", "messageId": "same"}
    response = post("/v1/batch", {"writeKey": key, "batch": [msg, dict(msg), dict(msg)]})
    assert response.json()["accepted"] == 1 and response.json()["duplicates"] == 2
    # a retry of the same request, and a single call with the id, store nothing new
    assert post("/v1/batch", {"writeKey": key, "batch": [msg]}).json()["accepted"] == 0
    assert post("/v1/track", {**msg, "writeKey": key}).json()["duplicates"] == 1
    assert Event.objects.count() == 1
    # another source may use the same message id
    other, other_key = source_rotate_key(actor=None, source=source)  # same source, new key
    assert post("/v1/track", {**msg, "writeKey": other_key}).json()["accepted"] == 0
    from patron.events.services import source_create

    _, second_key = source_create(actor=None, name="App")
    assert post("/v1/track", {**msg, "writeKey": second_key}).json()["accepted"] == 1
    assert Event.objects.count() == 2


def test_message_without_message_id_is_still_deduplicated_on_retry(source_key, post):
    _, key = source_key
    msg = {"userId": "u1", "event": "A", "timestamp": "2024-05-01T10:00:00Z", "writeKey": key}
    assert post("/v1/track", msg).json()["accepted"] == 1
    assert post("/v1/track", msg).json()["accepted"] == 0
    assert Event.objects.get().message_id.startswith("ptn-")


def test_clock_skew_is_corrected_from_sent_at(source_key, post):
    _, key = source_key
    now = timezone.now()
    # a device clock one year ahead: it happened 10 s before it was sent
    skew = dt.timedelta(days=365)
    original = now + skew - dt.timedelta(seconds=10)
    body = {
        "writeKey": key,
        "sentAt": _iso(now + skew),
        "batch": [{"type": "track", "userId": "u", "event": "E", "timestamp": _iso(original)}],
    }
    assert post("/v1/batch", body).json()["accepted"] == 1
    event = Event.objects.get()
    assert abs(event.timestamp - (event.received_at - dt.timedelta(seconds=10))) < dt.timedelta(
        seconds=1
    )
    assert event.original_timestamp == original.replace(microsecond=original.microsecond)
    assert event.sent_at is not None and event.received_at <= timezone.now()


def test_past_timestamp_without_sent_at_is_kept_as_given(source_key, post):
    _, key = source_key
    body = {"writeKey": key, "userId": "u", "event": "E", "timestamp": "2021-03-04T05:06:07Z"}
    assert post("/v1/track", body).status_code == 200
    assert Event.objects.get().timestamp == dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"type": "track", "event": "A"}, "userId or anonymousId is required."),
        ({"type": "track", "userId": "u"}, "track needs an event name."),
        ({"type": "track", "userId": {"id": 1}, "event": "A"}, "userId must be a string."),
        ({"type": "track", "userId": "u", "event": 5}, "event must be a string."),
        ({"type": "track", "userId": "u", "event": "A", "properties": []}, "properties must be"),
        ({"type": "bogus", "userId": "u"}, "type must be one of"),
        ({"type": "group", "userId": "u"}, "group needs a groupId."),
        ({"type": "alias", "userId": "u"}, "alias needs previousId and userId."),
        ({"type": "track", "userId": "u", "event": "A", "timestamp": "yesterday"}, "timestamp"),
        ({"type": "track", "userId": "u", "event": "A", "timestamp": 1714550400}, "timestamp"),
        (
            {"type": "track", "userId": "u", "event": "A", "timestamp": "2999-01-01T00:00:00Z"},
            "more than a day in the future",
        ),
        (
            {"type": "track", "userId": "u", "event": "A", "timestamp": "1970-01-01T00:00:00Z"},
            "before the year 2000",
        ),
        ({"type": "track", "userId": "x" * 201, "event": "A"}, "longer than 200"),
        ({"type": "track", "userId": "u", "event": "A", "properties": {"a": "\x00"}}, "NUL"),
        ("just a string", "must be a JSON object"),
    ],
)
def test_invalid_messages_in_a_batch_are_rejected_with_reasons_and_the_rest_kept(
    source_key, post, message, reason
):
    source, key = source_key
    good = {"type": "track", "userId": "u", "event": "Good", "messageId": "good"}
    response = post("/v1/batch", {"writeKey": key, "batch": [good, message]})
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 1
    assert body["rejected"][0]["index"] == 1 and reason in body["rejected"][0]["reason"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["good"]
    rejected = RejectedMessage.objects.get()
    assert reason in rejected.reason and rejected.source == source
    source.refresh_from_db()
    assert source.rejected_count == 1


def test_invalid_single_message_is_a_400_with_the_reason_and_is_recorded(source_key, post):
    _, key = source_key
    response = post("/v1/track", {"writeKey": key, "userId": "u"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_message"
    assert response.json()["reason"] == "track needs an event name."
    assert not Event.objects.exists()
    assert RejectedMessage.objects.get().reason == "track needs an event name."


def test_deeply_nested_properties_are_rejected(source_key, post):
    _, key = source_key
    deep: dict = {}
    node = deep
    for _ in range(100):
        node["a"] = {}
        node = node["a"]
    response = post("/v1/track", {"writeKey": key, "userId": "u", "event": "E", "properties": deep})
    assert response.status_code == 400
    assert "nested deeper" in response.json()["reason"]
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"writeKey": "x", "batch": [{"type": "track"',  # truncated
        b"{not json}",
        b"\xff\xfe\x00garbage",
        b"[" * 100_000 + b"]" * 100_000,  # nesting past the parser's recursion limit
        b'"a string"',
        b"",
    ],
)
def test_malformed_json_rejects_the_whole_request_and_stores_nothing(source_key, post, raw):
    response = post("/v1/batch", raw=raw)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert _nothing_stored()


def test_unknown_disabled_and_rotated_out_keys_are_refused_and_store_nothing(
    source_key, post, monkeypatch
):
    source, key = source_key
    msg = {"type": "track", "userId": "u", "event": "E"}
    assert post("/v1/batch", {"writeKey": "wk_nope", "batch": [msg]}).status_code == 401
    assert post("/v1/batch", {"batch": [msg]}).status_code == 401
    assert post("/v1/batch", {"batch": [msg]}, basic="wk_nope").status_code == 401
    response = post("/v1/batch", {"batch": [msg]}, HTTP_AUTHORIZATION="Basic !!!")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_write_key"
    source, new_key = source_rotate_key(actor=None, source=source, grace=dt.timedelta(minutes=5))
    assert post("/v1/batch", {"batch": [msg]}, basic=key).status_code == 200  # grace period
    Event.objects.all().delete()
    later = timezone.now() + dt.timedelta(minutes=6)
    monkeypatch.setattr("patron.events.services.sources.timezone.now", lambda: later)
    assert post("/v1/batch", {"batch": [msg]}, basic=key).status_code == 401
    assert _nothing_stored()
    assert post("/v1/batch", {"batch": [msg]}, basic=new_key).status_code == 200


def test_size_limits(source_key, post):
    _, key = source_key
    big = "x" * (33 * 1024)
    # a single message over 32 KB
    response = post("/v1/track", {"writeKey": key, "userId": "u", "event": "E", "p": big})
    assert response.status_code == 400 and response.json()["code"] == "too_large"
    # inside a batch, only that message is refused
    batch = [
        {"type": "track", "userId": "u", "event": "E", "properties": {"p": big}},
        {"type": "track", "userId": "u", "event": "Small"},
    ]
    body = post("/v1/batch", {"writeKey": key, "batch": batch}).json()
    assert body["accepted"] == 1 and "larger than 32 KB" in body["rejected"][0]["reason"]
    # a batch over 500 KB is refused whole
    many = [{"type": "track", "userId": "u", "event": "E", "properties": {"p": "y" * 20_000}}] * 30
    response = post("/v1/batch", {"writeKey": key, "batch": many})
    assert response.status_code == 400 and "500 KB" in response.json()["reason"]
    # a 10 MB body is refused without being read
    response = post("/v1/batch", raw=b"{" + b" " * (10 * 1024 * 1024) + b"}")
    assert response.status_code == 400 and response.json()["code"] == "too_large"
    assert Event.objects.filter(event="Small").count() == 1
    assert Event.objects.count() == 1


def test_gzip_bomb_stops_at_the_limit(source_key, post):
    _, key = source_key
    payload = (
        b'{"writeKey": "' + key.encode() + b'", "batch": [], "pad": "' + b"0" * (200 * 1024 * 1024)
    )
    bomb = gzip.compress(payload, compresslevel=9)
    assert len(bomb) < 500 * 1024
    response = post("/v1/batch", raw=bomb, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400
    assert "uncompressed" in response.json()["reason"]
    assert _nothing_stored()


def test_corrupt_and_unknown_encodings_are_refused(source_key, post):
    _, key = source_key
    body = json.dumps({"writeKey": key, "batch": []}).encode()
    assert post("/v1/batch", raw=body, HTTP_CONTENT_ENCODING="gzip").status_code == 400
    truncated = gzip.compress(body)[:-12]
    assert post("/v1/batch", raw=truncated, HTTP_CONTENT_ENCODING="gzip").status_code == 400
    assert post("/v1/batch", raw=body, HTTP_CONTENT_ENCODING="br").status_code == 400
    assert post("/v1/batch", raw=body).status_code == 200


def test_batch_must_be_a_list_and_batch_objects_must_be_objects(source_key, post):
    _, key = source_key
    assert post("/v1/batch", {"writeKey": key, "batch": {}}).status_code == 400
    response = post("/v1/batch", {"writeKey": key, "batch": [], "context": "x"})
    assert response.status_code == 400
    assert post("/v1/batch", {"writeKey": key, "batch": [], "sentAt": "soon"}).status_code == 400
    assert _nothing_stored()


def test_only_post_and_preflight(client, source_key):
    response = client.get("/v1/track")
    assert response.status_code == 405 and response.json()["success"] is False
    response = client.options("/v1/batch")
    assert response.status_code == 204
    assert "Authorization" in response["Access-Control-Allow-Headers"]


def test_debugger_ring_buffer_keeps_the_newest(source_key, post, monkeypatch):
    source, key = source_key
    monkeypatch.setattr(RejectedMessage, "KEEP", 5)
    for i in range(3):
        batch = [{"type": "track", "event": f"bad{i}-{j}"} for j in range(3)]
        post("/v1/batch", {"writeKey": key, "batch": batch})
    assert RejectedMessage.objects.count() == 5
    assert Source.objects.get(pk=source.pk).rejected_count == 9
    newest = RejectedMessage.objects.order_by("-id").first()
    assert newest is not None and '"bad2-2"' in newest.payload


def test_identify_traits_sent_as_context_traits_are_used(source_key, post):
    # as RudderStack's libraries send them
    _, key = source_key
    body = {"writeKey": key, "userId": "u", "context": {"traits": {"email": "r@example.com"}}}
    assert post("/v1/identify", body).status_code == 200
    assert Event.objects.get().traits == {"email": "r@example.com"}


def test_awkward_text_and_missing_times_are_stored_exactly(source_key, post):
    # PostgreSQL receives each column as one array in binary form: no quoting or escaping
    # of elements may change them (quotes, backslashes, braces, commas, "NULL", unicode)
    _, key = source_key
    awkward = "a \"q\" \\ {b,c} NULL 's' ✓ 😀"
    sent = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    body = {
        "writeKey": key,
        "batch": [
            {
                "type": "track",
                "userId": awkward,
                "anonymousId": "NULL",
                "event": awkward,
                "messageId": awkward,
                "properties": {awkward: [awkward, None, 2**40, 1.5, True]},
                "context": {},
            },
            {"type": "page", "anonymousId": "", "userId": "u2", "name": "", "messageId": "m2"},
            {"type": "identify", "userId": 42, "timestamp": _iso(sent), "messageId": "m3"},
        ],
    }
    response = post("/v1/batch", body)
    assert response.json()["accepted"] == 3, response.content
    track = Event.objects.get(type="track")
    assert (track.user_id, track.anonymous_id, track.event, track.message_id) == (
        awkward,
        "NULL",
        awkward,
        awkward,
    )
    assert track.properties == {awkward: [awkward, None, 2**40, 1.5, True]}
    assert (track.original_timestamp, track.sent_at, track.context) == (None, None, {})
    page = Event.objects.get(type="page")
    assert (page.anonymous_id, page.name, page.event, page.user_id) == ("", "", "", "u2")
    identify = Event.objects.get(type="identify")
    assert (identify.user_id, identify.original_timestamp, identify.timestamp) == ("42", sent, sent)
    # and a retry of the same messages stores nothing more
    assert post("/v1/batch", body).json()["duplicates"] == 3
    assert Event.objects.count() == 3
