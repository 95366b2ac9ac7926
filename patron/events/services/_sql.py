"""Bulk row updates for the event processor's hot path.

Django's ``bulk_update`` builds one CASE expression per field per row; for the thousands
of rows a processing batch touches it spent most of the batch's time compiling SQL. This
sends one parameterised ``UPDATE ... WHERE pk = %s`` through ``executemany``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def db_value(value: Any) -> Any:
    """A value as the database driver takes it (SQLite keeps datetimes as UTC text)."""
    if isinstance(value, dt.datetime) and connection.vendor == "sqlite":
        return str(value.astimezone(dt.UTC).replace(tzinfo=None))
    return value


def update_many(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """``UPDATE model SET fields... WHERE pk = ?`` for rows of (value, ..., pk)."""
    params = [[db_value(v) for v in row] for row in rows]
    if not params:
        return 0
    qn = connection.ops.quote_name
    meta = model._meta
    columns = [str(meta.get_field(f).column) for f in fields]  # type: ignore[union-attr]
    sets = ", ".join(f"{qn(c)} = %s" for c in columns)
    pk = str(meta.pk.column)  # type: ignore[union-attr]
    sql = f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {qn(pk)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(params)
