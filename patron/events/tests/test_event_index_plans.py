"""The event table's contact and name indexes are partial (contact set, ADR 0073): every
reader that needs them must still get them from the planner, on both databases.

Each test plans a reader's real query (EXPLAIN; on PostgreSQL with sequential scans
disabled, as the test tables are tiny: an index the predicate does not allow is then still
not used) and checks that the partial index is in the plan.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.db.models import QuerySet

from patron.contacts.models import Contact
from patron.events.models import Event
from patron.hygiene.quality import stale_filter
from patron.segments.compiler import Compiler
from patron.segments.rules import Catalogue, parse_rules, validate

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 5, 10, 9, 30, tzinfo=dt.UTC)
PARTIAL = ("event_contact_time_pidx", "event_contact_name_pidx", "event_name_time_pidx")


def _plan(qs: QuerySet[Any]) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _segment(text: str, *, scoped: bool = False) -> QuerySet[Any]:
    catalogue = Catalogue.load()
    tree = validate(parse_rules(text), catalogue)
    compiler = Compiler(catalogue, now=NOW, scoped=scoped)
    if scoped:
        return compiler.queryset(tree, Contact.objects.filter(pk__in=[1, 2, 3]))
    return compiler.queryset(tree)


def test_the_three_indexes_are_partial_on_the_contact() -> None:
    # given the event table's indexes as the database has them
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Event._meta.db_table)
    # then the three contact/name indexes exist (and the old full ones do not)
    assert set(PARTIAL) <= set(constraints)
    assert not {"event_contact_time_idx", "event_contact_name_idx", "event_name_time_idx"} & set(
        constraints
    )
    # and none on contact_id alone (the foreign key's own index is dropped)
    alone = [n for n, i in constraints.items() if i["index"] and i["columns"] == ["contact_id"]]
    assert alone == []
    # and each has the condition (read from the schema itself)
    with connection.cursor() as cursor:
        for name in PARTIAL:
            if connection.vendor == "sqlite":
                cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
            else:
                cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
            (definition,) = cursor.fetchone()
            assert "IS NOT NULL" in definition.upper(), definition


@pytest.mark.parametrize(
    "qs",
    [
        # a contact's events, newest first (API, selectors.events_of_contact + events_page)
        lambda: Event.objects.filter(contact_id=7).order_by("-timestamp", "-id"),
        # of one name (the API's event filter)
        lambda: Event.objects.filter(contact_id=7, event="Viewed").order_by("-timestamp", "-id"),
        # the contact timeline's window
        lambda: Event.objects.filter(contact_id=7, timestamp__gte=NOW).order_by("-timestamp"),
        # aggregates_rebuild
        lambda: Event.objects.filter(contact_id=7, processed=True).order_by("timestamp", "id"),
        # a merge moving events (contact_id IN ...) and the contact delete cascade
        lambda: Event.objects.filter(contact_id__in=[7, 8]),
    ],
    ids=["contact", "contact-and-name", "timeline", "rebuild", "contact-in"],
)
def test_per_contact_readers_use_a_partial_index(qs: Any) -> None:
    # when planning a reader that compares contact_id with a value
    plan = _plan(qs())
    # then it reads a partial index (contact_id = x implies contact_id IS NOT NULL)
    assert any(name in plan for name in PARTIAL), plan


def test_stale_contacts_check_uses_the_contact_time_index() -> None:
    # when planning the data-quality "stale" filter (NOT EXISTS a recent event)
    plan = _plan(Contact.objects.filter(stale_filter(NOW)))
    # then the events are probed through a partial index
    assert any(name in plan for name in PARTIAL), plan


@pytest.mark.parametrize("scoped", [False, True], ids=["whole-table", "scoped"])
@pytest.mark.parametrize(
    "text",
    [
        'performed "Viewed" in last 30 days',  # EXISTS
        'not performed "Viewed" in last 30 days',  # NOT EXISTS
        'performed "Viewed" at least 3 times in last 30 days',  # recent timestamps + count
        'performed "Viewed" at least 20 times in last 30 days',  # grouped count
        'performed "Viewed" at most 20 times in last 30 days',  # grouped, zero allowed
    ],
)
def test_segment_event_conditions_use_a_partial_index(text: str, scoped: bool) -> None:
    # when planning a compiled segment over events of one name in a time window
    plan = _plan(_segment(text, scoped=scoped))
    # then the events are read through a partial index, not scanned
    assert any(name in plan for name in PARTIAL), plan
    if connection.vendor == "postgresql":
        assert "Seq Scan on events_event" not in plan, plan


def test_deleting_a_contact_finds_its_events_through_the_partial_index() -> None:
    # when a contact's delete looks for its events (no foreign key check any more,
    # docs/adr/0076): Django's cascade, and on PostgreSQL the contact table's trigger
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    plans = []
    with connection.cursor() as cursor:
        for where in ("contact_id IN (1)", "contact_id = 1"):
            cursor.execute(f"{explain} DELETE FROM events_event WHERE {where}")  # noqa: S608
            plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    # then the events are searched through a partial index, not scanned
    for plan in plans:
        assert any(name in plan for name in PARTIAL), plan
