"""The compiled SQL equals a straightforward Python evaluation, on random rules and data.

Runs on whichever database the session uses (SQLite by default, PostgreSQL with
DATABASE_URL): the same assertions hold on both.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patron.contacts.models import Contact
from patron.segments.compiler import Compiler
from patron.segments.models import Segment, SegmentMembership
from patron.segments.rules import Catalogue, validate
from patron.segments.tests.pyeval import Data, PyEval
from patron.segments.tests.strategies import trees
from patron.segments.tests.world import NOW, build_world, custom_fields

pytestmark = pytest.mark.django_db


def _catalogue() -> Catalogue:
    custom_fields()
    return Catalogue.load()


def _check(tree: dict, catalogue: Catalogue, now: dt.datetime, data: Data, ids: list[int]) -> None:
    tree = validate(tree, catalogue)
    expected = PyEval(catalogue, now, data).members(tree)
    bulk = set(Compiler(catalogue, now=now).queryset(tree).values_list("pk", flat=True))
    assert bulk == expected, tree
    some = ids[::2]
    scoped = set(
        Compiler(catalogue, now=now, scoped=True)
        .queryset(tree, Contact.objects.filter(pk__in=some))
        .values_list("pk", flat=True)
    )
    assert scoped == expected & set(some), tree


@settings(
    max_examples=int(os.environ.get("PATRON_HYPOTHESIS_DB_EXAMPLES", "40")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a DB world is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10**6), data=st.data())
def test_compiled_rules_equal_python_evaluation(seed: int, data: st.DataObject) -> None:
    with transaction.atomic():
        catalogue = _catalogue()
        world = build_world(seed)
        other = Segment.objects.create(name="other", rules={"and": []})
        SegmentMembership.objects.bulk_create(
            SegmentMembership(segment=other, contact_id=cid, entered_at=NOW)
            for cid in world.contacts[::3]
        )
        snapshot = Data()
        strategy = trees(
            catalogue, ids=world.users + world.teams, lists=world.lists, segments=[other.pk]
        )
        for _ in range(8):
            tree = data.draw(strategy)
            _check(tree, catalogue, NOW, snapshot, world.contacts)
        transaction.set_rollback(True)


@pytest.mark.parametrize(
    "text",
    [
        'performed "purchase" at least 2 times in last 30 days',
        'performed "view" where [plan = "pro"]',
        'performed "view" where [plan != "pro", amount > 5]',
        'performed "signup" at most 0 times',
        "orders count >= 1 and orders total > 100",
        "orders average < 60 in last 30 days",
        "orders total <= 0",
        "open tickets = 0",
        "last nps between 0 and 6",
        "consent email_marketing via email",
        "birthday anniversary within 10 days",
        "custom.score between 10 and 100 or custom.active = false",
        'company.industry contains "retail"',
        "company.employees > -5 or company.employees <= -1",  # below the column's range
        "team = 1 or owner is not set",
        "events.count < 3",
        'last performed "view" in last 7 days',
    ],
)
def test_examples_match_python(text: str) -> None:
    from patron.segments.rules import parse_rules

    catalogue = _catalogue()
    world = build_world(42, n=30)
    _check(parse_rules(text), catalogue, NOW, Data(), world.contacts)


def test_hostile_values_are_only_parameters() -> None:
    # Given a contact whose name is a SQL fragment
    catalogue = _catalogue()
    hostile = "x' OR 1=1 --"
    Contact.objects.create(first_name=hostile)
    Contact.objects.create(first_name="someone else")
    # When rules compare against hostile strings (values and event property values)
    tree = validate(
        {
            "or": [
                {"kind": "field", "field": "first_name", "op": "eq", "value": hostile},
                {"kind": "field", "field": "last_name", "op": "contains", "value": "%_\\"},
                {"kind": "tag", "tag": "'; DROP TABLE contacts_contact; --"},
            ]
        },
        catalogue,
    )
    names = list(Compiler(catalogue).queryset(tree).values_list("first_name", flat=True))
    # Then they match exactly what they say, and nothing else
    assert names == [hostile]
    assert Contact.objects.count() == 2
