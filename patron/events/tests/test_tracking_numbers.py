"""Numbers in event properties are stored exactly: integers past 64 bits (which orjson,
the tracking API's parser, turns into floats) and NaN/Infinity/lone surrogates refused."""

from __future__ import annotations

import json

import pytest

from patron.events.models import Event

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

BIG = 123456789012345678901234567890
NEAR = 2**64  # one past the largest unsigned 64-bit integer
LOW = -(2**63) - 1


def test_integers_past_64_bits_read_back_exactly(source_key, post):
    _, key = source_key
    # given a batch whose properties hold integers past 64 bits, and ordinary numbers
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u1",
                "event": "Big",
                "messageId": "m-big",
                "properties": {"big": BIG, "near": NEAR, "low": LOW, "n": 7, "x": 0.1},
                "context": {"nested": [{"id": BIG}]},
            }
        ]
    }
    # when it is sent
    response = post("/v1/batch", body, basic=key)
    # then it is accepted and every number reads back as it was sent
    assert response.status_code == 200 and response.json()["accepted"] == 1
    event = Event.objects.get(message_id="m-big")
    assert event.properties == {"big": BIG, "near": NEAR, "low": LOW, "n": 7, "x": 0.1}
    assert type(event.properties["big"]) is int
    assert event.context["nested"] == [{"id": BIG}]


def test_single_call_with_a_big_integer(source_key, post):
    _, key = source_key
    body = {"writeKey": key, "userId": "u1", "event": "Big", "properties": {"id": BIG}}
    assert post("/v1/track", body).status_code == 200
    assert Event.objects.get().properties == {"id": BIG}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"batch": [{"type": "track", "userId": "u", "event": "A", "properties": {"n": NaN}}],'
        b' "x": 12345678901234567890123}',
        b'{"batch": [{"type": "track", "userId": "u", "event": "A",'
        b' "properties": {"n": 12345678901234567890123, "s": "\\ud800"}}]}',
    ],
    ids=["nan", "lone-surrogate"],
)
def test_the_slow_path_is_as_strict_as_the_fast_one(source_key, post, raw):
    _, key = source_key
    # when a body with a long number also holds what the fast parser refuses
    response = post("/v1/batch", raw=raw, basic=key)
    # then it is refused as invalid JSON and nothing is stored
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"
    assert not Event.objects.exists()


def test_long_digit_runs_that_are_not_big_integers_are_kept(source_key, post):
    _, key = source_key
    # given text and a float with long digit runs (they take the slow parser too)
    props = {"phone": "12345678901234567890", "pi": 3.14159265358979323846}
    body = {"batch": [{"type": "track", "userId": "u", "event": "A", "properties": props}]}
    assert post("/v1/batch", body, basic=key).status_code == 200
    # then they read back as the standard library parses them
    assert Event.objects.get().properties == json.loads(json.dumps(props))
