"""Ingest: validate Segment-spec messages and store them durably, once per message id.

Only validation and one batched insert happen here (inside the HTTP request); identity
resolution, profiles and aggregates run after commit in the processor (``processing``).

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
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from patron.events.models import Event, RejectedMessage, Source
from patron.events.services._sql import driver_cursor, sqlite_time
from patron.events.services.ingest_wal import checkpoints_aside
from patron.events.services.ingest_writer import Job, file_database, writer_for

MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_DEPTH = 32
MAX_ID_LENGTH = 200
FUTURE_TOLERANCE = dt.timedelta(days=1)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

TYPES = frozenset(t.value for t in Event.Type)
_JSON_OBJECTS = ("properties", "traits", "context", "integrations")


class MessageError(ValueError):
    """One message is invalid; the text is the reason shown to the sender and debugger."""


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


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
    for key in _JSON_OBJECTS:
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
    dumped = {key: dump_json(objects[key]) for key in _JSON_OBJECTS}
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


COLUMNS = (
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "original_timestamp",
    "received_at",
    "sent_at",
    "properties",
    "traits",
    "context",
    "integrations",
    "source",
    "source_id",
    "message_id",
    "processed",
)
_JSON_COLUMNS = frozenset(_JSON_OBJECTS)
_TIME_COLUMNS = frozenset({"timestamp", "original_timestamp", "received_at", "sent_at"})
INSERT_CHUNK = 400
#: SQLite: requests' writes committed in groups by a writer thread (ingest_writer).
GROUP_COMMIT = True


def events_insert(rows: list[dict[str, Any]]) -> int:
    """Insert event rows (JSON columns already serialised, as ``build_event`` gives them),
    skipping stored (source, message id)s; returns how many rows were new.

    The hot path of ingest: values serialised once, no model instances (the ORM's
    per-field preparation cost more than the insert), and the driver's own cursor
    (``_sql.driver_cursor``). PostgreSQL gets one array per column and ``unnest``: a short
    statement whatever the batch size, so psycopg parses it once and the server plans
    it once (a multi-row ``VALUES`` statement with ~2,000 placeholders cost 14 ms of
    client CPU per 100 events, in psycopg's placeholder parsing, which it caches only
    for short statements). The arrays go in psycopg's binary format (``%b``): its text
    format escapes every element with a regular expression in Python (46 µs of client
    CPU per event in-process, against 9 µs binary; docs/performance.md). SQLite gets
    multi-row ``VALUES`` statements of ``INSERT_CHUNK`` rows (its driver caches the
    parsed statement).
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgresql(rows)
    return sqlite_execute(sqlite_statements(rows))


def sqlite_statements(rows: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    """SQLite: the insert statements of ``rows`` (``?`` placeholders) with their values,
    ready for the driver; made outside the write transaction (``ingest_writer``)."""
    qn = connection.ops.quote_name
    # received_at (and mostly sent_at and the timestamps) repeat across a batch.
    adapted: dict[dt.datetime, str] = {}

    def adapt_time(value: dt.datetime) -> str:
        out = adapted.get(value)
        if out is None:
            out = adapted[value] = sqlite_time(value)
        return out

    fields = [Event._meta.get_field(name) for name in COLUMNS]
    names = ", ".join(qn(str(f.column)) for f in fields)  # type: ignore[union-attr]
    one = "(" + ", ".join(["?"] * len(COLUMNS)) + ")"
    statements = []
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        params: list[Any] = []
        for row in chunk:
            for name in COLUMNS:
                value = row[name]
                if name in _TIME_COLUMNS and value is not None:
                    value = adapt_time(value)
                params.append(value)
        # Table and column names come from the model; every value is a parameter.
        sql = (
            f"INSERT INTO {qn(Event._meta.db_table)} ({names}) VALUES "  # noqa: S608
            + ", ".join([one] * len(chunk))
            + " ON CONFLICT DO NOTHING"
        )
        statements.append((sql, params))
    return statements


def sqlite_execute(statements: list[tuple[str, list[Any]]]) -> int:
    """Run ``sqlite_statements`` on the thread's connection (in its transaction); the
    number of rows inserted."""
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    inserted = 0
    try:
        for sql, params in statements:
            cursor.execute(sql, params)
            inserted += max(cursor.rowcount, 0)
    finally:
        cursor.close()
    return inserted


def _array_type(name: str) -> str:
    field = Event._meta.get_field(name)
    if name in _JSON_COLUMNS:
        return "text"  # cast to jsonb in the SELECT
    kind = field.get_internal_type()
    return {
        "DateTimeField": "timestamptz",
        "BigIntegerField": "bigint",
        "BooleanField": "boolean",
    }.get(kind, "text")


def _insert_postgresql(rows: list[dict[str, Any]]) -> int:
    qn = connection.ops.quote_name
    columns = [str(Event._meta.get_field(n).column) for n in COLUMNS]  # type: ignore[union-attr]
    # %b: binary arrays (no per-element escaping in Python; see events_insert).
    arrays = ", ".join(f"%b::{_array_type(n)}[]" for n in COLUMNS)
    selected = ", ".join(
        f"u.{qn(c)}::jsonb" if n in _JSON_COLUMNS else f"u.{qn(c)}"
        for n, c in zip(COLUMNS, columns, strict=True)
    )
    aliases = ", ".join(qn(c) for c in columns)
    # Table and column names come from the model; every value is in a parameter array.
    sql = (
        f"INSERT INTO {qn(Event._meta.db_table)} ({aliases}) "  # noqa: S608
        f"SELECT {selected} FROM unnest({arrays}) AS u({aliases}) ON CONFLICT DO NOTHING"
    )
    inserted = 0
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        params = [[row[name] for row in chunk] for name in COLUMNS]
        with driver_cursor() as cursor:
            cursor.execute(sql, params)
            inserted += max(cursor.rowcount, 0)
    return inserted


def _excerpt(raw: Any) -> str:
    try:
        text = json.dumps(raw, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(raw)
    return text[:2000]


# --- the write service --------------------------------------------------------------------


def events_ingest(
    *,
    source: Source,
    messages: list[Any],
    received_at: dt.datetime | None = None,
    batch_context: Mapping[str, Any] | None = None,
    batch_integrations: Mapping[str, Any] | None = None,
    batch_sent_at: dt.datetime | None = None,
    forced_type: str | None = None,
    check_nul: bool = True,
) -> IngestResult:
    """Validate messages one by one and store the valid ones in one batched insert.

    A message id already stored for the source (or repeated in this batch) is skipped, so
    retries never create a second event. Invalid messages go to the debugger's ring
    buffer with their reason and are counted on the source. Processing is scheduled for
    after commit.

    Validation runs before the write transaction: on SQLite that transaction holds the
    database's one write lock, so it contains only the inserts; and its commit leaves
    the WAL checkpoint to a thread (``ingest_wal``), so that no request waits for one.
    On a SQLite file, outside a caller's transaction, that transaction is shared with
    the other requests waiting at the same moment, and this call returns once it is
    committed (``ingest_writer``, docs/adr/0081-sqlite-ingest-group-commit.md).

    The actor is the source itself (write-key authentication); the events are the
    record of this write, so no activity entry is added per request (see
    docs/adr/0004-tracking-ingest.md).
    """
    received_at = received_at or timezone.now()
    result = IngestResult()
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[RejectedMessage] = []
    for index, raw in enumerate(messages):
        try:
            row = build_event(
                raw,
                source=source,
                received_at=received_at,
                batch_context=batch_context,
                batch_integrations=batch_integrations,
                batch_sent_at=batch_sent_at,
                forced_type=forced_type,
                check_nul=check_nul,
            )
        except MessageError as exc:
            reason = str(exc)
            result.rejected.append({"index": index, "reason": reason})
            rejected.append(
                RejectedMessage(
                    source=source,
                    received_at=received_at,
                    type=str(raw.get("type", forced_type or ""))[:20]
                    if isinstance(raw, dict)
                    else "",
                    message_id=str(raw.get("messageId", ""))[:200] if isinstance(raw, dict) else "",
                    reason=reason[:300],
                    payload=_excerpt(raw),
                )
            )
            continue
        if row["message_id"] in rows:
            result.duplicates += 1
            continue
        rows[row["message_id"]] = row
    if not rows and not rejected:
        return result
    from patron.events.tasks import events_process_schedule

    values = list(rows.values())
    path = None if connection.in_atomic_block else file_database()
    grouped = path is not None and GROUP_COMMIT
    statements = sqlite_statements(values) if grouped and values else []

    def write() -> int:
        # ON CONFLICT DO NOTHING: a retry, or a concurrent request with the same ids.
        accepted = sqlite_execute(statements) if grouped else events_insert(values)
        if rejected:
            for item in rejected:  # written again after a rolled-back group: new ids
                item.pk = None
            rejections_record(source_id=source.pk, rejected=rejected)
        return accepted

    if grouped:
        assert path is not None
        # SQLite: this process's writer commits it with the other requests waiting now.
        job = writer_for(path).submit(
            Job(write=write, events=len(values) + len(rejected), on_commit=events_process_schedule)
        )
        result.accepted = job.accepted
    else:
        # SQLite: the commit does not checkpoint the WAL; a thread does, after (ingest_wal).
        with checkpoints_aside(), transaction.atomic():
            result.accepted = write()
            if result.accepted:
                transaction.on_commit(events_process_schedule)
    result.duplicates += len(rows) - result.accepted
    return result


def rejections_record(*, source_id: int, rejected: list[RejectedMessage]) -> None:
    """Append to the source's debugger ring buffer (newest ``KEEP``) and count them."""
    RejectedMessage.objects.bulk_create(rejected)
    Source.objects.filter(pk=source_id).update(rejected_count=F("rejected_count") + len(rejected))
    cutoff = (
        RejectedMessage.objects.filter(source_id=source_id)
        .order_by("-id")
        .values_list("id", flat=True)[RejectedMessage.KEEP : RejectedMessage.KEEP + 1]
    )
    ids = list(cutoff)
    if ids:
        RejectedMessage.objects.filter(source_id=source_id, id__lte=ids[0]).delete()
