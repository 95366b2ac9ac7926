"""The event processor's read of waiting events: SQL and the hot path's decoding."""

from __future__ import annotations

import json
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models.base import ModelState

from patron.events.models import Event
from patron.events.services._sql import as_text, driver_cursor, from_db_datetime
from patron.events.services.commerce import COMMERCE_EVENTS

_LOADED = (
    "id",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "received_at",
    "source",
    "source_id",
    "message_id",
    "traits",
    "properties",
)
#: A word every e-commerce event's name holds (the read's pre-filter of properties).
_COMMERCE_WORD = "order"
assert all(n.isascii() and _COMMERCE_WORD in n for n in COMMERCE_EVENTS)
_TRAITS_USED = frozenset({Event.Type.IDENTIFY.value, Event.Type.GROUP.value})
_IDENTIFY, _GROUP, _TRACK = (
    Event.Type.IDENTIFY.value,
    Event.Type.GROUP.value,
    Event.Type.TRACK.value,
)


def unprocessed_sql(*, after: bool = False) -> str:
    """The processor's read of waiting events, oldest first: ``%s`` the limit, after
    ``%s`` an id first with ``after`` (the prefetch's read)."""
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    text = "::text" if pg else ""
    # Traits and properties only where ``_events_from_rows`` decodes them (identify and
    # group calls; tracks named like an order, a superset of ``is_commerce``'s names, which
    # are ASCII): the others' JSON was converted to text and sent for nothing.
    find = "strpos" if pg else "instr"  # (lower() folds ASCII on both)
    special = {
        "traits": f"CASE WHEN type IN ('{_IDENTIFY}', '{_GROUP}') THEN traits{text} END",
        "properties": (
            f"CASE WHEN type = '{_TRACK}' AND {find}(lower(event), '{_COMMERCE_WORD}') > 0 "
            f"THEN properties{text} END"
        ),
        "timestamp": as_text(qn("timestamp")),
        "received_at": as_text(qn("received_at")),
    }
    cols = ", ".join(special.get(c, qn(c)) for c in _LOADED)
    # Written as the partial index's own condition (event_unprocessed_idx, WHERE NOT
    # "processed"): SQLite uses a partial index only when the query's condition matches
    # it, and a bound parameter does not (nor do PostgreSQL's generic plans): with
    # ``processed = %s`` it scanned every event before the first waiting one.
    return (
        f"SELECT {cols} FROM {qn(Event._meta.db_table)} "  # noqa: S608
        f"WHERE NOT processed {'AND id > %s ' if after else ''}ORDER BY id LIMIT %s"
    )


def oldest_unprocessed_sql() -> str:
    """The processor's read of waiting events (one ``%s``: the limit)."""
    return unprocessed_sql()


def _late_sql() -> str:
    """Unprocessed ids up to ``%s``, at most ``%s`` (the prefetch's check for late events)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    return f"SELECT id FROM {table} WHERE NOT processed AND id <= %s ORDER BY id LIMIT %s"  # noqa: S608


def _oldest_unprocessed(limit: int) -> list[Event]:
    """The oldest unprocessed events, as Event instances built from one raw query."""
    with driver_cursor() as cursor:
        cursor.execute(unprocessed_sql(), [limit])
        rows = cursor.fetchall()
    return _events_from_rows(rows)


def _events_from_rows(rows: list[tuple[Any, ...]]) -> list[Event]:
    """Event instances from rows of ``unprocessed_sql``.

    The hot path's read (see docs/performance.md): no converters, and JSON decoded only
    where the processor reads it (traits of identify/group calls, properties of
    e-commerce events). Context, integrations and the client's own times are left
    deferred (Django loads them if anything asks).
    """
    events = []
    alias, new, loads = DEFAULT_DB_ALIAS, Event.__new__, json.loads
    for (
        pk,
        kind,
        name,
        page,
        user_id,
        anon,
        group,
        prev,
        at,
        received,
        source,
        source_id,
        msg,
        traits,
        props,
    ) in rows:  # noqa: E501
        state = ModelState()
        state.adding, state.db = False, alias
        commerce = kind == _TRACK and name.strip().lower() in COMMERCE_EVENTS
        event = new(Event)
        event.__dict__.update(
            {
                "_state": state,
                "id": pk,
                "type": kind,
                "event": name,
                "name": page,
                "user_id": user_id,
                "anonymous_id": anon,
                "group_id": group,
                "previous_id": prev,
                "timestamp": from_db_datetime(at),
                "received_at": from_db_datetime(received),
                "source": source,
                "source_id": source_id,
                "message_id": msg,
                "traits": loads(traits) if traits and kind in _TRAITS_USED else {},
                "properties": loads(props) if props and commerce else {},
                "contact_id": None,
            }
        )
        events.append(event)
    return events
