"""Per-contact purchase summary: order count, net total, first and last order time.

Segments' purchase conditions without a time window ("total spend >= 100", "orders >= 3",
"average order value < 50") read ``ContactPurchaseSummary`` (one indexed row per buyer)
instead of grouping the orders table on every evaluation (ADR 0061).

The summary is derived data and is never edited by hand: every path that creates,
changes, refunds, cancels, deletes or moves orders calls ``purchase_summary_refresh``
with the contacts it touched, in the same transaction and before the segments hook
re-evaluates them (the commerce services, the e-commerce events, merges and their undo,
the demo generator). Contact deletion cascades. ``purchase_summary_rebuild`` recomputes
the whole table (benchmarks, repairs; migration commerce 0003 backfilled it).

The refresh recomputes from the orders, never adds deltas, so it is exact whatever the
change was and idempotent. It is set-based: a fixed number of statements per call however
many contacts (ids go as one array on PostgreSQL, one JSON list on SQLite). Aggregates
are the SQL ones the segments compiler used before (``SUM(total - refunded_amount)``),
so a summary total compares exactly as the grouped query did on both databases.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db import connection
from django.db.models import DecimalField, F, Func

from patron.commerce.models import ContactPurchaseSummary, Order
from patron.contacts.models import Contact

#: Orders that count as purchases; spend is net of refunds.
COUNTED_STATUSES: tuple[str, ...] = (
    Order.Status.COMPLETED.value,
    Order.Status.PARTIALLY_REFUNDED.value,
)
_COLUMNS = ("contact_id", "order_count", "total", "first_order_at", "last_order_at")


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {
        "summary": qn(ContactPurchaseSummary._meta.db_table),
        "orders": qn(Order._meta.db_table),
        "contacts": qn(Contact._meta.db_table),
    }


def _ids_sql() -> str:
    """``IN``-list of contact ids bound as one parameter (see ``_ids_param``)."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)"
    return "IN (SELECT value FROM json_each(%s))"


def _ids_param(ids: list[int]) -> Any:
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def _grouped(where: str) -> str:
    """Counted orders grouped by contact, as summary rows; ``where`` adds a condition."""
    t = _tables()
    statuses = ", ".join(["%s"] * len(COUNTED_STATUSES))
    return (
        f"SELECT contact_id, COUNT(*), SUM(total - refunded_amount), "  # noqa: S608
        f"MIN(placed_at), MAX(placed_at) FROM {t['orders']} "
        f"WHERE status IN ({statuses}){where} GROUP BY contact_id"
    )


def _insert(select: str, *, upsert: bool) -> str:
    t = _tables()
    qn = connection.ops.quote_name
    sql = f"INSERT INTO {t['summary']} ({', '.join(qn(c) for c in _COLUMNS)}) {select}"
    if upsert:
        sets = ", ".join(f"{qn(c)} = excluded.{qn(c)}" for c in _COLUMNS[1:])
        sql += f" ON CONFLICT ({qn('contact_id')}) DO UPDATE SET {sets}"
    return sql


def purchase_summary_refresh(contact_ids: Iterable[int | None]) -> None:
    """Recompute these contacts' summaries from their orders (exact, idempotent).

    Call it in the transaction that changed the orders, after the change. Three
    statements on PostgreSQL whatever the number of ids (lock the contacts, drop the rows
    of contacts left without counted orders, upsert the grouped orders), two on SQLite
    (one writer at a time: no lock needed).
    """
    ids = sorted({int(c) for c in contact_ids if c})
    if not ids:
        return
    t = _tables()
    param = _ids_param(ids)
    statuses = list(COUNTED_STATUSES)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Two refreshes of one contact run one after the other, so the second one's
            # statements see the first one's orders (no stale upsert after a race).
            cursor.execute(
                f"SELECT id FROM {t['contacts']} WHERE id {_ids_sql()} "  # noqa: S608
                "ORDER BY id FOR NO KEY UPDATE",
                [param],
            )
        in_statuses = ", ".join(["%s"] * len(statuses))
        cursor.execute(
            f"DELETE FROM {t['summary']} WHERE contact_id {_ids_sql()} "  # noqa: S608
            f"AND NOT EXISTS (SELECT 1 FROM {t['orders']} o "
            f"WHERE o.contact_id = {t['summary']}.contact_id AND o.status IN ({in_statuses}))",
            [param, *statuses],
        )
        cursor.execute(
            _insert(_grouped(f" AND contact_id {_ids_sql()}"), upsert=True),
            [*statuses, param],
        )


def purchase_summary_rebuild() -> int:
    """Recompute the whole table from the orders; returns the number of rows.

    For backfills, repairs and benchmark data loaded in bulk. Run it in a transaction
    (or with nothing else writing orders) so no refresh interleaves.
    """
    t = _tables()
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {t['summary']}")  # noqa: S608
        cursor.execute(_insert(_grouped(""), upsert=False), list(COUNTED_STATUSES))
    return ContactPurchaseSummary.objects.count()


class AverageOrderValue(Func):
    """A summary row's ``total / order_count``, computed as SQL's ``AVG`` over the orders
    would be: numeric division on PostgreSQL (its ``avg(numeric)`` is sum / count),
    floating point on SQLite (a whole total is stored as an INTEGER there, and INTEGER /
    INTEGER would truncate). Never NULL: a summary row has at least one order."""

    arg_joiner = " / "
    template = "(%(expressions)s)"

    def __init__(self) -> None:
        super().__init__(F("total"), F("order_count"), output_field=DecimalField())

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        (total, t_params), (count, c_params) = (
            compiler.compile(e) for e in self.get_source_expressions()
        )
        return f"CAST(CAST({total} AS REAL) / {count} AS NUMERIC)", (*t_params, *c_params)
