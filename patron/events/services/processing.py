"""The event processor: identity, profiles, companies, orders and aggregates, in batches.

Durability: accepted events are stored with ``processed=False``. A batch takes the oldest
unprocessed events and does all its work, including flipping ``processed``, in one
transaction. A crash (or a killed worker) rolls the batch back whole, so the next run
starts exactly where the last committed batch ended: nothing is lost, nothing counted twice.

One processor runs at a time (a PostgreSQL advisory lock; on SQLite write transactions
are serialised already), so identity resolution never races with itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models.base import ModelState

from patron.contacts.models import Contact, CustomField
from patron.core.services import workspace_get
from patron.events.models import ContactTraits, Event, RejectedMessage, Source
from patron.events.services._prefetch import Prefetcher, prefetching
from patron.events.services._sql import driver_cursor, from_db_datetime
from patron.events.services._wal import checkpoints_aside
from patron.events.services.aggregates import (
    aggregates_apply,
    aggregates_current,
    aggregates_rebuild,
)
from patron.events.services.commerce import COMMERCE_EVENTS, is_commerce, order_from_event
from patron.events.services.identity import Resolver, SystemActor
from patron.events.services.identity.erased import erased_events_drop, erased_events_split
from patron.events.services.ingest import rejections_record
from patron.events.services.profile import (
    Problems,
    ProfileWrites,
    profile_apply_group,
    profile_apply_traits,
)

#: Events per batch (one transaction). Larger batches spread each batch's fixed costs
#: (queries per table, the commit) over more events: 4,000 instead of 1,000 processed
#: 17 % (PostgreSQL) and 48 % (SQLite) more events per second. On SQLite a batch holds
#: the database's one write lock against ingest for its whole length, so it stays at
#: 2,000 (about 0.3 s) there. On PostgreSQL 8,000 instead of 4,000 processed 7-29 % more
#: (fourth pass, in-process, alternated; a batch is then about 1 s). See docs/performance.md.
BATCH_SIZE = 1000
BATCH_SIZE_BY_VENDOR = {"postgresql": 8000, "sqlite": 2000}


def default_batch_size() -> int:
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

    On SQLite the WAL checkpoints of the batches' commits run on a thread meanwhile
    (``_wal.checkpoints_aside``); on PostgreSQL the next batch's events are read on a
    thread while a batch's statements run (``_prefetch``; exactly once is kept, see
    there; ``prefetch_sqlite`` turns it on for SQLite, where it did not pay)."""
    batch_size = batch_size or default_batch_size()
    with (
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
                checkpointer.wake.set()  # the batch is committed: its pages can go
            guess = prefetcher.take() if prefetcher is not None else None
            yield done


class StaleBatch(Exception):  # noqa: N818
    """A batch's events were no longer all unprocessed when marked: it rolls back."""


_LOADED = (
    "id",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "group_id",
    "previous_id",
    "timestamp",
    "received_at",
    "source",
    "source_id",
    "message_id",
    "traits",
    "properties",
)
_TRAITS_USED = frozenset({Event.Type.IDENTIFY.value, Event.Type.GROUP.value})
_IDENTIFY, _GROUP, _TRACK = (
    Event.Type.IDENTIFY.value,
    Event.Type.GROUP.value,
    Event.Type.TRACK.value,
)


def unprocessed_sql(*, after: bool = False) -> str:
    """The processor's read of waiting events, oldest first: ``%s`` the limit, after
    ``%s`` an id first with ``after`` (the prefetch's read)."""
    qn = connection.ops.quote_name
    pg = connection.vendor == "postgresql"
    cols = ", ".join(
        f"{qn(c)}::text" if pg and c in ("traits", "properties") else qn(c) for c in _LOADED
    )
    # Written as the partial index's own condition (event_unprocessed_idx, WHERE NOT
    # "processed"): SQLite uses a partial index only when the query's condition matches
    # it, and a bound parameter does not (nor do PostgreSQL's generic plans): with
    # ``processed = %s`` it scanned every event before the first waiting one.
    return (
        f"SELECT {cols} FROM {qn(Event._meta.db_table)} "  # noqa: S608
        f"WHERE NOT processed {'AND id > %s ' if after else ''}ORDER BY id LIMIT %s"
    )


def oldest_unprocessed_sql() -> str:
    """The processor's read of waiting events (one ``%s``: the limit)."""
    return unprocessed_sql()


def _late_sql() -> str:
    """Unprocessed ids up to ``%s``, at most ``%s`` (the prefetch's check for late events)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    return f"SELECT id FROM {table} WHERE NOT processed AND id <= %s ORDER BY id LIMIT %s"  # noqa: S608


def _oldest_unprocessed(limit: int) -> list[Event]:
    """The oldest unprocessed events, as Event instances built from one raw query."""
    with driver_cursor() as cursor:
        cursor.execute(unprocessed_sql(), [limit])
        rows = cursor.fetchall()
    return _events_from_rows(rows)


def _events_from_rows(rows: list[tuple[Any, ...]]) -> list[Event]:
    """Event instances from rows of ``unprocessed_sql``.

    The hot path's read (see docs/performance.md): no converters, and JSON decoded only
    where the processor reads it (traits of identify/group calls, properties of
    e-commerce events). Context, integrations and the client's own times are left
    deferred (Django loads them if anything asks).
    """
    events = []
    alias, new, loads = DEFAULT_DB_ALIAS, Event.__new__, json.loads
    for (
        pk,
        kind,
        name,
        page,
        user_id,
        anon,
        group,
        prev,
        at,
        received,
        source,
        source_id,
        msg,
        traits,
        props,
    ) in rows:  # noqa: E501
        state = ModelState()
        state.adding, state.db = False, alias
        commerce = kind == _TRACK and name.strip().lower() in COMMERCE_EVENTS
        event = new(Event)
        event.__dict__.update(
            {
                "_state": state,
                "id": pk,
                "type": kind,
                "event": name,
                "name": page,
                "user_id": user_id,
                "anonymous_id": anon,
                "group_id": group,
                "previous_id": prev,
                "timestamp": from_db_datetime(at),
                "received_at": from_db_datetime(received),
                "source": source,
                "source_id": source_id,
                "message_id": msg,
                "traits": loads(traits) if traits and kind in _TRAITS_USED else {},
                "properties": loads(props) if props and commerce else {},
                "contact_id": None,
            }
        )
        events.append(event)
    return events


def events_mark_processed(rows: list[tuple[int, int | None]]) -> None:
    """Set ``contact`` and ``processed`` of unprocessed events: one ``UPDATE ... FROM
    (VALUES ...)`` per 500 (SQLite 3.33+ and PostgreSQL). Raises ``StaleBatch`` (the
    batch must roll back) unless every row was still there and unprocessed."""
    if rows:
        marked = _mark(rows)
        if marked != len(rows):
            raise StaleBatch(f"{len(rows) - marked} of {len(rows)} events changed meanwhile")


def _mark(rows: list[tuple[int, int | None]]) -> int:
    qn = connection.ops.quote_name
    table = qn(Event._meta.db_table)
    pg = connection.vendor == "postgresql"
    if pg:
        # Two arrays and ``unnest``: a short statement, parsed and planned once. The
        # arrays go as text literals of integers: psycopg's list dumper walks a list in
        # Python (2-3 ms per 4,000 ids under the profiler), a join is C.
        with driver_cursor() as cursor:
            cursor.execute(_PG_MARK.format(table=table), _pg_mark_params(rows))
            return int(cursor.rowcount)
    one = "(%s, %s)"
    marked = 0
    with driver_cursor() as cursor:
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            cursor.execute(
                f"UPDATE {table} SET contact_id = v.column2, processed = %s "  # noqa: S608
                f"FROM (VALUES {', '.join([one] * len(part))}) AS v "
                f"WHERE {table}.id = v.column1 AND NOT {table}.processed",
                [True, *(v for row in part for v in row)],
            )
            marked += cursor.rowcount
    return marked


@contextlib.contextmanager
def _marking(marks: list[tuple[int, int | None]]) -> Iterator[None]:
    """``events_mark_processed`` for the block; on PostgreSQL overlapped with it.

    The marks' UPDATE is a batch's largest statement (each event row rewritten; about a
    quarter of a batch's wall time, all on the server), while applying traits and
    working out aggregates is Python. In psycopg's pipeline mode the UPDATE is sent
    without waiting for its result and the block runs meanwhile (its reads done before
    it; a statement in it that needs a result waits for the UPDATE first, as without the
    pipeline); the block's end waits for all, in order, in the same transaction, and the
    row count is checked as ``events_mark_processed`` does (docs/adr/0072)."""
    if connection.vendor != "postgresql" or not marks:
        events_mark_processed(marks)
        yield
        return
    import psycopg

    raw = connection.connection
    table = connection.ops.quote_name(Event._meta.db_table)
    with psycopg.Cursor(raw) as cursor:
        with raw.pipeline():
            cursor.execute(_PG_MARK.format(table=table), _pg_mark_params(marks))
            yield
        marked = int(cursor.rowcount)
    if marked != len(marks):
        raise StaleBatch(f"{len(marks) - marked} of {len(marks)} events changed meanwhile")


def contacts_hold(held: Sequence[int]) -> None:
    """Lock the contacts a batch attached events to (``_held_contacts``) until it commits,
    or raise ``StaleBatch`` (the batch rolls back and is read afresh) if one is gone.

    ``events.contact_id`` has no foreign key constraint (docs/adr/0076). This takes the
    lock the constraint's check took per event (``FOR KEY SHARE``: a delete or a merge of
    the contact waits until the batch commits; edits of it do not), in one statement,
    as the batch's last: a contact deleted (committed) earlier is missing from the
    count; one whose delete is under way makes it wait for that transaction, then is
    missing. A delete that waits for it sees the batch's events once it commits: Django's
    cascade listed the contact's events before, but the contact table's trigger
    (migration 0010) deletes those attached meanwhile. Last, not first: taken before the
    batch's other writes it deadlocked with a delete that had begun (the deleter holding
    the contact's aggregate rows, the batch its contact). On SQLite a batch holds the
    database's one write lock from its first statement: nothing to do."""
    if not held or connection.vendor != "postgresql":
        return
    with driver_cursor() as cursor:
        cursor.execute(_PG_HOLD.format(table=Contact._meta.db_table), [int_array(list(held))])
        found = int(cursor.fetchone()[0])
    if found != len(held):
        raise StaleBatch(f"{len(held) - found} of {len(held)} contacts were deleted meanwhile")


#: Locks the contacts a batch attached events to, and counts those still there.
_PG_HOLD = (
    "SELECT count(*) FROM (SELECT 1 FROM {table} "
    "WHERE id = ANY(%s::bigint[]) FOR KEY SHARE) AS held"
)


def _held_contacts(marks: list[tuple[int, int | None]], resolver: Resolver) -> list[int]:
    """The contacts this batch attaches events to that existed before it (sorted): its
    own new contacts cannot be deleted by anyone else before it commits."""
    held = {c for _, c in marks if c}
    follow = resolver._follow
    held.update(c for c in (follow(v) for v in resolver.attach.values()) if c)
    held.difference_update(resolver.created)
    return sorted(held)


_PG_MARK = (
    "UPDATE {table} SET contact_id = v.c, processed = true "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(i, c) "
    "WHERE {table}.id = v.i AND NOT {table}.processed"
)


def _pg_mark_params(rows: list[tuple[int, int | None]]) -> list[str]:
    return [int_array([row[0] for row in rows]), int_array([row[1] for row in rows])]


def int_array(values: list[int | None]) -> str:
    """A PostgreSQL array literal of integers (None as NULL), for ``%s::bigint[]``."""
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


def _traits_hash(traits: dict[str, Any], foreign: set[str] | frozenset[str]) -> str:
    text = json.dumps([traits, sorted(foreign)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _unchanged_traits_skipped(
    traits: dict[int, tuple[dict[str, Any], Event]], foreign: dict[int, set[str]]
) -> dict[int, str]:
    """Drop from ``traits`` the contacts whose traits were applied already, as they are
    now; returns the hashes of the others, to store once they are applied."""
    if not traits:
        return {}
    wanted = {c: _traits_hash(t, foreign.get(c, frozenset())) for c, (t, _) in traits.items()}
    ids = list(wanted)
    for i in range(0, len(ids), 500):
        for contact_id, applied in ContactTraits.objects.filter(
            contact_id__in=ids[i : i + 500]
        ).values_list("contact_id", "applied_hash"):
            if applied and applied == wanted[contact_id]:
                del traits[contact_id]
                del wanted[contact_id]
    return wanted


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
    if prefetcher is not None:
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
