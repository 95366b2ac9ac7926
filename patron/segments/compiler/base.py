"""The compiler's shared ground: constants, value helpers, predicates on columns and the
per-contact aggregate primitives (grouped or correlated: see the package docstring)."""

from __future__ import annotations

import datetime as dt
import math
import operator
from decimal import Decimal
from typing import Any

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, ExtractDay, ExtractMonth
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from patron.commerce.models import Order
from patron.segments.rules.catalogue import DATE, DATETIME, NUMBER, Catalogue, FieldSpec
from patron.support.models import Ticket

TRUE = Q(pk__isnull=False)
FALSE = Q(pk__in=[])
#: Orders that count as purchases; spend is net of refunds.
COUNTED_ORDER_STATUSES = (Order.Status.COMPLETED, Order.Status.PARTIALLY_REFUNDED)
OPEN_TICKET_STATUSES = (Ticket.Status.OPEN, Ticket.Status.PENDING)
_LOOKUPS = {
    "eq": Exact,
    "gt": GreaterThan,
    "gte": GreaterThanOrEqual,
    "lt": LessThan,
    "lte": LessThanOrEqual,
}
_COUNT_OPS = {"at_least": "gte", "at_most": "lte", "exactly": "eq"}
_CUSTOM_COLUMN = {
    "text": "value_text",
    "choice": "value_text",
    "multi": "value_text",
    "number": "value_number",
    "date": "value_date",
    "datetime": "value_date",
    "boolean": "value_bool",
}


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in the workspace's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def compare_py(op: str, left: Any, value: Any) -> bool:
    """A comparison as SQL does it: NULL compares false."""
    if left is None:
        return False
    if op == "between":
        return value[0] <= left <= value[1]
    return {
        "eq": operator.eq,
        "neq": operator.ne,
        "gt": operator.gt,
        "gte": operator.ge,
        "lt": operator.lt,
        "lte": operator.le,
    }[op](left, value)


def anniversary_window(today: dt.date, days: int) -> tuple[int, int] | None:
    """(low, high) month*100+day bounds of "anniversary within N days"; None: all dates."""
    if days >= 365:
        return None
    end = today + dt.timedelta(days=days)
    return today.month * 100 + today.day, end.month * 100 + end.day


def _whole_bounds(op: str, value: Any) -> tuple[str, Any]:
    """The same comparison with whole-number bounds (for integer columns)."""
    if op == "between":
        low, high = math.ceil(value[0]), math.floor(value[1])
        return ("between", [low, high]) if low <= high else ("never", None)
    if float(value).is_integer():
        return op, int(value)
    if op == "eq":
        return "never", None
    if op in ("gt", "lte"):
        return op, math.floor(value)
    return op, math.ceil(value)  # gte, lt


def _lk(op: str) -> str:
    return "exact" if op == "eq" else op


class CompilerBase:
    def __init__(
        self, catalogue: Catalogue, *, now: dt.datetime | None = None, scoped: bool = False
    ) -> None:
        self.catalogue = catalogue
        self.now = now or timezone.now()
        self.today = timezone.localdate(self.now)
        self.scoped = scoped

    # --- values and predicates -------------------------------------------------------

    def _number(self, spec_type: str, value: Any) -> Any:
        if isinstance(value, list):
            return [self._number(spec_type, v) for v in value]
        return Decimal(str(value)) if isinstance(value, float) else value

    def _date_bounds(self, typ: str, op: str, value: Any) -> tuple[Any, Any, bool]:
        """(low, high, high_inclusive) of a date/time operator (None: open)."""
        if typ == DATE:
            today = self.today
            days = dt.timedelta(days=value) if isinstance(value, int) else None
            if op == "in_last_days":
                return today - days, today, True  # type: ignore[operator]
            if op == "in_next_days":
                return today, today + days, True  # type: ignore[operator]
            if op == "older_than_days":
                return None, today - days, False  # type: ignore[operator]
            if op == "before":
                return None, dt.date.fromisoformat(value), False
            if op == "after":
                return dt.date.fromisoformat(value) + dt.timedelta(days=1), None, True
            if op == "between":
                return dt.date.fromisoformat(value[0]), dt.date.fromisoformat(value[1]), True
            if op == "eq":
                d = dt.date.fromisoformat(value)
                return d, d, True
        else:
            now = self.now
            if op == "in_last_days":
                return now - dt.timedelta(days=value), now, True
            if op == "in_next_days":
                return now, now + dt.timedelta(days=value), True
            if op == "older_than_days":
                return None, now - dt.timedelta(days=value), False
            if op == "before":
                return None, day_start(dt.date.fromisoformat(value)), False
            if op == "after":
                return day_start(dt.date.fromisoformat(value) + dt.timedelta(days=1)), None, True
            if op == "between":
                low = day_start(dt.date.fromisoformat(value[0]))
                high = day_start(dt.date.fromisoformat(value[1]) + dt.timedelta(days=1))
                return low, high, False
        raise AssertionError(op)

    def predicate(
        self, col: str, typ: str, op: str, value: Any, *, text_blank: bool, integer: bool = False
    ) -> Q:
        """A positive predicate on one column (``neq``/``not_set`` are handled by callers).

        ``text_blank``: the column is text where "" means "not set"; ``integer``: an integer
        column, where a fractional bound must not be truncated by the ORM.
        """
        if integer and op in ("eq", "gt", "gte", "lt", "lte", "between"):
            op, value = _whole_bounds(op, value)
            if op == "never":
                return FALSE
            # Django drops a bound outside the column's range (``> -5`` on a positive
            # integer) as always true, which would let NULLs through: keep them out.
            positive = self.predicate(col, typ, op, value, text_blank=text_blank)
            return positive & Q(**{f"{col}__isnull": False})
        if op == "is_set":
            q = Q(**{f"{col}__isnull": False})
            return q & ~Q(**{col: ""}) if text_blank else q
        if typ in (DATE, DATETIME):
            if op == "anniversary_within_days":
                window = anniversary_window(self.today, value)
                if window is None:
                    return Q(**{f"{col}__isnull": False})
                md = ExtractMonth(col) * 100 + ExtractDay(col)
                lo, hi = window
                # "IS NOT NULL" keeps the result two-valued, so NOT(...) of a NULL is true.
                set_ = Q(**{f"{col}__isnull": False})
                if lo <= hi:
                    return set_ & Q(GreaterThanOrEqual(md, lo)) & Q(LessThanOrEqual(md, hi))
                return set_ & (Q(GreaterThanOrEqual(md, lo)) | Q(LessThanOrEqual(md, hi)))
            low, high, inclusive = self._date_bounds(typ, op, value)
            q = TRUE
            if low is not None:
                q &= Q(**{f"{col}__gte": low})
            if high is not None:
                q &= Q(**{f"{col}__{'lte' if inclusive else 'lt'}": high})
            return q
        if typ == NUMBER:
            value = self._number(typ, value)
        if op == "between":
            return Q(**{f"{col}__gte": value[0], f"{col}__lte": value[1]})
        lookup = {
            "eq": "exact",
            "gt": "gt",
            "gte": "gte",
            "lt": "lt",
            "lte": "lte",
            "in": "in",
            "contains": "icontains",
            "starts_with": "istartswith",
            "ends_with": "iendswith",
        }[op]
        return Q(**{f"{col}__{lookup}": value})

    def _field_q(self, spec: FieldSpec, op: str, value: Any, positive: Any) -> Q:
        """``positive(op, value) -> Q``; ``neq``/``not_set`` negate ``eq``/``is_set``."""
        if op == "neq":
            return ~positive("eq", value)
        if op == "not_set":
            return ~positive("is_set", None)
        return positive(op, value)

    @staticmethod
    def _zero_ok(op: str, value: Any) -> bool:
        """Does a count or sum of nothing (0) satisfy ``op value``?"""
        if op == "in":
            return 0 in value
        return compare_py(op, 0, value)

    # aggregates ---------------------------------------------------------------------------

    def _aggregate(self, rows: QuerySet, agg: Any, op: str, value: Any, zero: Any) -> Q:
        """``agg`` over each contact's ``rows`` compared with ``op value``.

        ``zero`` is the aggregate of no rows (0 for counts and sums, None for averages).
        """
        if op == "neq":
            return ~self._aggregate(rows, agg, "eq", value, zero)
        zero_ok = zero is not None and self._zero_ok(op, value)
        if self.scoped:
            per_contact = (
                rows.filter(contact_id=OuterRef("pk"))
                .order_by()
                .values("contact_id")
                .annotate(v=agg)
                .values("v")
            )
            expr: Any = Subquery(per_contact)
            # Two-valued results: no rows give ``zero``, or (averages) a plain false.
            known = TRUE
            if zero is not None:
                expr = Coalesce(expr, Value(zero))
            else:
                known = Q(IsNull(expr, False))
            if op == "between":
                return (
                    known
                    & Q(GreaterThanOrEqual(expr, value[0]))
                    & Q(LessThanOrEqual(expr, value[1]))
                )
            return known & Q(_LOOKUPS[op](expr, value))
        having = (
            Q(v__gte=value[0], v__lte=value[1])
            if op == "between"
            else Q(**{f"v__{ {'eq': 'exact'}.get(op, op) }": value})
        )
        grouped = rows.order_by().values("contact_id").annotate(v=agg)
        if zero_ok:  # contacts without rows match: exclude those whose rows fail
            return ~Q(pk__in=grouped.filter(~having).values("contact_id"))
        return Q(pk__in=grouped.filter(having).values("contact_id"))

    def _count(self, rows: QuerySet, op: str, value: Any) -> Q:
        """A per-contact row count compared with ``op value``. Counts are whole and never
        negative, so "= 0" / "< 1" is "no row" and ">= 1" / "> 0" is "some row": plain
        (NOT) EXISTS, which the planners run as anti/semi joins, cheaper than grouping."""
        if op in ("eq", "lt", "lte") and self._zero_ok(op, value) and not compare_py(op, 1, value):
            return ~Q(Exists(rows.filter(contact_id=OuterRef("pk"))))
        if op in ("gt", "gte") and not self._zero_ok(op, value) and compare_py(op, 1, value):
            return Q(Exists(rows.filter(contact_id=OuterRef("pk"))))
        return self._aggregate(rows, Count("id"), op, value, 0)

    def _window(self, rows: QuerySet, column: str, days: int | None) -> QuerySet:
        if days is None:
            return rows
        return rows.filter(
            **{f"{column}__gte": self.now - dt.timedelta(days=days), f"{column}__lte": self.now}
        )
