"""Fast inserts for high-volume rows: an import's contacts, tag links, memberships and
activity, and the contacts the event processor creates for new visitors.

Contacts get their ids before they are inserted (reserved from the sequence on PostgreSQL;
on SQLite the writing transaction holds the write lock (``transaction_mode`` IMMEDIATE),
so max(id) + 1 ... is ours), then
go in with ``COPY ... FROM STDIN`` on PostgreSQL, and on SQLite with one prepared
``INSERT`` run by ``executemany`` (patron.core.demo.bulk's FastInsert: values adapted
exactly as Django would). That is several times faster than ``bulk_create``, which
compiles SQL value by value.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from operator import itemgetter
from typing import Any

import psycopg
from django.db import connection, models
from psycopg.adapt import Dumper
from psycopg.pq import Format

from patron.core.demo.bulk import FastInsert

MULTI_ROWS = 500
SPENT: defaultdict[str, float] = defaultdict(float)  # seconds inserting, by model
MAX_PARAMS = 30_000  # below SQLite's 32,766 host parameters and PostgreSQL's 65,535
_SHARED_TYPES = ("DateTimeField", "JSONField")  # adapted once per distinct object


@cache
def inserter(model: type[models.Model], names: tuple[str, ...]) -> FastInsert:
    return FastInsert(model, list(names))


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` fresh primary keys for ``model`` (call inside the writing transaction)."""
    if count <= 0:
        return []
    table = model._meta.db_table
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [r[0] for r in cursor.fetchall()]
        cursor.execute(f"SELECT MAX(id) FROM {qn(table)}")  # noqa: S608 - identifier from _meta
        top = cursor.fetchone()[0] or 0
        if connection.vendor == "sqlite":
            cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
            row = cursor.fetchone()
            top = max(top, row[0] if row else 0)
    return list(range(top + 1, top + 1 + count))


def insert_dicts(
    model: type[models.Model], rows: list[dict[str, Any]], names: tuple[str, ...]
) -> None:
    """Insert rows given as {attname: value}; every name in ``names`` must be present."""
    if not rows:
        return
    started = time.monotonic()
    fast = inserter(model, names)
    pick = _picker(tuple(fast.attnames[: len(names)]))
    if connection.vendor == "postgresql":
        extra = fast.defaults
        _copy(model, fast, [[*pick(row), *extra] for row in rows])
    else:
        _insert(fast, [pick(row) for row in rows])
    SPENT[model._meta.label] += time.monotonic() - started


class RowTemplate:
    """Rows of one insert built straight in its column order, values ready for the
    database (for a high-volume table whose rows share most values: contacts).

    ``base`` gives every named column's value shared by all rows (defaults, the chunk's
    one ``now``, the owner); it is adapted once here. A row is ``new()`` (a copy of the
    adapted base), its varying values set by slot (``slot[attname]``), then ``finish(row)``
    adapts the varying columns that need it (``varying``: on SQLite dates and JSON, on
    PostgreSQL JSON as its text), with the same adapters ``insert_dicts`` uses. No dict a
    row, no per-row adapting of shared values: ~8 µs a row less than ``insert_dicts``."""

    def __init__(
        self,
        model: type[models.Model],
        names: tuple[str, ...],
        base: dict[str, Any],
        varying: tuple[str, ...],
    ) -> None:
        self.model = model
        self.fast = fast = inserter(model, names)
        self.pg = connection.vendor == "postgresql"
        adapters: list[Any] = list(fast.adapters)
        if self.pg:  # COPY dumps every type itself; JSON goes as its text (see _copy)
            adapters = [
                _json_text() if f.get_internal_type() == "JSONField" else None for f in fast.fields
            ]
        attnames = fast.attnames[: len(names)]
        self.slot = {a: i for i, a in enumerate(attnames)}
        row = [base[a] for a in attnames] + list(fast.defaults)
        self._base = [a(v) if a is not None else v for a, v in zip(adapters, row, strict=True)]
        self._varying = tuple(
            (self.slot[a], adapters[self.slot[a]])
            for a in varying
            if adapters[self.slot[a]] is not None
        )
        self._binary = _binary_types(fast) if self.pg else None

    def new(self) -> list[Any]:
        return self._base.copy()

    def finish(self, row: list[Any]) -> list[Any]:
        for i, adapt in self._varying:
            row[i] = adapt(row[i])
        return row

    def insert(self, rows: list[list[Any]]) -> None:
        """Insert rows made by ``new`` + ``finish``."""
        if not rows:
            return
        started = time.monotonic()
        if self._binary is not None:
            _copy_binary(self.model, self.fast, rows, self._binary)
        elif self.pg:
            _copy(self.model, self.fast, rows, ready=True)
        else:
            with connection.cursor() as cursor:
                for start in range(0, len(rows), 2000):
                    cursor.executemany(self.fast.sql, rows[start : start + 2000])
        SPENT[self.model._meta.label] += time.monotonic() - started


class _JsonTextBinary(Dumper):
    """jsonb in COPY's binary format from JSON text already encoded (``_json_text``):
    format version 1, then the text (what the server's ``jsonb_recv`` reads)."""

    format = Format.BINARY
    oid = psycopg.adapters.types["jsonb"].oid

    def dump(self, obj: Any) -> bytes:
        return b"\x01" + obj.encode()


def _binary_types(fast: FastInsert) -> list[str | int] | None:
    """The columns' PostgreSQL types for a binary ``COPY`` (None if one is not a plain
    named type psycopg knows: the text ``COPY`` is used then)."""
    out: list[str | int] = []
    for f in fast.fields:
        name = str(f.db_type(connection) or "").split("(", 1)[0].strip()
        info = psycopg.adapters.types.get(name)
        if info is None or name.endswith("[]"):
            return None
        out.append(info.oid)
    return out


def _copy_binary(
    model: type[models.Model], fast: FastInsert, rows: list[list[Any]], types: list[str | int]
) -> None:
    """PostgreSQL: ``COPY ... FROM STDIN (FORMAT BINARY)`` of rows made by a
    ``RowTemplate`` (JSON already its text). psycopg dumps each value by the column's
    type in C; the server reads numbers, dates and times without parsing text (the
    client's CPU for the contacts' COPY fell from ~6 to ~2 µs a row in a same-process
    test). Stored values are the text ``COPY``'s (tests/test_fastwrite.py)."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(str(f.column)) for f in fast.fields)  # type: ignore[union-attr]
    sql = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN (FORMAT BINARY)"
    connection.ensure_connection()
    raw = connection.connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.adapters.register_dumper(None, _JsonTextBinary)  # this cursor only
        with cursor.copy(sql) as copy:
            copy.set_types(types)
            for values in rows:
                copy.write_row(values)


def _json_text() -> Callable[[Any], str]:
    """JSON text for COPY, encoded once for a value shared by many rows."""
    memo: dict[int, tuple[Any, str]] = {}

    def as_json(value: Any) -> str:
        hit = memo.get(id(value))
        if hit is None or hit[0] is not value:
            if len(memo) > 10_000:
                memo.clear()
            hit = memo[id(value)] = (value, json.dumps(value))
        return hit[1]

    return as_json


def _insert(fast: FastInsert, rows: list[tuple[Any, ...]]) -> None:
    """``fast.insert``, adapting a value shared by many rows (the chunk's one ``now``, the
    one empty ``invalid_fields`` dict, an activity's one ``changes``) once: the datetime
    and JSON adapters are the costliest, and every row carries two or three of them."""
    extra = fast.defaults
    active = [(i, a) for i, a in enumerate(fast.adapters) if a is not None]
    shared = {i for i, f in enumerate(fast.fields) if f.get_internal_type() in _SHARED_TYPES}
    memo: dict[int, tuple[Any, Any]] = {}

    def once(adapt: Any, value: Any) -> Any:
        hit = memo.get(id(value))
        if hit is None or hit[0] is not value:
            hit = memo[id(value)] = (value, adapt(value))
        return hit[1]

    out = []
    for row in rows:
        values = [*row, *extra]
        for i, adapt in active:
            values[i] = once(adapt, values[i]) if i in shared else adapt(values[i])
        out.append(values)
    with connection.cursor() as cursor:
        for start in range(0, len(out), 2000):
            cursor.executemany(fast.sql, out[start : start + 2000])


@cache
def _picker(attnames: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A row's values as a tuple in column order (``itemgetter``: no Python loop a row)."""
    if len(attnames) == 1:
        only = attnames[0]
        return lambda row: (row[only],)
    return itemgetter(*attnames)  # type: ignore[return-value]


def _copy(
    model: type[models.Model], fast: FastInsert, rows: list[list[Any]], *, ready: bool = False
) -> None:
    """PostgreSQL: ``COPY ... FROM STDIN`` for every column (named values, then the
    defaults), dumped by psycopg; JSON as its text (``ready``: already so)."""
    qn = connection.ops.quote_name
    fields = fast.fields
    json_cols = (
        [] if ready else [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    )
    columns = ", ".join(qn(str(f.column)) for f in fields)  # type: ignore[union-attr]
    sql = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
    connection.ensure_connection()
    raw = connection.connection
    memo: dict[int, tuple[Any, str]] = {}

    def as_json(value: Any) -> Any:
        """JSON text (COPY's text format takes it for jsonb as is), encoded once for a
        value shared by many rows (``Jsonb`` would call ``json.dumps`` for every row)."""
        hit = memo.get(id(value))
        if hit is None or hit[0] is not value:
            hit = memo[id(value)] = (value, json.dumps(value))
        return hit[1]

    with raw.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
        for values in rows:
            for i in json_cols:
                values[i] = as_json(values[i])
            copy.write_row(values)


def insert_objects(model: type[models.Model], objs: list[Any], names: tuple[str, ...]) -> None:
    if not objs:
        return
    fast = inserter(model, names)
    fast.insert(fast.rows_from(objs))


def sqlite_cache_mb() -> int:
    return int(os.environ.get("PATRON_IMPORT_SQLITE_CACHE_MB", 64))


def tune_connection() -> None:
    """A bigger page cache for the importing connection (SQLite's default is 2 MB, and
    a growing contacts table with its indexes soon needs more): 64 MB unless
    ``PATRON_IMPORT_SQLITE_CACHE_MB`` says otherwise, allocated as used. (PostgreSQL: a
    bigger GIN pending list for the trigram index was tried and made no measurable
    difference.)"""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = -{sqlite_cache_mb() * 1024:d}")
