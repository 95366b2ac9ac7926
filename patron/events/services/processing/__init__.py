"""The event processor: identity, profiles, companies, orders and aggregates, in batches.

Durability: accepted events are stored with ``processed=False``. A batch takes the oldest
unprocessed events and does all its work, including flipping ``processed``, in one
transaction. A crash (or a killed worker) rolls the batch back whole, so the next run
starts exactly where the last committed batch ended: nothing is lost, nothing counted twice.

One processor runs at a time (a PostgreSQL advisory lock; on SQLite write transactions
are serialised already), so identity resolution never races with itself.

The package: this module runs batches (the loop, one batch's steps); ``reading`` reads
and decodes waiting events, ``marking`` writes the processed marks and holds the
contacts, ``traits`` skips identify traits applied already.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from patron.contacts.models import Contact, CustomField
from patron.core.services import workspace_get
from patron.events.models import ContactTraits, Event, RejectedMessage, Source
from patron.events.services._prefetch import Prefetcher, prefetching
from patron.events.services._wal import checkpoints_aside, page_cache
from patron.events.services.aggregates import (
    aggregates_apply,
    aggregates_current,
    aggregates_rebuild,
)
from patron.events.services.commerce import is_commerce, order_from_event
from patron.events.services.identity import Resolver, SystemActor
from patron.events.services.identity.erased import erased_events_drop, erased_events_split
from patron.events.services.ingest import rejections_record
from patron.events.services.processing.marking import (
    StaleBatch,
    _held_contacts,
    _marking,
    contacts_hold,
    events_mark_processed,
    int_array,
)
from patron.events.services.processing.reading import (
    _GROUP,
    _IDENTIFY,
    _TRACK,
    _events_from_rows,
    _late_sql,
    _oldest_unprocessed,
    oldest_unprocessed_sql,
    unprocessed_sql,
)
from patron.events.services.processing.traits import _unchanged_traits_skipped
from patron.events.services.profile import (
    Problems,
    ProfileWrites,
    profile_apply_group,
    profile_apply_traits,
)

__all__ = [
    "BATCH_SIZE",
    "BATCH_SIZE_BY_VENDOR",
    "StaleBatch",
    "contacts_hold",
    "default_batch_size",
    "events_mark_processed",
    "events_process_batch",
    "events_process_batches",
    "events_process_pending",
    "int_array",
    "oldest_unprocessed_sql",
    "unprocessed_sql",
]


#: Most events per batch (one transaction; a batch takes what is waiting, up to this).
#: Larger batches spread each batch's fixed costs (queries per table, the commit) over
#: more events: 4,000 instead of 1,000 processed 17 % (PostgreSQL) and 48 % (SQLite)
#: more events per second. On PostgreSQL 8,000 instead of 4,000 processed 7-29 % more
#: (fourth pass, in-process, alternated; a batch is then about 1 s). On SQLite it was
#: 2,000 so that a batch held the one write lock against ingest for 0.3 s at most; at
#: 8,000 a batch rewrites each index page once instead of four times (SQLite's commit
#: writes whole pages): 26-36 % more events/s over HTTP, and single /v1/track calls
#: beside a working processor kept the same p99 (batches are only big when a backlog
#: waits). Stop 14 in docs/performance.md; ``PATRON_PROCESSOR_BATCH_SIZE`` overrides.
BATCH_SIZE = 1000
BATCH_SIZE_BY_VENDOR = {"postgresql": 8000, "sqlite": 8000}


def default_batch_size() -> int:
    """``PATRON_PROCESSOR_BATCH_SIZE`` if set (above 0), else the database's default."""
    if settings.PATRON_PROCESSOR_BATCH_SIZE > 0:
        return int(settings.PATRON_PROCESSOR_BATCH_SIZE)
    return BATCH_SIZE_BY_VENDOR.get(connection.vendor, BATCH_SIZE)


_LOCK_KEY = 7_302_041  # pg advisory lock id of the event processor


def _lock() -> None:
    """The processor's lock (PostgreSQL), and its transaction committed without waiting
    for the WAL flush (``synchronous_commit`` off, for this transaction only).

    Safe for exactly-once: a batch is one transaction, so a server crash can only lose
    whole batches, which are then still unprocessed and done again; and any later
    transaction that commits normally (an edit of a contact this batch created, the
    next ingest) flushes the WAL up to and including the batch's commit first. The
    commit's flush was 6-16 % of a batch's wall time (docs/performance.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), set_config('synchronous_commit', 'off', true)",
                [_LOCK_KEY],
            )


def events_process_pending(
    *, max_seconds: float = 60.0, batch_size: int | None = None
) -> tuple[int, bool]:
    """Process batches until none is left or time runs out: (processed, more left?).

    See ``events_process_batches`` (WAL checkpoints aside on SQLite, the next batch read
    meanwhile)."""
    deadline = time.monotonic() + max_seconds
    total = 0
    for done in events_process_batches(deadline=deadline, batch_size=batch_size):
        total += done
    if time.monotonic() < deadline:
        return total, False  # stopped by an empty read
    return total, Event.objects.filter(processed=False).exists()


def events_process_batches(
    *,
    deadline: float | None = None,
    batch_size: int | None = None,
    prefetch: bool = True,
    prefetch_sqlite: bool = False,
) -> Iterator[int]:
    """Process batches until none is left or ``time.monotonic()`` passed ``deadline``
    (checked after each batch; None: no limit), yielding the size of each committed batch.

    On SQLite the connection gets a bigger page cache meanwhile
    (``PATRON_PROCESSOR_SQLITE_CACHE_MB``, ``_wal.page_cache``) and the WAL checkpoints
    of the batches' commits run on a thread (``_wal.checkpoints_aside``); on PostgreSQL
    the next batch's events are read on a thread while a batch's statements run
    (``_prefetch``; exactly once is kept, see there; ``prefetch_sqlite`` turns it on for
    SQLite, where it did not pay)."""
    batch_size = batch_size or default_batch_size()
    with (
        page_cache(settings.PATRON_PROCESSOR_SQLITE_CACHE_MB),
        checkpoints_aside() as checkpointer,
        prefetching(
            read_sql=unprocessed_sql(after=True),
            late_sql=_late_sql(),
            decode=_events_from_rows,
            limit=batch_size,
            enabled=prefetch,
            sqlite=prefetch_sqlite,
        ) as prefetcher,
    ):
        guess: list[Event] | None = None
        while deadline is None or time.monotonic() < deadline:
            try:
                done = events_process_batch(
                    batch_size=batch_size, prefetched=guess, prefetcher=prefetcher
                )
            except StaleBatch:  # a guessed batch someone else changed: read afresh
                guess = None
                continue
            if done == 0:
                return
            if checkpointer is not None and not connection.in_atomic_block:
                checkpointer.after_batch()  # the batch is committed: its pages can go
            guess = prefetcher.take() if prefetcher is not None else None
            yield done


@transaction.atomic
def events_process_batch(
    *,
    batch_size: int | None = None,
    prefetched: list[Event] | None = None,
    prefetcher: Prefetcher | None = None,
) -> int:
    """Process the oldest unprocessed events (at most ``batch_size``); returns how many.

    ``prefetched``: the events ``prefetcher`` guessed for this batch (read afresh when
    None); ``prefetcher`` starts on the next batch once this one's events are known."""
    _lock()
    batch_size = batch_size or default_batch_size()
    events = prefetched if prefetched else _oldest_unprocessed(batch_size)
    if not events:
        return 0
    if prefetcher is not None and len(events) >= batch_size:
        # Only after a full batch: a partial one took all that was waiting. Under light
        # traffic each run is one small batch, and a prefetch would open the thread's
        # connection (a new PostgreSQL backend) for every run, to read nothing.
        prefetcher.start([e.pk for e in events])
    read = len(events)
    actor = SystemActor("tracking API")
    region = workspace_get().default_region or "US"
    sources = dict(
        Source.objects.filter(pk__in={e.source_id for e in events}).values_list("pk", "name")
    )
    problems = Problems()
    # 0. Erased people are not brought back (one EXISTS query when nobody was erased).
    events, refused = erased_events_split(events, region=region)
    if refused:
        problems.items += erased_events_drop(refused)

    # 1. Identity: who is each event about? (creates contacts, links ids, joins people)
    resolver = Resolver(actor=actor, source_labels=sources, region=region)  # type: ignore[arg-type]
    resolver.prefetch(events)
    for event in events:
        event.contact_id = resolver.resolve(event)
    attached = resolver.flush()  # creates the new contacts: placeholder ids become real
    # One pass over the batch: final contact ids, and what each later step needs.
    follow, rebuild = resolver._follow, resolver.rebuild
    marks: list[tuple[int, int | None]] = []
    identifies: list[Event] = []
    groups: list[Event] = []
    commerce: list[Event] = []
    rows: dict[int, list[tuple[str, str, Any]]] = defaultdict(list)  # for the aggregates
    for event in events:
        contact_id = event.contact_id = follow(event.contact_id)
        event.processed = True
        marks.append((event.pk, contact_id))
        kind = event.type
        if kind == _GROUP:
            groups.append(event)
        if not contact_id:
            continue
        if contact_id not in rebuild:
            rows[contact_id].append((kind, event.event, event.timestamp))
        if kind == _IDENTIFY and event.traits:
            identifies.append(event)
        elif kind == _TRACK and is_commerce(event):
            commerce.append(event)

    # 2. What the profiles and aggregates need, read first (see ``_marking``).
    traits: dict[int, tuple[dict[str, Any], Event]] = {}
    for event in sorted(identifies, key=lambda e: (e.timestamp, e.pk)):
        if event.contact_id:
            merged = traits.get(event.contact_id, ({}, event))[0]
            traits[event.contact_id] = ({**merged, **event.traits}, event)
    hashes = _unchanged_traits_skipped(traits, resolver.foreign)
    contacts: dict[Any, Contact] = {}
    stored: dict[Any, ContactTraits] = {}
    custom_fields: dict[str, CustomField] = {}
    if traits:
        contacts = Contact.objects.select_for_update().in_bulk(list(traits))
        stored = ContactTraits.objects.in_bulk(list(traits))
        custom_fields = {f.key: f for f in CustomField.objects.filter(entity="contact")}
    current = aggregates_current(list(rows))

    # 3. The processed marks; meanwhile profiles from identify traits (merged per
    # contact, later calls win) and the aggregates.
    writes = ProfileWrites()
    with _marking(marks):
        for contact_id, (merged, last) in traits.items():
            contact = contacts.get(contact_id)
            if contact is None:
                hashes.pop(contact_id, None)
                continue
            profile_apply_traits(
                actor=actor,
                contact=contact,
                traits=merged,
                event=last,
                region=region,
                custom_fields=custom_fields,
                stored=stored.get(contact_id),
                problems=problems,
                foreign=resolver.foreign.get(contact_id, frozenset()),
                writes=writes,
            )
        aggregates_apply(rows, current=current)
        if traits:
            writes.hashes = hashes
            writes.save()
    for event in groups:
        profile_apply_group(
            actor=actor, contact_id=event.contact_id, event=event, problems=problems
        )

    # 4. Orders from e-commerce events (and from earlier anonymous ones just identified).
    if attached:
        commerce += [
            e
            for e in Event.objects.filter(pk__in=attached, type=Event.Type.TRACK)
            if is_commerce(e)
        ]
    for event in sorted(commerce, key=lambda e: (e.timestamp, e.pk)):
        order_from_event(
            actor=actor,
            event=event,
            contact_id=event.contact_id,  # type: ignore[arg-type]
            problems=problems,
        )

    # 5. Aggregates rebuilt from all events (of contacts that got history).
    aggregates_rebuild(rebuild)
    from patron.segments.tasks import contacts_changed  # live segments, after commit

    contacts_changed({c for _, c in marks}, what={"events", "profile", "orders"})

    # 6. Problems found on the way, to the debugger of each source.
    by_source: dict[int, list[RejectedMessage]] = defaultdict(list)
    for item in problems.items:
        if item.source_id in sources:
            by_source[item.source_id].append(item)
    for source_id, items in by_source.items():
        rejections_record(source_id=source_id, rejected=items)

    # 7. The contacts events were attached to: still there, and kept until the commit.
    contacts_hold(_held_contacts(marks, resolver))
    return read
