"""Purchase conditions without a window read the per-contact purchase summary (ADR 0061)
and give exactly what the grouped orders (and the Python reference evaluator) give, in
whole-table and scoped mode, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patron.commerce.models import ContactPurchaseSummary, Order
from patron.commerce.services import order_create, order_update
from patron.commerce.summary import COUNTED_STATUSES
from patron.contacts.models import Contact
from patron.segments.compiler import COUNTED_ORDER_STATUSES, Compiler
from patron.segments.rules import Catalogue, validate
from patron.segments.tests.pyeval import Data, PyEval

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 2, 15, 12, 30, tzinfo=dt.UTC)
# (status, total, refunded) of each contact's orders
PEOPLE: list[list[tuple[str, str, str]]] = [
    [],
    [("completed", "0", "0")],
    [("completed", "100", "0")],
    [("completed", "120", "20")],  # partially refunded, net 100
    [("completed", "10", "0"), ("completed", "10", "0"), ("completed", "10.01", "0")],
    [("completed", "50.50", "0"), ("completed", "0.50", "0")],
    [("completed", "250", "250")],  # fully refunded: not counted
    [("cancelled", "80", "0"), ("pending", "99", "0")],
    [("completed", "33.33", "0"), ("completed", "33.33", "0"), ("completed", "33.34", "0")],
    [("completed", "99.99", "0"), ("completed", "0.01", "0")],
]


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


CASES: list[tuple[str, str, Any]] = [
    (measure, op, value)
    for measure in ("count", "total", "average")
    for op, value in [
        ("eq", 0),
        ("neq", 0),
        ("lt", 1),
        ("lte", 0),
        ("gt", 0),
        ("gte", 1),
        ("eq", 3),
        ("neq", 3),
        ("lt", 100),
        ("gte", 100),
        ("eq", 100),
        ("gt", 50.5),
        ("between", [0, 0]),
        ("between", [1, 2]),
        ("between", [0, 100]),
        ("between", [10, 10.01]),
        ("eq", 2.5),
        ("lte", 2.5),
        ("gt", 2.5),
        ("between", [0.5, 0.9]),
    ]
    # counts are whole numbers (the rules validator refuses others)
    if measure != "count" or all(float(v).is_integer() for v in _values(value))
]


@pytest.fixture
def people(admin_user_p: Any) -> list[int]:
    ids = []
    for i, orders in enumerate(PEOPLE):
        c = Contact.objects.create(first_name=f"p{i}")
        ids.append(c.pk)
        for k, (status, total, refunded) in enumerate(orders):
            order = order_create(
                actor=admin_user_p,
                data={
                    "contact_id": c.pk,
                    "total": total,
                    "placed_at": NOW - dt.timedelta(days=k * 20),
                },
            )
            changes: dict[str, Any] = {}
            if refunded != "0":
                changes["refunded_amount"] = refunded
            if status != "completed":
                changes["status"] = status
            if changes:
                order_update(actor=admin_user_p, order=order, data=changes)
    return ids


def _check(tree: dict[str, Any], ids: list[int]) -> set[int]:
    catalogue = Catalogue.load()
    tree = validate(tree, catalogue)
    expected = PyEval(catalogue, NOW, Data()).members(tree)
    bulk = set(Compiler(catalogue, now=NOW).queryset(tree).values_list("pk", flat=True))
    assert bulk == expected, tree
    scoped = set(
        Compiler(catalogue, now=NOW, scoped=True)
        .queryset(tree, Contact.objects.filter(pk__in=ids[1::2]))
        .values_list("pk", flat=True)
    )
    assert scoped == expected & set(ids[1::2]), tree
    return expected


@pytest.mark.parametrize(("measure", "op", "value"), CASES)
def test_conditions_without_window_equal_python_evaluation(people, measure, op, value) -> None:
    tree = {"kind": "orders", "measure": measure, "op": op, "value": value, "within_days": None}
    _check(tree, people)
    _check({"not": tree}, people)


def test_the_summary_decides_and_the_people_cover_the_edges(people) -> None:
    # the average of 10, 10 and 10.01 is not a 2-place decimal; 33.33 + 33.33 + 33.34 is 100
    rule = {"kind": "orders", "measure": "average", "op": "gt", "value": 10, "within_days": None}
    assert people[4] in _check(rule, people)
    rule = {"kind": "orders", "measure": "total", "op": "eq", "value": 100, "within_days": None}
    assert {people[2], people[3], people[8], people[9]} == _check(rule, people)
    # A summary that disagreed with the orders would show: the compiler reads only it
    ContactPurchaseSummary.objects.filter(contact_id=people[2]).update(total=Decimal("5"))
    catalogue = Catalogue.load()
    tree = validate(rule, catalogue)
    got = set(Compiler(catalogue, now=NOW).queryset(tree).values_list("pk", flat=True))
    assert people[2] not in got


def _sql(rule: dict[str, Any]) -> str:
    catalogue = Catalogue.load()
    qs = Compiler(catalogue, now=NOW).queryset(validate(rule, catalogue))
    return str(qs.query)


def test_only_windowed_conditions_read_the_orders() -> None:
    summary, orders = ContactPurchaseSummary._meta.db_table, Order._meta.db_table
    for measure in ("count", "total", "average"):
        rule = {"kind": "orders", "measure": measure, "op": "gte", "value": 2}
        sql = _sql({**rule, "within_days": None})
        assert summary in sql and orders not in sql
        sql = _sql({**rule, "within_days": 30})
        assert orders in sql and summary not in sql


def test_counted_statuses_agree() -> None:
    assert tuple(COUNTED_ORDER_STATUSES) == COUNTED_STATUSES


def _compare(numbers: list[Any]) -> st.SearchStrategy[tuple[str, Any]]:
    return st.one_of(
        st.tuples(
            st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), st.sampled_from(numbers)
        ),
        st.tuples(
            st.just("between"),
            st.lists(st.sampled_from(numbers), min_size=2, max_size=2).map(sorted),
        ),
    )


def _leaf_of(measure: str, numbers: list[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return _compare(numbers).map(
        lambda cmp: {
            "kind": "orders",
            "measure": measure,
            "op": cmp[0],
            "value": cmp[1],
            "within_days": None,
        }
    )


_leaf = st.one_of(
    _leaf_of("count", [0, 1, 2, 3]),
    _leaf_of("total", [0, 20, 50.5, 100, 150.25]),
    _leaf_of("average", [0, 20, 50.5, 100, 150.25]),
)
_tree = st.recursive(
    _leaf,
    lambda kids: st.one_of(
        st.builds(lambda c: {"and": c}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda c: {"or": c}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda c: {"not": c}, kids),
    ),
    max_leaves=4,
)
_order = st.tuples(
    st.sampled_from(["completed", "completed", "cancelled", "pending", "refunded"]),
    st.sampled_from(["0", "20", "50.50", "100", "150.25", "33.33"]),
    st.sampled_from(["0", "0", "20", "all"]),
)


@settings(
    max_examples=int(os.environ.get("PATRON_HYPOTHESIS_DB_EXAMPLES", "40")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    orders=st.lists(st.lists(_order, max_size=4), min_size=3, max_size=8),
    moves=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 7)), max_size=4),
    trees=st.lists(_tree, min_size=1, max_size=4),
)
def test_property_services_then_conditions_equal_python(admin_user_p, orders, moves, trees) -> None:
    """Orders written through the services (create, refund, status change), then trees of
    purchase conditions: compiled (both modes) == Python, and the summary == a rebuild."""
    from patron.commerce.services import order_delete
    from patron.commerce.summary import purchase_summary_rebuild

    with transaction.atomic():
        ids, made = [], []
        for i, mine in enumerate(orders):
            c = Contact.objects.create(first_name=f"h{i}")
            ids.append(c.pk)
            for status, total, refunded in mine:
                o = order_create(
                    actor=admin_user_p,
                    data={"contact_id": c.pk, "total": total, "placed_at": NOW},
                )
                data: dict[str, Any] = {}
                if refunded != "0" and Decimal(total) >= Decimal(20):
                    data["refunded_amount"] = total if refunded == "all" else refunded
                if status != "completed":
                    data["status"] = status
                if data:
                    order_update(actor=admin_user_p, order=o, data=data)
                made.append(o.pk)
        for k, _ in moves:  # deletions through the service
            if made:
                order_delete(actor=admin_user_p, order=made.pop(k % len(made)))
        for tree in trees:
            _check({"and": [tree]}, ids)
        incremental = list(ContactPurchaseSummary.objects.order_by("pk").values())
        purchase_summary_rebuild()
        assert list(ContactPurchaseSummary.objects.order_by("pk").values()) == incremental
        transaction.set_rollback(True)


def test_average_is_sql_avg_on_this_database(people) -> None:
    """The summary's total / count compares as AVG over the orders did (same SQL type)."""
    from django.db.models import Avg, F

    from patron.commerce.summary import AverageOrderValue

    grouped = dict(
        Order.objects.filter(status__in=COUNTED_STATUSES)
        .values("contact_id")
        .annotate(v=Avg(F("total") - F("refunded_amount")))
        .values_list("contact_id", "v")
    )
    mine = dict(
        ContactPurchaseSummary.objects.annotate(v=AverageOrderValue()).values_list(
            "contact_id", "v"
        )
    )
    assert mine.keys() == grouped.keys()
    for cid, v in grouped.items():
        assert mine[cid] == v, (connection.vendor, cid, mine[cid], v)
