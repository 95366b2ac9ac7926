"""The K most recent timestamps per (contact, event name) on ContactEventCount: kept by
``aggregates_apply`` (any arrival order, any batch split), recomputed by
``aggregates_rebuild``, filled by the events migration 0008 for existing rows."""

from __future__ import annotations

import datetime as dt
import importlib
import random

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.contacts.models import Contact
from patron.events.models import RECENT_FIELDS, RECENT_K, ContactEventCount, Event
from patron.events.services.aggregates import aggregates_apply, aggregates_rebuild

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
pytestmark = pytest.mark.django_db


def _at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def _stored(contact_id: int, name: str = "Viewed") -> tuple[int, list[dt.datetime | None]]:
    row = ContactEventCount.objects.get(contact_id=contact_id, event=name)
    return row.count, [getattr(row, f) for f in RECENT_FIELDS]


def _expected(times: list[dt.datetime]) -> list[dt.datetime | None]:
    top: list[dt.datetime | None] = list(sorted(times, reverse=True)[:RECENT_K])
    return top + [None] * (RECENT_K - len(top))


def _apply(contact_id: int, times: list[dt.datetime], name: str = "Viewed") -> None:
    aggregates_apply({contact_id: [("track", name, t) for t in times]})


def test_batches_in_order_keep_the_newest_k_newest_first():
    # Given a contact whose events arrive in order, over three batches
    c = Contact.objects.create(first_name="A")
    times = [_at(m) for m in range(20)]
    # When each batch is applied
    for part in (times[:3], times[3:11], times[11:]):
        _apply(c.pk, part)
    # Then the row holds the count and the eight newest, newest first
    assert _stored(c.pk) == (20, _expected(times))


def test_late_and_out_of_order_events_land_in_their_place():
    # Given eight events stored, then late ones: older than all, between, and newer
    c = Contact.objects.create(first_name="A")
    _apply(c.pk, [_at(m) for m in range(0, 80, 10)])
    # When a batch mixes an old event (ignored by the top K), one in the middle and
    # a new one, in no particular order
    late = [_at(75), _at(-5), _at(200), _at(35)]
    _apply(c.pk, late)
    # Then the top K is the newest of all twelve
    assert _stored(c.pk) == (12, _expected([_at(m) for m in range(0, 80, 10)] + late))


def test_fewer_than_k_leave_the_rest_null_and_equal_timestamps_count_as_two():
    # Given two distinct events at the same instant and one earlier
    c = Contact.objects.create(first_name="A")
    _apply(c.pk, [_at(5), _at(5)])
    _apply(c.pk, [_at(1)])
    # Then both same-instant events are kept (the grouped count counts both rows)
    count, recent = _stored(c.pk)
    assert count == 3
    assert recent[:3] == [_at(5), _at(5), _at(1)]
    assert recent[3:] == [None] * (RECENT_K - 3)


def test_event_names_and_other_types_are_kept_apart():
    c = Contact.objects.create(first_name="A")
    aggregates_apply(
        {
            c.pk: [
                ("track", "Viewed", _at(1)),
                ("track", "Bought", _at(2)),
                ("page", "", _at(3)),
                ("track", "Viewed", _at(4)),
            ]
        }
    )
    assert _stored(c.pk, "Viewed")[1][:3] == [_at(4), _at(1), None]
    assert _stored(c.pk, "Bought")[1][:2] == [_at(2), None]


def test_rebuild_recomputes_from_processed_events_only():
    # Given stored aggregates that disagree with the events (a merge moved some away),
    # and an unprocessed event that must not count
    c = Contact.objects.create(first_name="A")
    _apply(c.pk, [_at(m) for m in range(30)])
    kept = [_at(m) for m in (3, 1, 4, 1, 5, 9, 2, 6, 5, 3)]
    rows = [Event(contact=c, event="Viewed", timestamp=t, received_at=T0, processed=True)
            for t in kept]  # fmt: skip
    rows.append(
        Event(contact=c, event="Viewed", timestamp=_at(999), received_at=T0, processed=False)
    )
    Event.objects.bulk_create(rows)
    # When rebuilt
    aggregates_rebuild([c.pk])
    # Then count and top K come from the processed events alone (duplicates of an instant
    # are two events, counted once each, not twice)
    assert _stored(c.pk) == (10, _expected(kept))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    minutes=st.lists(st.integers(-3000, 3000), min_size=1, max_size=30),
    seed=st.integers(0, 10_000),
)
def test_any_split_and_order_equals_a_rebuild(minutes, seed):
    # Given random timestamps (with repeats) arriving in random batches, in random order
    rng = random.Random(seed)
    c = Contact.objects.create(first_name="P")
    times = [_at(m) for m in minutes]
    shuffled = times[:]
    rng.shuffle(shuffled)
    i = 0
    while i < len(shuffled):
        step = rng.randint(1, 6)
        _apply(c.pk, shuffled[i : i + step])
        i += step
    incremental = _stored(c.pk)
    # Then it equals the sorted top K, and a rebuild from the same events
    assert incremental == (len(times), _expected(times))
    Event.objects.bulk_create(
        Event(contact=c, event="Viewed", timestamp=t, received_at=T0, processed=True) for t in times
    )
    aggregates_rebuild([c.pk])
    assert _stored(c.pk) == incremental
    Contact.objects.filter(pk=c.pk).delete()


class _Editor:
    """What the backfill uses of a schema editor (SQLite's cannot open inside a test's
    transaction)."""

    connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_migration_backfill_fills_existing_rows_from_events():
    # Given rows as they were before the columns existed (counts, no recent timestamps)
    a, b = Contact.objects.create(first_name="A"), Contact.objects.create(first_name="B")
    times = {a.pk: [_at(m) for m in range(12)], b.pk: [_at(7), _at(7), _at(2)]}
    for cid, ts in times.items():
        Event.objects.bulk_create(
            Event(contact_id=cid, event="Viewed", timestamp=t, received_at=T0, processed=True)
            for t in ts
        )
        Event.objects.create(
            contact_id=cid, event="Viewed", timestamp=_at(500), received_at=T0, processed=False
        )
        Event.objects.create(
            contact_id=cid, type="page", event="Viewed", timestamp=_at(600), received_at=T0,
            processed=True,
        )  # fmt: skip
    aggregates_rebuild(times)
    ContactEventCount.objects.update(**dict.fromkeys(RECENT_FIELDS))
    # When the migration's backfill runs
    migration = importlib.import_module(
        "patron.events.migrations.0008_contact_event_recent_timestamps"
    )
    migration.backfill(None, _Editor())
    # Then each row holds its processed track events' newest K
    for cid, ts in times.items():
        assert _stored(cid) == (len(ts), _expected(ts))
