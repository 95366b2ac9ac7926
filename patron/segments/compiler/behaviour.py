"""Behaviour conditions: events (counts, windows, recent timestamps, properties, first and
last time), purchases (orders, spend, products), open tickets and survey scores."""

from __future__ import annotations

import datetime as dt
import operator
from decimal import Decimal
from functools import reduce
from typing import Any

from django.db.models import (
    Avg,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    In,
    LessThanOrEqual,
)

from patron.commerce.models import ContactPurchaseSummary, Order, OrderLine
from patron.commerce.summary import AverageOrderValue
from patron.events.models import (
    RECENT_FIELDS,
    RECENT_K,
    ContactEventCount,
    Event,
)
from patron.segments.compiler.base import (
    _COUNT_OPS,
    _LOOKUPS,
    COUNTED_ORDER_STATUSES,
    OPEN_TICKET_STATUSES,
    TRUE,
    CompilerBase,
    _lk,
)
from patron.segments.jsonexpr import JsonBool, JsonNumber, JsonPresent, JsonText
from patron.segments.rules.catalogue import DATETIME, NUMBER
from patron.support.models import SurveyResponse, Ticket


class BehaviourConditions(CompilerBase):
    def _c_event(self, c: dict[str, Any]) -> Q:
        op, count = _COUNT_OPS[c["op"]], c["count"]
        if c["within_days"] is None and not c["where"]:
            # The per-contact aggregates hold every count: one indexed row per contact.
            rows = ContactEventCount.objects.filter(contact_id=OuterRef("pk"), event=c["event"])
            if self._zero_ok(op, count):
                return ~Q(Exists(rows.filter(~Q(**{f"count__{_lk(op)}": count}))))
            return Q(Exists(rows.filter(**{f"count__{_lk(op)}": count})))
        # contact_id IS NOT NULL: the event indexes are partial on it (ADR 0073), and the
        # grouped form below (contact_id IN (... GROUP BY contact_id)) implies it nowhere.
        events: QuerySet[Any] = Event.objects.filter(
            type=Event.Type.TRACK, event=c["event"], processed=True, contact__isnull=False
        )
        events = self._window(events, "timestamp", c["within_days"])
        for w in c["where"]:
            events = events.filter(self._property(w))
        # "At least once" / "never" stay (NOT) EXISTS over the events' index: at full scale
        # that is faster on PostgreSQL than scanning every aggregate row of the name
        # (cart abandoners 342 vs 536 ms; docs/performance.md, "Segments").
        once = (op, count) in (("gte", 1), ("eq", 0), ("lte", 0))
        if not c["where"] and not once and count <= RECENT_K - (op != "gte"):
            return self._recent(c["event"], op, count, c["within_days"], events)
        if (op, count) == ("gte", 1):
            return Q(Exists(events.filter(contact_id=OuterRef("pk"))))
        if (op, count) in (("eq", 0), ("lte", 0)):
            return ~Q(Exists(events.filter(contact_id=OuterRef("pk"))))
        return self._aggregate(events, Count("id"), op, count, 0)

    def _recent(self, event: str, op: str, n: int, days: int, events: QuerySet) -> Q:
        """Performed ``event`` ``op`` n times in the last ``days``, from the aggregate row's
        ``RECENT_K`` newest timestamps (ADR 0060), exact in both modes:

        - c = how many stored timestamps lie in the window [now - days, now];
        - the row is *complete* for the window when every in-window event is stored:
          it has at most K events, or the K-th newest is before the window;
        - otherwise (only with K events in the window or in the future) the true count
          is c or more: c alone decides ">= n" when c >= n and "<= n" / "= n" when c > n
          (hence n <= K, resp. n < K); what is left is counted from the events, for
          those rows only (correlated, over ``event_contact_name_pidx``).

        Contacts without a row have count 0. A row can pass (negated form: fail) only if
        its n-th (n+1-th) newest timestamp is at or after the window's start: a cheap
        first filter.
        """
        if (op, n) == ("gte", 0):
            return TRUE
        since = self.now - dt.timedelta(days=days)
        stored = [
            Case(
                When(Q(**{f"{f}__gte": since, f"{f}__lte": self.now}), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
            for f in RECENT_FIELDS
        ]
        c = reduce(operator.add, stored)
        complete = Q(count__lte=RECENT_K) | Q(**{f"{RECENT_FIELDS[-1]}__lt": since})
        counted = events.filter(contact_id=OuterRef("contact_id")).order_by()
        total = Subquery(counted.values("contact_id").annotate(n=Count("id")).values("n"))

        def rest(lookup: Any) -> Q:  # the true count, for incomplete rows only
            return ~complete & Q(lookup(Coalesce(total, Value(0)), n))

        rows = ContactEventCount.objects.filter(contact_id=OuterRef("pk"), event=event)
        if self._zero_ok(op, n):  # at most n, exactly 0 (= at most 0): no row failing
            fails = Q(GreaterThan(c, n)) | rest(GreaterThan)
            first = Q(**{f"{RECENT_FIELDS[n]}__gte": since})
            return ~Q(Exists(rows.filter(first).filter(fails)))
        if op == "gte":
            passes = Q(GreaterThanOrEqual(c, n)) | rest(GreaterThanOrEqual)
        else:  # exactly n >= 1
            passes = (complete & Q(Exact(c, n))) | (Q(LessThanOrEqual(c, n)) & rest(Exact))
        first = Q(**{f"{RECENT_FIELDS[n - 1]}__gte": since})
        return Q(Exists(rows.filter(first).filter(passes)))

    def _property(self, w: dict[str, Any]) -> Q:
        """One event property filter, as a non-NULL boolean condition on the event row."""
        name, op = w["property"], w["op"]
        value: Any = w.get("value")
        if op == "is_set":
            return Q(JsonPresent("properties", name))
        if op == "not_set":
            return ~Q(JsonPresent("properties", name))
        if op == "neq":
            positive = self._property({**w, "op": "eq"})
            flag = Case(
                When(positive, then=Value(1)), default=Value(0), output_field=IntegerField()
            )
            return Q(Exact(flag, 0))
        sample = value[0] if isinstance(value, list) else value
        if op in ("gt", "gte", "lt", "lte"):
            return Q(_LOOKUPS[op](JsonNumber("properties", name), float(value)))
        if op == "contains":
            return Q(IContains(JsonText("properties", name), value))
        if isinstance(sample, bool):
            expr: Any = JsonBool("properties", name)
        elif isinstance(sample, (int, float)):
            expr = JsonNumber("properties", name)
            value = [float(v) for v in value] if isinstance(value, list) else float(value)
        else:
            expr = JsonText("properties", name)
        return Q(In(expr, value)) if op == "in" else Q(Exact(expr, value))

    def _c_event_time(self, c: dict[str, Any]) -> Q:
        column = "first_at" if c["which"] == "first" else "last_at"
        pred = self.predicate(column, DATETIME, c["op"], c["value"], text_blank=False)
        rows = ContactEventCount.objects.filter(pred, contact_id=OuterRef("pk"), event=c["event"])
        return Q(Exists(rows))

    def _orders(self, days: int | None) -> QuerySet:
        rows = Order.objects.filter(status__in=COUNTED_ORDER_STATUSES)
        return self._window(rows, "placed_at", days)

    def _c_orders(self, c: dict[str, Any]) -> Q:
        value = self._number(NUMBER, c["value"])
        if c["within_days"] is None:
            return self._purchases(c["measure"], c["op"], value)
        return self._grouped_orders(c["measure"], c["op"], value, c["within_days"])

    def _grouped_orders(self, measure: str, op: str, value: Any, days: int | None) -> Q:
        """A purchase condition from the orders themselves, grouped per contact."""
        rows = self._orders(days)
        if measure == "count":
            return self._count(rows, op, value)
        net = F("total") - F("refunded_amount")
        if measure == "total":
            return self._aggregate(rows, Sum(net), op, value, Decimal(0))
        return self._aggregate(rows, Avg(net), op, value, None)

    def _purchases(self, measure: str, op: str, value: Any) -> Q:
        """A purchase condition over all time, from the per-contact purchase summary (one
        indexed row per buyer, ADR 0061) instead of grouping the orders. A contact without
        a row has count 0, total 0 and no average, as the grouped orders gave."""
        if op == "neq":
            return ~self._purchases(measure, "eq", value)
        rows = ContactPurchaseSummary.objects.filter(contact_id=OuterRef("pk"))
        if measure == "average":
            avg = AverageOrderValue()
            if op == "between":
                pred = Q(GreaterThanOrEqual(avg, value[0])) & Q(LessThanOrEqual(avg, value[1]))
            else:
                pred = Q(_LOOKUPS[op](avg, value))
            return self._buyers(pred)
        count = measure == "count"
        column = "order_count" if count else "total"
        pred = self.predicate(column, NUMBER, op, value, text_blank=False, integer=count)
        if self._zero_ok(op, value):  # contacts without a row match: exclude failing rows
            return ~Q(Exists(rows.filter(~pred)))
        return self._buyers(pred)

    def _buyers(self, pred: Q) -> Q:
        """Contacts whose summary row satisfies ``pred``: a correlated EXISTS in scoped
        mode; over the whole table ``id IN (SELECT contact_id ...)``, which SQLite drives
        from the summary rows (its EXISTS probed every contact: 0.41 s against 0.19 s) and
        PostgreSQL plans as the same semi-join as EXISTS (measured equal)."""
        if self.scoped:
            rows = ContactPurchaseSummary.objects.filter(pred, contact_id=OuterRef("pk"))
            return Q(Exists(rows))
        return Q(pk__in=ContactPurchaseSummary.objects.filter(pred).values("contact_id"))

    def _c_bought(self, c: dict[str, Any]) -> Q:
        rows = OrderLine.objects.filter(
            contact_id=OuterRef("pk"), order__status__in=COUNTED_ORDER_STATUSES
        )
        rows = (
            rows.filter(sku=c["value"])
            if c["by"] == "product"
            else rows.filter(category=c["value"])
        )
        rows = self._window(rows, "order__placed_at", c["within_days"])
        return Q(Exists(rows))

    def _c_tickets(self, c: dict[str, Any]) -> Q:
        rows = Ticket.objects.filter(status__in=OPEN_TICKET_STATUSES)
        return self._count(rows, c["op"], c["value"])

    def _c_survey(self, c: dict[str, Any]) -> Q:
        op = c["op"]
        if op in ("neq", "not_set"):
            positive = {**c, "op": "eq" if op == "neq" else "is_set"}
            return ~self._c_survey(positive)
        rows = SurveyResponse.objects.filter(contact_id=OuterRef("pk"), kind=c["survey"])
        if op == "is_set":
            return Q(Exists(rows))
        newer = SurveyResponse.objects.filter(
            contact_id=OuterRef("contact_id"), kind=c["survey"]
        ).filter(
            Q(responded_at__gt=OuterRef("responded_at"))
            | Q(responded_at=OuterRef("responded_at"), id__gt=OuterRef("id"))
        )
        value = c["value"]
        if op == "between":
            pred = Q(score__gte=value[0], score__lte=value[1])
        else:
            pred = Q(**{f"score__{_lk(op)}": value})
        return Q(Exists(rows.filter(pred).filter(~Exists(newer))))
