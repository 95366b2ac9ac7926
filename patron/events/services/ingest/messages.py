"""Ingest's validation: a Segment-spec message to the column values of one event.

Per message (inside a batch, each on its own):
- ``type`` is one of identify/track/page/screen/group/alias; ``userId`` or ``anonymousId``
  (text or number) is required; ``track`` needs ``event``; ``group`` needs ``groupId``;
  ``alias`` needs ``previousId`` and ``userId``.
- At most 32 KB serialised and 32 levels of nesting.
- Timestamps (ISO 8601): ``originalTimestamp`` (else ``timestamp``) is the client's clock;
  with ``sentAt`` (the message's, else the batch's) the client's skew is removed:
  ``timestamp = receivedAt - (sentAt - originalTimestamp)``, as the Segment spec does.
  Without ``sentAt`` the client's time is taken as it is. A result more than a day after
  ``receivedAt`` or before 2000 is refused.
- A message without ``messageId`` gets one derived from its content, so a retry of it
  is still stored once.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import orjson

from patron.events.models import Event, Source

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_DEPTH = 32
MAX_ID_LENGTH = 200
FUTURE_TOLERANCE = dt.timedelta(days=1)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

TYPES = frozenset(t.value for t in Event.Type)
JSON_OBJECTS = ("properties", "traits", "context", "integrations")


class MessageError(ValueError):
    """One message is invalid; the text is the reason shown to the sender and debugger."""


# --- pieces -----------------------------------------------------------------------------


def parse_time(value: Any, name: str) -> dt.datetime | None:
    """An aware datetime from an ISO 8601 string (naive means UTC); None when absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise MessageError(f"{name} must be an ISO 8601 date-time string.")
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise MessageError(f"{name} is not a valid ISO 8601 date-time.") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError as exc:
        raise MessageError(f"{name} is out of range.") from exc


def _identifier(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MessageError(f"{name} must be a string.")
    text = str(value).strip() if not isinstance(value, float) else repr(value)
    if len(text) > MAX_ID_LENGTH:
        raise MessageError(f"{name} is longer than {MAX_ID_LENGTH} characters.")
    if "\x00" in text:
        raise MessageError(f"{name} contains a NUL character.")
    return text


def _text(value: Any, name: str, max_length: int = 200) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MessageError(f"{name} must be a string.")
    text = value.strip()
    if len(text) > max_length:
        raise MessageError(f"{name} is longer than {max_length} characters.")
    if "\x00" in text:
        raise MessageError(f"{name} contains a NUL character.")
    return text


def _depth_ok(value: Any, limit: int = MAX_DEPTH) -> bool:
    """No container nested ``limit`` levels below the top one."""

    def walk(node: Any, depth: int) -> bool:
        if depth >= limit:
            return False
        children = node.values() if type(node) is dict else node
        for child in children:
            kind = type(child)
            if (kind is dict or kind is list) and not walk(child, depth + 1):
                return False
        return True

    return walk(value, 0)


def dump_json(value: dict[str, Any]) -> str:
    """Compact JSON text of a parsed object: orjson (several times faster than the
    standard library on the ingest hot path); integers past 64 bits, which orjson
    refuses, through ``json``."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def message_id_for(msg: Mapping[str, Any]) -> str:
    """A stable id for a message sent without one (retries then still dedupe)."""
    canonical = json.dumps(msg, sort_keys=True, separators=(",", ":"), default=str)
    return "ptn-" + hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def build_event(
    raw: Any,
    *,
    source: Source,
    received_at: dt.datetime,
    batch_context: Mapping[str, Any] | None = None,
    batch_integrations: Mapping[str, Any] | None = None,
    batch_sent_at: dt.datetime | None = None,
    forced_type: str | None = None,
    check_nul: bool = True,
) -> dict[str, Any]:
    """The column values of one validated message; MessageError says why not."""
    if not isinstance(raw, dict):
        raise MessageError("A message must be a JSON object.")
    if not _depth_ok(raw):
        raise MessageError(f"The message is nested deeper than {MAX_DEPTH} levels.")

    kind = forced_type or raw.get("type")
    if not isinstance(kind, str) or kind not in TYPES:
        raise MessageError("type must be one of " + ", ".join(sorted(TYPES)) + ".")
    user_id = _identifier(raw.get("userId"), "userId")
    anonymous_id = _identifier(raw.get("anonymousId"), "anonymousId")
    if not user_id and not anonymous_id:
        raise MessageError("userId or anonymousId is required.")

    objects: dict[str, dict[str, Any]] = {}
    for key in JSON_OBJECTS:
        value = raw.get(key)
        if value is None:
            objects[key] = {}
        elif isinstance(value, dict):
            objects[key] = value
        else:
            raise MessageError(f"{key} must be an object.")
    if batch_context:
        objects["context"] = {**batch_context, **objects["context"]}
    if batch_integrations:
        objects["integrations"] = {**batch_integrations, **objects["integrations"]}
    if kind == Event.Type.IDENTIFY and not objects["traits"]:
        # RudderStack's libraries send identify traits as context.traits only.
        context_traits = objects["context"].get("traits")
        if isinstance(context_traits, dict):
            objects["traits"] = context_traits

    event_name = name = group_id = previous_id = ""
    if kind == Event.Type.TRACK:
        event_name = _text(raw.get("event"), "event")
        if not event_name:
            raise MessageError("track needs an event name.")
    elif kind in (Event.Type.PAGE, Event.Type.SCREEN):
        name = _text(raw.get("name"), "name")
        category = _text(raw.get("category"), "category")
        if category and "category" not in objects["properties"]:
            objects["properties"]["category"] = category
    elif kind == Event.Type.GROUP:
        group_id = _identifier(raw.get("groupId"), "groupId")
        if not group_id:
            raise MessageError("group needs a groupId.")
    elif kind == Event.Type.ALIAS:
        previous_id = _identifier(raw.get("previousId"), "previousId")
        if not previous_id or not user_id:
            raise MessageError("alias needs previousId and userId.")

    original = parse_time(raw.get("originalTimestamp"), "originalTimestamp") or parse_time(
        raw.get("timestamp"), "timestamp"
    )
    sent_at = parse_time(raw.get("sentAt"), "sentAt") or batch_sent_at
    if original is not None and sent_at is not None:
        timestamp = received_at - (sent_at - original)
    else:
        timestamp = original or received_at
    if timestamp > received_at + FUTURE_TOLERANCE:
        raise MessageError("timestamp is more than a day in the future.")
    if timestamp < EARLIEST:
        raise MessageError("timestamp is before the year 2000.")

    message_id = _identifier(raw.get("messageId"), "messageId") or message_id_for(raw)
    # Serialised once, here: the size limit is measured on what is stored (JSON columns
    # plus the id and name columns), and the insert uses these strings as they are.
    dumped = {key: dump_json(objects[key]) for key in JSON_OBJECTS}
    size = sum(map(len, dumped.values())) + sum(
        map(len, (user_id, anonymous_id, event_name, name, group_id, previous_id, message_id))
    )
    if size > MAX_MESSAGE_BYTES:
        raise MessageError(f"The message is larger than {MAX_MESSAGE_BYTES // 1024} KB.")
    if check_nul and any("\\u0000" in text for text in dumped.values()):
        raise MessageError("The message contains a NUL character.")
    return {
        "type": kind,
        "event": event_name,
        "name": name,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "group_id": group_id,
        "previous_id": previous_id,
        "timestamp": timestamp,
        "original_timestamp": original,
        "received_at": received_at,
        "sent_at": sent_at,
        "properties": dumped["properties"],
        "traits": dumped["traits"],
        "context": dumped["context"],
        "integrations": dumped["integrations"],
        "source": source.name,
        "source_id": source.pk,
        "message_id": message_id,
        "processed": False,
    }
