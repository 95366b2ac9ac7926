"""Per-contact behavioural aggregates: first/last seen, counts per event name, page and
screen views, sessions.

Kept incrementally from each processed batch. A session is a run of events with no gap
longer than ``SESSION_GAP``; late events (older than the contact's last seen) add to counts
but only start a session when they lie before the first one. When history is attached to a
contact (anonymous events identified, or contacts merged) its aggregates are rebuilt from
its events.

The hot path (see docs/performance.md): one raw read of the batch's summaries, and one
multi-row upsert per table (``INSERT ... ON CONFLICT DO UPDATE``, on SQLite and
PostgreSQL alike). Counts per event name are not read at all: the upsert adds to them
in the database (``count = count + excluded.count``), so it stays right however batches
are split between processors. The same goes for each row's ``RECENT_K`` most recent
timestamps (``recent_1`` newest): the batch's own newest K, newest first, are merged into
the stored K by the upsert itself (``_recent_merge``), so late and out-of-order events
land in their place without a read (docs/adr/0060-recent-event-timestamps.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.db import connection
from django.utils import timezone

from patron.events.models import (
    RECENT_FIELDS,
    RECENT_K,
    ContactEventCount,
    ContactEventSummary,
    Event,
)
from patron.events.services._sql import (
    as_text,
    datetime_adapter,
    from_db_datetime,
    select_in,
    upsert_many,
)

SESSION_GAP = dt.timedelta(minutes=30)
_PAGE = Event.Type.PAGE.value
_SCREEN = Event.Type.SCREEN.value
_TRACK = Event.Type.TRACK.value
SUMMARY_COLUMNS = (
    "contact_id",
    "first_seen",
    "last_seen",
    "event_count",
    "page_views",
    "screen_views",
    "sessions",
    "updated_at",
)


def _summaries(ids: list[int]) -> dict[int, list[Any]]:
    """contact id -> [first_seen, last_seen, event_count, page_views, screen_views, sessions]."""
    qn = connection.ops.quote_name
    table = qn(ContactEventSummary._meta.db_table)
    out: dict[int, list[Any]] = {}
    for cid, first, last, count, pages, screens, sessions in select_in(
        f"SELECT contact_id, {as_text('first_seen')}, {as_text('last_seen')}, "  # noqa: S608
        f"event_count, page_views, screen_views, sessions FROM {table} WHERE contact_id IN",
        [],
        ids,
    ):
        out[cid] = [
            from_db_datetime(first),
            from_db_datetime(last),
            count,
            pages,
            screens,
            sessions,
        ]
    return out


COUNT_COLUMNS = ("contact_id", "event", "count", "first_at", "last_at", *RECENT_FIELDS)


def _recent_merge(i: int) -> Callable[[str], str]:
    """The upsert's expression for ``recent_i``: the i-th newest of the stored K and the
    batch's K (both newest first, NULL past the end).

    The i-th largest of the union of two descending lists a and b is the largest of
    ``min(a_j, b_(i-j))`` over j = 0..i, with a_0 = b_0 = +infinity: so
    ``max(a_i, b_i, min(a_1, b_(i-1)), ..., min(a_(i-1), b_1))``. NULL counts as -infinity
    (a sentinel below every timestamp, turned back into NULL at the end): scalar
    GREATEST/LEAST (MAX/MIN on SQLite) only, no subquery: i + 1 terms for ``recent_i``.
    """
    pg = connection.vendor == "postgresql"
    qn = connection.ops.quote_name
    bottom = "'-infinity'::timestamptz" if pg else "''"
    greatest, least = ("GREATEST", "LEAST") if pg else ("MAX", "MIN")

    def expression(table: str) -> str:
        def old(j: int) -> str:
            return f"COALESCE({table}.{qn(RECENT_FIELDS[j - 1])}, {bottom})"

        def new(j: int) -> str:
            return f"COALESCE(excluded.{qn(RECENT_FIELDS[j - 1])}, {bottom})"

        terms = [old(i), new(i)] + [f"{least}({old(j)}, {new(i - j)})" for j in range(1, i)]
        return f"NULLIF({greatest}({', '.join(terms)}), {bottom})"

    return expression


def aggregates_current(ids: list[int]) -> dict[int, list[Any]]:
    """The stored summaries of contacts, as ``aggregates_apply`` takes them (``current``)."""
    return _summaries(ids) if ids else {}


def aggregates_apply(
    events_by_contact: Mapping[int, Iterable[tuple[str, str, dt.datetime]]],
    *,
    current: dict[int, list[Any]] | None = None,
) -> None:
    """Add (type, event name, timestamp) rows to their contacts' aggregates.

    ``current``: the contacts' summaries read before (``aggregates_current``), so the
    processor can read them before its pipelined writes; read here when None."""
    if not events_by_contact:
        return
    if current is None:
        current = _summaries(list(events_by_contact))
    db_value = datetime_adapter()
    now = db_value(timezone.now())
    summary_rows: list[tuple[Any, ...]] = []
    count_rows: list[tuple[Any, ...]] = []
    for contact_id, rows in events_by_contact.items():
        s = current.get(contact_id)
        counts: dict[str, list[Any]] = {}
        for kind, name, at in sorted(rows, key=lambda r: r[2]):
            if s is None or s[2] == 0:
                s = [at, at, 0, 0, 0, 1]
            elif at >= s[1]:
                if at - s[1] > SESSION_GAP:
                    s[5] += 1
                s[1] = at
            elif at < s[0]:
                if s[0] - at > SESSION_GAP:
                    s[5] += 1
                s[0] = at
            s[2] += 1
            if kind == _PAGE:
                s[3] += 1
            elif kind == _SCREEN:
                s[4] += 1
            elif kind == _TRACK and name:
                entry = counts.get(name)
                if entry is None:
                    counts[name] = [1, at, at, [at]]
                else:  # rows are in time order
                    entry[0] += 1
                    entry[2] = at
                    entry[3].append(at)
        if s is None:
            continue
        summary_rows.append(
            (contact_id, db_value(s[0]), db_value(s[1]), s[2], s[3], s[4], s[5], now)
        )
        for name, (count, first_at, last_at, times) in counts.items():
            recent = [db_value(t) for t in reversed(times[-RECENT_K:])]
            recent += [None] * (RECENT_K - len(recent))
            count_rows.append(
                (contact_id, name, count, db_value(first_at), db_value(last_at), *recent)
            )
    upsert_many(
        ContactEventSummary,
        SUMMARY_COLUMNS,
        summary_rows,
        conflict=("contact_id",),
        update=dict.fromkeys(SUMMARY_COLUMNS[1:], "excluded"),
    )
    upsert_many(
        ContactEventCount,
        COUNT_COLUMNS,
        count_rows,
        conflict=("contact_id", "event"),
        update={
            "count": "add",
            "first_at": "min",
            "last_at": "max",
            **{f: _recent_merge(i) for i, f in enumerate(RECENT_FIELDS, start=1)},
        },
    )


def aggregates_rebuild(contact_ids: Iterable[int]) -> None:
    """Recompute contacts' aggregates from all their events."""
    for contact_id in set(contact_ids):
        ContactEventSummary.objects.filter(contact_id=contact_id).delete()
        ContactEventCount.objects.filter(contact_id=contact_id).delete()
        rows = list(
            Event.objects.filter(contact_id=contact_id, processed=True)
            .order_by("timestamp", "id")
            .values_list("type", "event", "timestamp")
        )
        if rows:
            aggregates_apply({contact_id: rows})
