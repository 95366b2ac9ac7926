"""Bulk row writes for the event processor's hot path.

Django's ``bulk_update`` builds one CASE expression per field per row, and its
``bulk_create`` prepares every field of every row in Python; for the thousands of rows a
processing batch touches they cost more than the statements themselves. These send plain
parameterised SQL: ``UPDATE ... WHERE pk = %s`` through ``executemany``, and multi-row
``INSERT ... ON CONFLICT ... DO UPDATE`` (SQLite 3.24+ and PostgreSQL share the syntax).
Table and column names come from model meta; every value is a parameter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models

#: How an upsert merges a column: take the new value, add, keep the smaller / larger.
MERGES = ("excluded", "add", "min", "max")


def db_value(value: Any) -> Any:
    """A value as the database driver takes it (SQLite keeps datetimes as UTC text)."""
    if type(value) is dt.datetime and connection.vendor == "sqlite":
        return sqlite_time(value)
    return value


def datetime_adapter() -> Any:
    """``db_value`` for datetimes, with the database vendor looked up once (hot loops)."""
    if connection.vendor != "sqlite":
        return lambda value: value
    return lambda value: sqlite_time(value) if type(value) is dt.datetime else value


def sqlite_time(value: dt.datetime) -> str:
    """Django's SQLite form of an aware datetime: naive UTC text, as its adapter makes.
    (The UTC text less its "+00:00": ``replace(tzinfo=None)`` cost more than the
    formatting, and the processor writes several per event.)"""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ")[:-6]


_fromisoformat = dt.datetime.fromisoformat


def from_db_datetime(value: Any) -> dt.datetime | None:
    """An aware datetime from a raw cursor's value: SQLite's UTC text (read with
    ``as_text``) or a datetime (naive from Django's SQLite converter, aware from
    PostgreSQL). The text is parsed with its zone appended: 6x faster than parsing it
    and then ``replace(tzinfo=...)`` (the processor reads two per event)."""
    if type(value) is str:
        try:
            return _fromisoformat(value + "+00:00")
        except ValueError:  # text with a zone of its own
            return _fromisoformat(value).astimezone(dt.UTC)
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
    return value  # type: ignore[no-any-return]


def as_text(column: str) -> str:
    """A datetime column in a raw SELECT as ``from_db_datetime`` reads it fastest: on
    SQLite its stored text, which an expression keeps from Django's converter (parsing
    it into a naive datetime first cost 3x the parse here); elsewhere the column."""
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


class _QmarkCursor:
    """sqlite3's cursor taking Django's ``%s`` placeholders (no literal ``%`` allowed)."""

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor

    @staticmethod
    def _sql(sql: str) -> str:
        if "%%" in sql:
            raise ValueError("driver_cursor statements take no literal %")
        return sql.replace("%s", "?")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.cursor.execute(self._sql(sql), params)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]]) -> Any:
        return self.cursor.executemany(self._sql(sql), params)

    def fetchall(self) -> list[Any]:
        return self.cursor.fetchall()  # type: ignore[no-any-return]

    @property
    def rowcount(self) -> int:
        return int(self.cursor.rowcount)


@contextlib.contextmanager
def driver_cursor(wrapper: Any = None) -> Iterator[Any]:
    """The database driver's own cursor on Django's connection (same transaction), for
    the hot paths' large statements, with ``%s`` placeholders and values as Django's
    raw cursors take them.

    Django's cursors cost more than these statements: on SQLite its wrapper rewrites
    ``%s`` with a regex over the whole statement (thousands of placeholders in a
    multi-row statement); on PostgreSQL its client-side binding renders every value into
    the SQL text, after psycopg has split the statement at each placeholder in Python
    (cached only for statements under 4 KB). Here SQLite gets ``?`` by a plain string
    replace, and PostgreSQL binds on the server (psycopg's default cursor); the
    PostgreSQL statements are kept short (column arrays, ``unnest``, ``= ANY``), so
    psycopg parses each once (measured in-process: ingest client CPU per event 81-88 ->
    61-69 µs, the processor's 138-155 -> 117-119 µs; docs/performance.md).
    Not for statements with a literal ``%`` (refused on SQLite). ``wrapper``: another
    Django connection than the thread's default one (the processor's prefetch).
    """
    wrapper = connection if wrapper is None else wrapper
    wrapper.ensure_connection()
    raw = wrapper.connection
    if wrapper.vendor == "postgresql":
        import psycopg
        from psycopg.types.datetime import TimestamptzLoader

        with psycopg.Cursor(raw) as cursor:
            # psycopg's own timestamptz loader (C with psycopg[binary]) in place of
            # Django's Python subclass: the same aware UTC datetimes (the connection's
            # time zone is UTC), 5x less CPU a value; the processor reads ~5 per event.
            cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
            yield cursor
    else:
        cursor = raw.cursor()
        try:
            yield _QmarkCursor(cursor)
        finally:
            cursor.close()


_STR, _INT = frozenset({str}), frozenset({int})
_TIMES = frozenset({dt.datetime, dt.date, type(None)})


def pg_array(values: Iterable[Any]) -> str | list[Any]:
    """``values`` as a PostgreSQL array literal (text) for a ``%s::type[]`` or ``= ANY(%s)``
    parameter: psycopg's list dumper walks a list in Python with a regex search per text
    element (13 % of the processor's client CPU under the profiler; docs/performance.md,
    processing fourth pass). None, bool, int, float, Decimal, str, date and datetime;
    a list with anything else is returned as a list, for psycopg to dump."""
    values = list(values)
    if not values:
        return "{}"
    # Fast paths for a column of one kind (most are), C loops where possible: the
    # aggregates' upserts send ~13 datetimes an event (0.27 s of a 5 s profiled round in
    # the general loop below; docs/performance.md, processing sixth pass).
    kinds = set(map(type, values))
    if kinds == _STR:
        probe = "".join(values)
        if "\\" not in probe and '"' not in probe:  # nothing to escape
            return '{"' + '","'.join(values) + '"}'
    elif kinds <= _TIMES:
        return (
            "{"
            + ",".join(['"' + v.isoformat() + '"' if v is not None else "NULL" for v in values])
            + "}"
        )
    elif kinds == _INT:
        return "{" + ",".join(map(str, values)) + "}"
    out = []
    for value in values:
        kind = type(value)
        if value is None:
            out.append("NULL")
        elif kind is str:
            out.append('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"')
        elif kind is int or kind is float or kind is Decimal:
            out.append(str(value))
        elif kind is bool:
            out.append("t" if value else "f")
        elif kind is dt.datetime or kind is dt.date:
            out.append('"' + value.isoformat() + '"')
        else:
            return values
    return "{" + ",".join(out) + "}"


def select_in(
    sql: str, params: Sequence[Any], values: Sequence[Any], chunk: int = 500
) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (ending in ``... IN``) for ``values``: on PostgreSQL one
    ``= ANY(array)`` (a short statement, parsed once); elsewhere ``chunk`` at a time."""
    rows: list[tuple[Any, ...]] = []
    if not values:
        return rows
    with driver_cursor() as cursor:
        if connection.vendor == "postgresql" and sql.endswith(" IN"):
            cursor.execute(f"{sql[:-3]} = ANY(%s)", [*params, pg_array(values)])
            return list(cursor.fetchall())
        for start in range(0, len(values), chunk):
            part = list(values[start : start + chunk])
            cursor.execute(f"{sql} ({', '.join(['%s'] * len(part))})", [*params, *part])
            rows += cursor.fetchall()
    return rows


def _column(model: type[models.Model], name: str) -> str:
    return str(model._meta.get_field(name).column)  # type: ignore[union-attr]


def update_many(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``UPDATE model SET fields... WHERE pk = ?`` for rows of (value, ..., pk)."""
    params = [[db_value(v) for v in row] for row in rows]
    if not params:
        return 0
    qn = connection.ops.quote_name
    meta = model._meta
    sets = ", ".join(f"{qn(_column(model, f))} = %s" for f in fields)
    pk = str(meta.pk.column)  # type: ignore[union-attr]
    sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(pk)} = %s"  # noqa: S608
    with driver_cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)


def delete_many(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``DELETE FROM model WHERE f1 = ? AND f2 = ? ...`` for each row of values, by
    ``executemany`` (one prepared statement; an OR of per-row conditions built by the
    ORM cost 1.3 s of Python a round in the processor: docs/performance.md, Stop 14)."""
    params = [[db_value(v) for v in row] for row in rows]
    if not params:
        return
    qn = connection.ops.quote_name
    where = " AND ".join(f"{qn(_column(model, f))} = %s" for f in fields)
    with driver_cursor() as cursor:
        cursor.executemany(f"DELETE FROM {qn(model._meta.db_table)} WHERE {where}", params)  # noqa: S608


def upsert_many(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str],
    update: Mapping[str, str | Callable[[str], str]],
    chunk: int = 500,
) -> None:
    """Insert rows (values already as ``db_value`` gives them), or merge them into the
    row with the same ``conflict`` columns: ``update`` says per column how (``MERGES``,
    or a function of the quoted table name giving the SQL expression).

    Each (conflict key) must appear once in ``rows``.
    """
    if not rows:
        return
    qn = connection.ops.quote_name
    table = qn(model._meta.db_table)
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    sets = []
    for name, how in update.items():
        col = qn(_column(model, name))
        if how == "excluded":
            sets.append(f"{col} = excluded.{col}")
        elif how == "add":
            sets.append(f"{col} = {table}.{col} + excluded.{col}")
        elif how == "min":
            sets.append(f"{col} = {least}({table}.{col}, excluded.{col})")
        elif how == "max":
            sets.append(f"{col} = {greatest}({table}.{col}, excluded.{col})")
        elif callable(how):  # an expression of its own, given the quoted table name
            sets.append(f"{col} = {how(table)}")
        else:
            raise ValueError(f"unknown merge {how!r}")
    columns = ", ".join(qn(_column(model, f)) for f in fields)
    target = ", ".join(qn(_column(model, f)) for f in conflict)
    if connection.vendor == "postgresql":
        # One array per column and ``unnest``: a short statement (psycopg parses
        # statements over 4 KB again on every call), whatever the number of rows.
        arrays = ", ".join(
            f"%s::{model._meta.get_field(f).db_type(connection)}[]"  # type: ignore[union-attr]
            for f in fields
        )
        sql = (
            f"INSERT INTO {table} ({columns}) "  # noqa: S608
            f"SELECT * FROM unnest({arrays}) ON CONFLICT ({target}) DO UPDATE SET "
            + ", ".join(sets)
        )
        with driver_cursor() as cursor:
            cursor.execute(sql, [pg_array([row[i] for row in rows]) for i in range(len(fields))])
        return
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with driver_cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            sql = (
                f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                + ", ".join([one] * len(part))
                + f" ON CONFLICT ({target}) DO UPDATE SET "
                + ", ".join(sets)
            )
            cursor.execute(sql, [v for row in part for v in row])
