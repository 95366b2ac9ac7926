"""Per-contact behavioural aggregates: first/last seen, counts per event name, page and
screen views, sessions.

Kept incrementally from each processed batch (one read and one bulk write per table per
batch). A session is a run of events with no gap longer than ``SESSION_GAP``; late events
(older than the contact's last seen) add to counts but only start a session when they
lie before the first one. When history is attached to a contact (anonymous events
identified, or contacts merged) its aggregates are rebuilt from its events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from patron.events.models import ContactEventCount, ContactEventSummary, Event
from patron.events.services._sql import update_many

SESSION_GAP = dt.timedelta(minutes=30)


class _Acc:
    """An accumulator of one contact's aggregates."""

    def __init__(self, summary: ContactEventSummary | None) -> None:
        self.summary = summary
        self.counts: dict[str, list[Any]] = {}  # event -> [count, first_at, last_at]

    def add(self, kind: str, name: str, at: dt.datetime) -> None:
        s = self.summary
        assert s is not None
        if s.event_count == 0:
            s.first_seen = s.last_seen = at
            s.sessions = 1
        elif at >= s.last_seen:
            if at - s.last_seen > SESSION_GAP:
                s.sessions += 1
            s.last_seen = at
        elif at < s.first_seen:
            if s.first_seen - at > SESSION_GAP:
                s.sessions += 1
            s.first_seen = at
        s.event_count += 1
        if kind == Event.Type.PAGE:
            s.page_views += 1
        elif kind == Event.Type.SCREEN:
            s.screen_views += 1
        if kind == Event.Type.TRACK and name:
            entry = self.counts.get(name)
            if entry is None:
                self.counts[name] = [1, at, at]
            else:
                entry[0] += 1
                entry[1] = min(entry[1], at)
                entry[2] = max(entry[2], at)


def _blank(contact_id: int) -> ContactEventSummary:
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return ContactEventSummary(contact_id=contact_id, first_seen=epoch, last_seen=epoch)


def aggregates_apply(
    events_by_contact: Mapping[int, Iterable[tuple[str, str, dt.datetime]]],
) -> None:
    """Add (type, event name, timestamp) rows to their contacts' aggregates."""
    if not events_by_contact:
        return
    ids = list(events_by_contact)
    summaries = {s.contact_id: s for s in ContactEventSummary.objects.filter(contact_id__in=ids)}
    accs: dict[int, _Acc] = {}
    names: set[str] = set()
    for contact_id, rows in events_by_contact.items():
        acc = accs[contact_id] = _Acc(summaries.get(contact_id) or _blank(contact_id))
        for kind, name, at in sorted(rows, key=lambda r: r[2]):
            acc.add(kind, name, at)
        names.update(acc.counts)
    new = [a.summary for c, a in accs.items() if c not in summaries]
    old = [a.summary for c, a in accs.items() if c in summaries]
    ContactEventSummary.objects.bulk_create(new, batch_size=500)  # type: ignore[arg-type]
    columns = ["first_seen", "last_seen", "event_count", "page_views", "screen_views", "sessions"]
    update_many(
        ContactEventSummary,
        columns,
        [[getattr(s, c) for c in columns] + [s.contact_id] for s in old],  # type: ignore[union-attr]
    )
    if not names:
        return
    existing: dict[tuple[int, str], ContactEventCount] = {}
    with_counts = [c for c, acc in accs.items() if acc.counts]
    for i in range(0, len(with_counts), 500):
        chunk = with_counts[i : i + 500]
        for row in ContactEventCount.objects.filter(contact_id__in=chunk, event__in=names):
            existing[(row.contact_id, row.event)] = row
    create: list[ContactEventCount] = []
    update: list[ContactEventCount] = []
    for contact_id, acc in accs.items():
        for name, (count, first_at, last_at) in acc.counts.items():
            found = existing.get((contact_id, name))
            if found is None:
                create.append(
                    ContactEventCount(
                        contact_id=contact_id,
                        event=name,
                        count=count,
                        first_at=first_at,
                        last_at=last_at,
                    )
                )
            else:
                found.count += count
                found.first_at = min(found.first_at, first_at)
                found.last_at = max(found.last_at, last_at)
                update.append(found)
    ContactEventCount.objects.bulk_create(create, batch_size=500)
    update_many(
        ContactEventCount,
        ["count", "first_at", "last_at"],
        [(r.count, r.first_at, r.last_at, r.pk) for r in update],
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
