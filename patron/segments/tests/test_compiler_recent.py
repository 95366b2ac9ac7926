"""Event counts in a window from the aggregate row's recent timestamps (ADR 0060): the
edges of the window, events in the future, more events than the K kept, and the
fallback to counting events; each case in both modes against the Python evaluation."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patron.contacts.models import Contact
from patron.events.models import RECENT_K, Event
from patron.events.services.aggregates import aggregates_rebuild
from patron.segments.compiler import Compiler
from patron.segments.rules import Catalogue, parse_rules, validate
from patron.segments.services.timers import _event_window_due, _window_due
from patron.segments.tests.pyeval import Data, PyEval
from patron.segments.tests.strategies import EVENTS
from patron.segments.tests.world import NOW as WORLD_NOW
from patron.segments.tests.world import build_world, custom_fields

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 10, 9, 30, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
US = dt.timedelta(microseconds=1)


def _contact(*times: dt.datetime, name: str = "Viewed") -> int:
    c = Contact.objects.create(first_name="x")
    Event.objects.bulk_create(
        Event(contact=c, event=name, timestamp=t, received_at=t, processed=True) for t in times
    )
    aggregates_rebuild([c.pk])
    return c.pk


def _members(text: str) -> tuple[set[int], str]:
    """Members by the compiled query (after checking both modes against the Python
    evaluation) and the compiled SQL."""
    catalogue = Catalogue.load()
    tree = validate(parse_rules(text), catalogue)
    expected = PyEval(catalogue, NOW, Data()).members(tree)
    qs = Compiler(catalogue, now=NOW).queryset(tree)
    bulk = set(qs.values_list("pk", flat=True))
    assert bulk == expected, text
    ids = list(Contact.objects.values_list("pk", flat=True))
    scoped = Compiler(catalogue, now=NOW, scoped=True).queryset(
        tree, Contact.objects.filter(pk__in=ids)
    )
    assert set(scoped.values_list("pk", flat=True)) == expected, text
    return bulk, str(qs.query)


def test_window_edges_are_inclusive_at_both_ends():
    # Given events exactly at the window's start and at now, and just outside each
    start = NOW - 30 * DAY
    both = _contact(start, NOW)
    before = _contact(start - US, NOW)
    after = _contact(start, NOW + US)
    # Then "exactly 2 in 30 days" holds only for the contact with both inside,
    # read from the recent timestamps
    members, sql = _members('performed "Viewed" exactly 2 times in last 30 days')
    assert members == {both}
    assert "recent_2" in sql
    assert _members('performed "Viewed" at most 1 times in last 30 days')[0] == {before, after}


def test_future_events_do_not_count_even_when_they_fill_the_k_kept():
    # Given a contact with K events in the future (a clock ahead: ingest allows a day) and
    # two in the window: every stored timestamp is after now, so the row is incomplete
    future = [NOW + dt.timedelta(hours=h) for h in range(1, RECENT_K + 1)]
    ahead = _contact(*future, NOW - 2 * DAY, NOW - 3 * DAY)
    # and one with three future events and three in the window (complete enough)
    some = _contact(*future[:3], NOW - DAY, NOW - 2 * DAY, NOW - 3 * DAY)
    # Then the window count is 2 and 3: the fallback counts events for the first
    assert _members('performed "Viewed" at least 2 times in last 7 days')[0] == {ahead, some}
    assert _members('performed "Viewed" at least 3 times in last 7 days')[0] == {some}
    assert _members('performed "Viewed" exactly 2 times in last 7 days')[0] == {ahead}
    members, sql = _members('performed "Viewed" at most 2 times in last 7 days')
    assert ahead in members and some not in members
    assert "recent_3" in sql


def test_more_events_than_k_in_the_window():
    # Given 12 events in the window and 3 older ones
    many = _contact(*(NOW - h * dt.timedelta(hours=5) for h in range(12)), NOW - 90 * DAY)
    few = _contact(NOW - DAY, NOW - 40 * DAY, NOW - 50 * DAY)
    # Then counts up to K are read from the row; "at most K-1" is false from it alone
    assert _members('performed "Viewed" at least 8 times in last 30 days')[0] == {many}
    assert _members('performed "Viewed" at most 7 times in last 30 days')[0] == {few}
    assert _members('performed "Viewed" exactly 1 times in last 30 days')[0] == {few}
    # and beyond K the compiler counts events (grouped), with the same answer
    members, sql = _members('performed "Viewed" at least 9 times in last 30 days')
    assert members == {many}
    assert "recent_" not in sql
    assert _members('performed "Viewed" exactly 12 times in last 30 days')[0] == {many}
    assert _members('performed "Viewed" at most 8 times in last 30 days')[0] == {few}


def test_contacts_without_events_count_zero():
    # Given a contact without any event, one with other events only, one with old ones
    none = _contact()
    other = _contact(NOW - DAY, name="Bought")
    old = _contact(NOW - 100 * DAY)
    recent = _contact(NOW - DAY)
    # Then zero counts and "at most" include them; "at least" does not
    assert _members('performed "Viewed" at most 0 times in last 30 days')[0] == {
        none,
        other,
        old,
    }
    assert _members('performed "Viewed" exactly 0 times in last 30 days')[0] == {none, other, old}
    assert _members('performed "Viewed" at least 1 times in last 30 days')[0] == {recent}
    assert _members('performed "Viewed" at least 0 times in last 30 days')[0] == {
        none,
        other,
        old,
        recent,
    }


def test_unprocessed_and_non_track_events_are_not_counted():
    # Given a contact with one processed track event, one unprocessed and a page view
    c = Contact.objects.create(first_name="x")
    Event.objects.bulk_create(
        [
            Event(contact=c, event="Viewed", timestamp=NOW - DAY, received_at=NOW, processed=True),
            Event(contact=c, event="Viewed", timestamp=NOW - DAY, received_at=NOW),
            Event(contact=c, type="page", event="Viewed", timestamp=NOW - DAY, received_at=NOW,
                  processed=True),
        ]
    )  # fmt: skip
    aggregates_rebuild([c.pk])
    assert _members('performed "Viewed" exactly 1 times in last 7 days')[0] == {c.pk}


@settings(
    max_examples=int(os.environ.get("PATRON_HYPOTHESIS_DB_EXAMPLES", "40")) // 2,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a DB world is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10**6), data=st.data())
def test_random_window_counts_equal_python_evaluation(seed: int, data: st.DataObject) -> None:
    # Given a random world (bursts of one event name around the windows' edges and in
    # the future: world._burst), every window count condition without property filters
    # compiles to the same members as the Python evaluation, in both modes
    with transaction.atomic():
        custom_fields()
        catalogue = Catalogue.load()
        world = build_world(seed, now=WORLD_NOW)
        snapshot = Data()
        condition = st.fixed_dictionaries(
            {
                "kind": st.just("event"),
                "event": st.sampled_from(EVENTS),
                "op": st.sampled_from(["at_least", "at_most", "exactly"]),
                "count": st.integers(0, RECENT_K + 1),
                "within_days": st.sampled_from([1, 7, 30, 45]),
                "where": st.just([]),
            }
        )
        for _ in range(12):
            tree = validate({"and": [data.draw(condition)]}, catalogue)
            expected = PyEval(catalogue, WORLD_NOW, snapshot).members(tree)
            bulk = Compiler(catalogue, now=WORLD_NOW).queryset(tree)
            assert set(bulk.values_list("pk", flat=True)) == expected, tree
            scoped = Compiler(catalogue, now=WORLD_NOW, scoped=True).queryset(
                tree, Contact.objects.filter(pk__in=world.contacts)
            )
            assert set(scoped.values_list("pk", flat=True)) == expected, tree
        transaction.set_rollback(True)


@settings(
    max_examples=int(os.environ.get("PATRON_HYPOTHESIS_DB_EXAMPLES", "40")) // 4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10**6), hours=st.sampled_from([0, 5, 30, 24 * 20]))
def test_window_timers_from_recent_timestamps_equal_those_from_events(
    seed: int, hours: int
) -> None:
    # Given a random world (bursts past K, future events) seen at some later moment
    with transaction.atomic():
        build_world(seed, now=WORLD_NOW)
        now = WORLD_NOW + dt.timedelta(hours=hours)
        for name in EVENTS:
            events = Event.objects.filter(type="track", event=name, processed=True)
            for days in (1, 7, 30, 45):
                # Then every contact's next window boundary is the one the events give
                expected = _window_due(events, "timestamp", "contact_id", days, now, None)
                assert _event_window_due(name, days, now, None) == expected
                some = sorted(expected)[::2]
                assert _event_window_due(name, days, now, some) == {
                    cid: expected[cid] for cid in some
                }
        transaction.set_rollback(True)
