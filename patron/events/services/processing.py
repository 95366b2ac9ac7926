"""The event processor: identity, profiles, companies, orders and aggregates, in batches.

Durability: accepted events are stored with ``processed=False``. A batch takes the oldest
unprocessed events and does all its work, including flipping ``processed``, in one
transaction. A crash (or a killed worker) rolls the batch back whole, so the next run
starts exactly where the last committed batch ended: nothing is lost, nothing counted twice.

One processor runs at a time (a PostgreSQL advisory lock; on SQLite write transactions
are serialised already), so identity resolution never races with itself.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from django.db import connection, transaction

from patron.contacts.models import Contact, CustomField
from patron.core.services import workspace_get
from patron.events.models import ContactTraits, Event, RejectedMessage, Source
from patron.events.services._sql import update_many
from patron.events.services.aggregates import aggregates_apply, aggregates_rebuild
from patron.events.services.commerce import is_commerce, order_from_event
from patron.events.services.identity import Resolver, SystemActor
from patron.events.services.ingest import rejections_record
from patron.events.services.profile import Problems, profile_apply_group, profile_apply_traits

BATCH_SIZE = 1000
_LOCK_KEY = 7_302_041  # pg advisory lock id of the event processor


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])


def events_process_pending(
    *, max_seconds: float = 60.0, batch_size: int = BATCH_SIZE
) -> tuple[int, bool]:
    """Process batches until none is left or time runs out: (processed, more left?)."""
    deadline = time.monotonic() + max_seconds
    total = 0
    while True:
        done = events_process_batch(batch_size=batch_size)
        total += done
        if done == 0:
            return total, False
        if time.monotonic() >= deadline:
            return total, Event.objects.filter(processed=False).exists()


@transaction.atomic
def events_process_batch(*, batch_size: int = BATCH_SIZE) -> int:
    """Process the oldest unprocessed events (at most ``batch_size``); returns how many."""
    _lock()
    events = list(
        Event.objects.filter(processed=False)
        .defer("context", "integrations")  # not needed here, and the largest columns
        .order_by("id")[:batch_size]
    )
    if not events:
        return 0
    actor = SystemActor("tracking API")
    region = workspace_get().default_region or "US"
    sources = dict(
        Source.objects.filter(pk__in={e.source_id for e in events}).values_list("pk", "name")
    )
    problems = Problems()

    # 1. Identity: who is each event about? (creates contacts, links ids, joins people)
    resolver = Resolver(actor=actor, source_labels=sources, region=region)  # type: ignore[arg-type]
    resolver.prefetch(events)
    for event in events:
        event.contact_id = resolver.resolve(event)
    for event in events:
        event.contact_id = resolver._follow(event.contact_id)
        event.processed = True
    attached = resolver.flush([e.pk for e in events])
    update_many(Event, ["contact", "processed"], [(e.contact_id, True, e.pk) for e in events])

    # 2. Profiles: identify traits (merged per contact, later calls win), group calls.
    traits: dict[int, tuple[dict[str, Any], Event]] = {}
    for event in sorted(events, key=lambda e: (e.timestamp, e.pk)):
        if event.type == Event.Type.IDENTIFY and event.contact_id and event.traits:
            merged = traits.get(event.contact_id, ({}, event))[0]
            traits[event.contact_id] = ({**merged, **event.traits}, event)
    if traits:
        contacts = Contact.objects.select_for_update().in_bulk(list(traits))
        stored = ContactTraits.objects.in_bulk(list(traits))
        custom_fields = {f.key: f for f in CustomField.objects.filter(entity="contact")}
        for contact_id, (merged, last) in traits.items():
            contact = contacts.get(contact_id)
            if contact is None:
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
            )
    for event in events:
        if event.type == Event.Type.GROUP:
            profile_apply_group(
                actor=actor, contact_id=event.contact_id, event=event, problems=problems
            )

    # 3. Orders from e-commerce events (and from earlier anonymous ones just identified).
    commerce = [e for e in events if e.contact_id and is_commerce(e)]
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

    # 4. Aggregates.
    rows: dict[int, list[tuple[str, str, Any]]] = defaultdict(list)
    for event in events:
        if event.contact_id and event.contact_id not in resolver.rebuild:
            rows[event.contact_id].append((event.type, event.event, event.timestamp))
    aggregates_apply(rows)
    aggregates_rebuild(resolver.rebuild)
    from patron.segments.tasks import contacts_changed  # live segments, after commit

    contacts_changed({e.contact_id for e in events}, what={"events", "profile", "orders"})

    # 5. Problems found on the way, to the debugger of each source.
    by_source: dict[int, list[RejectedMessage]] = defaultdict(list)
    for item in problems.items:
        if item.source_id in sources:
            by_source[item.source_id].append(item)
    for source_id, items in by_source.items():
        rejections_record(source_id=source_id, rejected=items)
    return len(events)
