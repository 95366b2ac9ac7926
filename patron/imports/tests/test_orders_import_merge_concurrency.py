"""The orders import's bulk writes against a merge at the same moment, on PostgreSQL.

The forced interleavings of ``patron/hygiene/tests/test_merge_concurrency_writers.py``
(whose two-connection helpers these use) for the two bulk paths of ADR 0083: an import
chunk writing orders for a contact being merged, and an import rollback deleting orders
while their contact is merged. Both lock the contacts before the orders (ADR 0089).
"""

from __future__ import annotations

import csv
from typing import Any

import pytest
from django.db import connection

from patron.commerce.models import Order
from patron.commerce.services import order_create
from patron.hygiene.services import contact_merge
from patron.hygiene.tests.test_merge_concurrency_writers import (
    Gate,
    Side,
    pair,
    run_interleaved,
    summary_matches_orders,
)
from patron.imports.services import import_job_run, import_job_start
from patron.imports.tests.target_helpers import check

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL"),
]


def _orders_file(tmp_path: Any, email: str) -> str:
    path = tmp_path / "orders.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["Order id", "Email", "Currency", "Total", "SKU", "Qty", "Price"])
        out.writerow(["IMP-1", email, "EUR", "10.00", "S-1", "1", "10.00"])
        out.writerow(["IMP-2", email, "EUR", "6.00", "S-2", "2", "3.00"])
    return str(path)


def test_import_chunk_held_open_then_merge_moves_the_new_orders(
    monkeypatch: Any, admin_user_p: Any, tmp_path: Any
) -> None:
    # Given an orders import for B, held open just before its chunk's bulk write
    a, b = pair()
    import patron.imports.targets.orders.bulk as orders_mod

    checked = check(admin_user_p, _orders_file(tmp_path, b.email), "orders")
    job = import_job_start(actor=admin_user_p, job=checked, enqueue=False)
    writer = Side("writer", lambda: import_job_run(job_id=job.pk))
    gate = Gate(monkeypatch, orders_mod, "orders_import_write", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    # When B is merged into A meanwhile
    run_interleaved(writer, gate, merge)
    # Then the merge waited for the chunk (its contacts were locked first) and moved both
    # new orders to the survivor; nothing failed
    assert writer.error is None, writer.error
    assert writer.result.status == "done", writer.result.status
    assert merge.error is None, merge.error
    assert sorted(Order.objects.values_list("external_id", "contact_id")) == [
        ("IMP-1", a.pk),
        ("IMP-2", a.pk),
    ]
    summary_matches_orders(a.pk, b.pk)


def test_bulk_delete_held_open_then_merge_does_not_deadlock(
    monkeypatch: Any, admin_user_p: Any
) -> None:
    # Given two orders of B being deleted in bulk (as an import rollback does), held open
    # just before the purchase summary refresh
    a, b = pair()
    import patron.commerce.bulk as bulk

    ids = [
        order_create(
            actor=admin_user_p, data={"contact_id": b.pk, "external_id": ext, "total": "5.00"}
        ).pk
        for ext in ("D-1", "D-2")
    ]
    writer = Side("writer", lambda: bulk.orders_delete_bulk(actor=admin_user_p, ids=ids))
    gate = Gate(monkeypatch, bulk, "purchase_summary_refresh", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    # When B is merged into A meanwhile
    run_interleaved(writer, gate, merge)
    # Then neither side hit a deadlock: the orders are gone and the merge went through
    assert writer.error is None, writer.error
    assert writer.result == 2
    assert merge.error is None, merge.error
    assert not Order.objects.filter(pk__in=ids).exists()
    summary_matches_orders(a.pk, b.pk)
