"""Time triggers: when can the passing of time alone change a contact's membership?

For each condition with a relative window the answer flips only when "now" crosses a
boundary derived from the contact's own data: ``created_at + 30 days`` for "created in
the last 30 days", the oldest in-window event + N days for "performed X ... in the last
N days", midnight before/after a birthday for anniversaries, and so on. ``timers_refresh``
stores, per (segment, contact), the earliest such moment; ``segments_tick`` re-evaluates
exactly the contacts that are due, and the next tick is scheduled at the earliest timer.
Boundaries may be early (a check that changes nothing is harmless), never late.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from patron.commerce.models import Order, OrderLine
from patron.contacts.models import Contact, CustomFieldValue
from patron.events.models import (
    RECENT_FIELDS,
    RECENT_K,
    ContactEventCount,
    ContactEventSummary,
    Event,
)
from patron.segments.compiler import COUNTED_ORDER_STATUSES, day_start
from patron.segments.models import Segment, SegmentTimer
from patron.segments.rules import Catalogue, RuleError, validate
from patron.segments.rules.catalogue import DATE
from patron.segments.rules.deps import is_time_condition
from patron.segments.rules.tree import conditions

BATCH = 2000
#: Up to this many eligible contacts, timers are computed by id batches, not a full pass.
ELIGIBLE_PROBE = 100_000
_DAY = dt.timedelta(days=1)
_TICK = dt.timedelta(microseconds=1)


def _datetime_offsets(op: str, n: int) -> tuple[int, ...]:
    """Offsets e (days) such that the answer flips when now + e crosses the value."""
    return {"in_last_days": (-n, 0), "in_next_days": (0, n), "older_than_days": (-n,)}[op]


def _next_datetime(value: dt.datetime, op: str, n: int, now: dt.datetime) -> dt.datetime | None:
    # Some flips happen the moment *after* the boundary (strict comparisons: "older than
    # N days" is value < now - N days). A tick exactly at the boundary sees no change and
    # must still find the next moment, so each boundary also yields boundary + 1 µs.
    times = [value - dt.timedelta(days=e) for e in _datetime_offsets(op, n)]
    times += [t + _TICK for t in times]
    later = [t for t in times if t > now]
    return min(later) if later else None


def _next_date(value: dt.date, op: str, n: int, now: dt.datetime) -> dt.datetime | None:
    """Date fields flip at local midnight; the day of each flip for a date value."""
    if op == "in_last_days":  # today - n <= v <= today
        days = [value, value + dt.timedelta(days=n + 1)]
    elif op == "in_next_days":  # today <= v <= today + n
        days = [value - dt.timedelta(days=n), value + _DAY]
    elif op == "older_than_days":  # v < today - n
        days = [value + dt.timedelta(days=n + 1)]
    else:  # anniversary within n days: the next occurrence, entered n days before
        today = timezone.localdate(now)
        occurrence = _next_occurrence(value, today)
        days = [occurrence - dt.timedelta(days=n), occurrence + _DAY]
        # One day early as well: month/day windows around 29 February may shift by a day.
        days += [d - _DAY for d in days]
    moments = [day_start(d) for d in days]
    later = [m for m in moments if m > now]
    return min(later) if later else None


def _next_occurrence(value: dt.date, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1, today.year + 2, today.year + 4):
        try:
            candidate = value.replace(year=year)
        except ValueError:  # 29 February in a common year: count it as 1 March
            candidate = dt.date(year, 3, 1)
        if candidate >= today:
            return candidate
    return today + dt.timedelta(days=366)


def _scope(qs: QuerySet[Any], column: str, ids: list[int] | None) -> Iterable[QuerySet[Any]]:
    if ids is None:
        yield qs
        return
    for i in range(0, len(ids), BATCH):
        yield qs.filter(**{f"{column}__in": ids[i : i + BATCH]})


def _window_due(
    rows: QuerySet[Any],
    column: str,
    contact: str,
    days: int,
    now: dt.datetime,
    ids: list[int] | None,
) -> dict[int, dt.datetime]:
    """Per contact: the earliest moment a row enters or leaves the last-``days`` window."""
    out: dict[int, dt.datetime] = {}
    since = now - dt.timedelta(days=days)
    for part in _scope(rows.filter(**{f"{column}__gte": since}), contact, ids):
        grouped = (
            part.order_by()
            .values(contact)
            .annotate(oldest=Min(column), future=Min(column, filter=Q(**{f"{column}__gt": now})))
        )
        for row in grouped:
            out[row[contact]] = _due(row["oldest"], row["future"], days, now)
    return out


def _due(
    oldest: dt.datetime, future: dt.datetime | None, days: int, now: dt.datetime
) -> dt.datetime:
    """The next moment a window count can change, given the oldest row at or after the
    window's start and the first row after now."""
    # The compiled window is inclusive (since <= t <= now): a row at exactly ``since`` is
    # still in, and leaves the moment after ``t + days``.
    candidates = [oldest + dt.timedelta(days=days, microseconds=1)]
    if future is not None:
        candidates.append(future)
    if oldest > now:
        candidates.append(oldest)
    return min(c for c in candidates if c > now)


def _event_window_due(
    event: str, days: int, now: dt.datetime, ids: list[int] | None
) -> dict[int, dt.datetime]:
    """``_window_due`` over the event's rows, from the aggregate rows' recent timestamps
    (ADR 0060) where they hold every event since the window's start (at most K events,
    or the K-th newest before it): the same oldest and first-future times. The other
    contacts' (K or more events since the start) from the events."""
    out: dict[int, dt.datetime] = {}
    since = now - dt.timedelta(days=days)
    rest: list[int] = []
    rows = ContactEventCount.objects.filter(event=event, recent_1__gte=since)
    for part in _scope(rows, "contact_id", ids):
        for cid, count, *recent in part.values_list("contact_id", "count", *RECENT_FIELDS).iterator(
            chunk_size=5000
        ):
            if count > RECENT_K and (recent[-1] is None or recent[-1] >= since):
                rest.append(cid)
                continue
            times = [t for t in recent if t is not None and t >= since]
            future = min((t for t in times if t > now), default=None)
            out[cid] = _due(min(times), future, days, now)
    if rest:
        events = Event.objects.filter(type=Event.Type.TRACK, event=event, processed=True)
        out.update(_window_due(events, "timestamp", "contact_id", days, now, sorted(rest)))
    return out


def _condition_due(
    c: dict[str, Any], catalogue: Catalogue, now: dt.datetime, ids: list[int] | None
) -> dict[int, dt.datetime]:
    out: dict[int, dt.datetime] = {}

    def keep(cid: int, when: dt.datetime | None) -> None:
        if when is not None and (cid not in out or when < out[cid]):
            out[cid] = when

    kind = c["kind"]
    if kind == "field":
        spec = catalogue.fields[c["field"]]
        op, n = c["op"], c["value"]
        if spec.source == "contact":
            rows: QuerySet[Any] = Contact.objects.filter(**{f"{spec.column}__isnull": False})
            for part in _scope(rows, "pk", ids):
                for cid, value in part.values_list("pk", spec.column).iterator(chunk_size=5000):
                    keep(cid, _next(spec.type, value, op, n, now))
        elif spec.source == "custom":
            rows = CustomFieldValue.objects.filter(
                field_id=spec.custom_field_id, value_date__isnull=False
            )
            for part in _scope(rows, "contact_id", ids):
                for cid, value in part.values_list("contact_id", "value_date").iterator():
                    keep(cid, _next(DATE, value, op, n, now))
        elif spec.source == "summary":
            rows = ContactEventSummary.objects.all()
            for part in _scope(rows, "contact_id", ids):
                for cid, value in part.values_list("contact_id", spec.column).iterator():
                    keep(cid, _next(spec.type, value, op, n, now))
        return out
    if kind == "event_time":
        column = "first_at" if c["which"] == "first" else "last_at"
        rows = ContactEventCount.objects.filter(event=c["event"])
        for part in _scope(rows, "contact_id", ids):
            for cid, value in part.values_list("contact_id", column).iterator():
                keep(cid, _next("datetime", value, c["op"], c["value"], now))
        return out
    days = c["within_days"]
    if kind == "event":  # (property filters ignored: early boundaries are harmless)
        return _event_window_due(c["event"], days, now, ids)
    if kind == "orders":
        rows = Order.objects.filter(status__in=COUNTED_ORDER_STATUSES)
        return _window_due(rows, "placed_at", "contact_id", days, now, ids)
    if kind == "bought":
        rows = OrderLine.objects.filter(order__status__in=COUNTED_ORDER_STATUSES)
        rows = rows.filter(**{"sku" if c["by"] == "product" else "category": c["value"]})
        return _window_due(rows, "order__placed_at", "contact_id", days, now, ids)
    return out


def _next(typ: str, value: Any, op: str, n: int, now: dt.datetime) -> dt.datetime | None:
    if value is None:
        return None
    if typ == DATE:
        return _next_date(value, op, n, now)
    return _next_datetime(value, op, n, now)


def _eligible(
    tree: dict[str, Any], catalogue: Catalogue, now: dt.datetime, ids: list[int] | None
) -> list[int] | None:
    """Contacts that time alone could move, when the tree says so cheaply; None: anyone.

    In a top-level AND, a contact failing a conjunct without a time condition is not a
    member and cannot become one by time passing: only a change of its data can, and
    that change re-evaluates it and refreshes its timer. So only contacts meeting every
    time-free conjunct need timers (at 1M contacts this skips most of them).
    """
    from patron.segments.compiler import Compiler
    from patron.segments.dbsession import evaluation

    parts = tree.get("and")
    if not parts:
        return None
    fixed = [p for p in parts if not any(is_time_condition(c) for c in conditions(p))]
    if not fixed or len(fixed) == len(parts):
        return None
    sub = {"and": fixed}
    if ids is None:
        qs = Compiler(catalogue, now=now).queryset(sub)
        with evaluation():
            return sorted(qs.values_list("pk", flat=True))
    compiler = Compiler(catalogue, now=now, scoped=True)
    out: list[int] = []
    for i in range(0, len(ids), BATCH):
        base = Contact.objects.filter(pk__in=ids[i : i + BATCH])
        out += compiler.queryset(sub, base).values_list("pk", flat=True)
    return sorted(out)


def due_times(
    tree: dict[str, Any], catalogue: Catalogue, now: dt.datetime, ids: list[int] | None
) -> dict[int, dt.datetime]:
    """Per contact, the earliest boundary of any time condition of the tree after ``now``."""
    out: dict[int, dt.datetime] = {}
    eligible = _eligible(tree, catalogue, now, ids)
    if eligible is not None:
        if not eligible:
            return out
        # Few: probe them by id; many: one pass over everyone, filtered here.
        ids = eligible if len(eligible) <= ELIGIBLE_PROBE else ids
    keep = None if eligible is None else set(eligible)
    for c in conditions(tree):
        if not is_time_condition(c):
            continue
        for cid, when in _condition_due(c, catalogue, now, ids).items():
            if keep is not None and cid not in keep:
                continue
            if cid not in out or when < out[cid]:
                out[cid] = when
    return out


def timers_refresh(
    *,
    segment: Segment,
    catalogue: Catalogue,
    now: dt.datetime,
    contact_ids: Iterable[int] | None,
) -> int:
    """Replace the segment's timers (of ``contact_ids``, or all); returns how many set."""
    ids = None if contact_ids is None else sorted(set(contact_ids))
    existing = SegmentTimer.objects.filter(segment=segment)
    if ids is None:
        existing.delete()
    else:
        for i in range(0, len(ids), BATCH):
            existing.filter(contact_id__in=ids[i : i + BATCH]).delete()
    try:
        tree = validate(segment.rules, catalogue)
    except RuleError:
        return 0
    due = due_times(tree, catalogue, now, ids)
    SegmentTimer.objects.bulk_create(
        (SegmentTimer(segment=segment, contact_id=cid, due_at=at) for cid, at in due.items()),
        batch_size=BATCH,
    )
    if due:
        from patron.segments.tasks import tick_schedule

        tick_schedule(min(due.values()))
    return len(due)


def timers_due(*, now: dt.datetime, limit: int) -> dict[int, list[int]]:
    """{segment: [contacts]} whose timers are due, oldest first, at most ``limit``."""
    out: dict[int, list[int]] = defaultdict(list)
    rows = (
        SegmentTimer.objects.filter(due_at__lte=now)
        .order_by("due_at")
        .values_list("segment_id", "contact_id")[:limit]
    )
    for segment_id, contact_id in rows:
        out[segment_id].append(contact_id)
    return dict(out)


def timers_clear(*, segment_id: int, contact_ids: list[int]) -> None:
    SegmentTimer.objects.filter(segment_id=segment_id, contact_id__in=contact_ids).delete()


def next_due() -> dt.datetime | None:
    return SegmentTimer.objects.order_by("due_at").values_list("due_at", flat=True).first()
