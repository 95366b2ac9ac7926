"""Ingest's write: event rows inserted in bulk, skipping stored (source, message id)s."""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any

from django.db import connection

from patron.events.models import Event
from patron.events.services._sql import driver_cursor, sqlite_time
from patron.events.services.ingest.messages import JSON_OBJECTS

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

_JSON_COLUMNS = frozenset(JSON_OBJECTS)
_TIME_COLUMNS = frozenset({"timestamp", "original_timestamp", "received_at", "sent_at"})
_ROW = itemgetter(*COLUMNS)
_TIME_INDEXES = tuple(i for i, name in enumerate(COLUMNS) if name in _TIME_COLUMNS)


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
    one one-row statement through ``executemany``, which binds and steps each row in C
    on one prepared statement: insert and commit took 25.5 µs of CPU per event against
    33.8 with multi-row ``VALUES`` statements of 400 rows (alternated in one process,
    docs/performance.md, "Ingest pass 4").
    """
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        return _insert_postgresql(rows)
    return sqlite_execute(sqlite_statements(rows))


def sqlite_statements(rows: list[dict[str, Any]]) -> list[tuple[str, list[list[Any]]]]:
    """SQLite: the insert statement of ``rows`` (``?`` placeholders) with one list of
    values per row, ready for the driver's ``executemany``; made outside the write
    transaction (``ingest_writer``)."""
    # received_at (and mostly sent_at and the timestamps) repeat across a batch.
    adapted: dict[dt.datetime, str] = {}
    values: list[list[Any]] = []
    for row in rows:
        one = list(_ROW(row))
        for index in _TIME_INDEXES:
            moment = one[index]
            if moment is not None:
                text = adapted.get(moment)
                if text is None:
                    text = adapted[moment] = sqlite_time(moment)
                one[index] = text
        values.append(one)
    return [(_sqlite_insert_sql(), values)] if values else []


def _sqlite_insert_sql() -> str:
    qn = connection.ops.quote_name
    names = ", ".join(qn(str(Event._meta.get_field(n).column)) for n in COLUMNS)  # type: ignore[union-attr]
    placeholders = ", ".join(["?"] * len(COLUMNS))
    # Table and column names come from the model; every value is a parameter.
    return (
        f"INSERT INTO {qn(Event._meta.db_table)} ({names}) "  # noqa: S608
        f"VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    )


def sqlite_execute(statements: list[tuple[str, list[list[Any]]]]) -> int:
    """Run ``sqlite_statements`` on the thread's connection (in its transaction); the
    number of rows inserted (the driver sums ``executemany``'s changes; a row skipped
    by ``ON CONFLICT DO NOTHING`` is not one)."""
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    inserted = 0
    try:
        for sql, values in statements:
            cursor.executemany(sql, values)
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
