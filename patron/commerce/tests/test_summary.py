"""The per-contact purchase summary stays exactly what the orders say, on every write path."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.db import connection

from patron.commerce.models import ContactPurchaseSummary, Order
from patron.commerce.services import order_create, order_delete, order_update
from patron.commerce.summary import (
    COUNTED_STATUSES,
    purchase_summary_rebuild,
    purchase_summary_refresh,
)
from patron.contacts.models import Contact
from patron.contacts.services import contact_create, contact_delete

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)
Row = tuple[int, Decimal, dt.datetime, dt.datetime]


def expected() -> dict[int, Row]:
    """What the summary must hold, computed in Python from every order."""
    out: dict[int, list[Any]] = {}
    for o in Order.objects.filter(status__in=COUNTED_STATUSES).order_by("pk"):
        net = o.total - o.refunded_amount
        row = out.get(o.contact_id)
        if row is None:
            out[o.contact_id] = [1, net, o.placed_at, o.placed_at]
        else:
            row[0] += 1
            row[1] += net
            row[2] = min(row[2], o.placed_at)
            row[3] = max(row[3], o.placed_at)
    return {cid: tuple(v) for cid, v in out.items()}  # type: ignore[misc]


def stored() -> dict[int, Row]:
    return {
        s.contact_id: (s.order_count, s.total, s.first_order_at, s.last_order_at)
        for s in ContactPurchaseSummary.objects.all()
    }


def assert_exact() -> None:
    assert stored() == expected()


def _order(actor: Any, contact: Contact, total: str, days: int = 0, **data: Any) -> Order:
    return order_create(
        actor=actor,
        data={
            "contact_id": contact.pk,
            "total": total,
            "placed_at": (T0 + dt.timedelta(days=days)).isoformat(),
            **data,
        },
    )


def test_order_services_keep_the_summary_exact(admin_user_p):
    # Given a contact with two orders
    c = contact_create(actor=admin_user_p, data={"email": "buyer@example.com"})
    a = _order(admin_user_p, c, "40.00", days=2)
    assert stored() == {c.pk: (1, Decimal("40.00"), a.placed_at, a.placed_at)}
    b = _order(admin_user_p, c, "60.50", days=-3)
    assert stored() == {c.pk: (2, Decimal("100.50"), b.placed_at, a.placed_at)}
    # A pending order does not count
    pending = _order(admin_user_p, c, "999.00", status="pending")
    assert_exact()
    assert stored()[c.pk][:2] == (2, Decimal("100.50"))
    # When a partial refund, then a full refund, then a cancellation happen
    order_update(actor=admin_user_p, order=a, data={"refunded_amount": "15.00"})
    assert stored()[c.pk][:2] == (2, Decimal("85.50"))
    order_update(actor=admin_user_p, order=a, data={"status": "refunded"})
    assert stored()[c.pk] == (1, Decimal("60.50"), b.placed_at, b.placed_at)
    order_update(actor=admin_user_p, order=b, data={"status": "cancelled"})
    # Then the contact has no counted order left: no row
    assert stored() == {}
    # A status change that makes an order count again, and a new time
    order_update(actor=admin_user_p, order=pending, data={"status": "completed"})
    order_update(actor=admin_user_p, order=pending, data={"placed_at": (T0 - dt.timedelta(days=9))})
    assert_exact()
    assert stored()[c.pk][:2] == (1, Decimal("999.00"))
    # Deleting it leaves nothing
    order_delete(actor=admin_user_p, order=pending)
    assert stored() == {}
    assert_exact()


def test_refresh_is_a_fixed_number_of_statements(admin_user_p, django_assert_num_queries):
    contacts = [Contact.objects.create(first_name=f"c{i}") for i in range(60)]
    for i, c in enumerate(contacts):
        for k in range(i % 3):
            Order.objects.create(contact=c, total=Decimal(10 + k), placed_at=T0)
    statements = 3 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(statements):
        purchase_summary_refresh([contacts[1].pk])
    with django_assert_num_queries(statements):
        purchase_summary_refresh([c.pk for c in contacts] + [None, 0])
    assert_exact()
    with django_assert_num_queries(0):
        purchase_summary_refresh([])


def test_rebuild_equals_incremental_refreshes(admin_user_p):
    # Given random orders written and changed directly, each change followed by a refresh
    rng = random.Random(61)
    contacts = [Contact.objects.create(first_name=f"c{i}") for i in range(8)]
    orders: list[Order] = []
    statuses = [s for s, _ in Order.Status.choices]
    for step in range(120):
        action = rng.choice(["create", "create", "update", "move", "delete"])
        if action == "create" or not orders:
            o = Order.objects.create(
                contact=rng.choice(contacts),
                status=rng.choice(statuses),
                total=Decimal(rng.randint(0, 30000)) / 100,
                placed_at=T0 + dt.timedelta(minutes=rng.randint(-9999, 9999)),
            )
            o.refunded_amount = (o.total * Decimal(rng.choice([0, 0, 0.25, 1]))).quantize(
                Decimal("0.01")
            )
            o.save(update_fields=["refunded_amount"])
            orders.append(o)
            touched = [o.contact_id]
        else:
            o = rng.choice(orders)
            touched = [o.contact_id]
            if action == "update":
                o.status = rng.choice(statuses)
                o.save(update_fields=["status"])
            elif action == "move":
                o.contact = rng.choice(contacts)
                o.save(update_fields=["contact"])
                touched.append(o.contact_id)
            else:
                orders.remove(o)
                o.delete()
        purchase_summary_refresh(touched)
        if step % 20 == 0:
            assert_exact()
    incremental = stored()
    # When the whole table is rebuilt
    rows = purchase_summary_rebuild()
    # Then it is the same, and both are what the orders say
    assert stored() == incremental == expected()
    assert rows == len(incremental) > 0


def test_migration_backfill_matches_the_rebuild(admin_user_p):
    from importlib import import_module

    migration = import_module("patron.commerce.migrations.0003_purchase_summary")
    c = contact_create(actor=admin_user_p, data={"email": "old@example.com"})
    Order.objects.create(contact=c, total=Decimal("12.30"), placed_at=T0)
    Order.objects.create(
        contact=c, total=Decimal("20"), refunded_amount=Decimal("5"), placed_at=T0,
        status="partially_refunded",
    )  # fmt: skip
    Order.objects.create(contact=c, total=Decimal("7"), placed_at=T0, status="refunded")
    assert stored() == {}
    migration.backfill(global_apps, SimpleNamespace(connection=connection))
    backfilled = stored()
    purchase_summary_rebuild()
    assert backfilled == stored() == expected()
    assert migration.COUNTED == COUNTED_STATUSES


def test_contact_deletion_removes_the_summary(admin_user_p):
    c = contact_create(actor=admin_user_p, data={"email": "gone@example.com"})
    _order(admin_user_p, c, "10.00")
    assert c.pk in stored()
    contact_delete(actor=admin_user_p, contact=c)
    assert stored() == {}


def test_merge_and_undo_keep_the_summary_exact(manager_user_p, admin_user_p):
    from patron.hygiene.services import contact_merge, contact_merge_undo

    a = contact_create(actor=admin_user_p, data={"email": "a@example.com"})
    b = contact_create(actor=admin_user_p, data={"email": "b@example.com"})
    _order(admin_user_p, a, "30.00", days=1)
    first_b = _order(admin_user_p, b, "70.00", days=-5)
    _order(admin_user_p, b, "5.00", days=4, status="cancelled")
    before = stored()
    # When b is merged into a, a's summary counts b's orders and b's is gone
    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    assert stored() == {a.pk: (2, Decimal("100.00"), first_b.placed_at, stored()[a.pk][3])}
    assert_exact()
    # And an undo with nothing changed since gives back exactly the state before
    contact_merge_undo(actor=manager_user_p, merge=record)
    assert stored() == before == expected()
    # A merge, then changes to the moved order and a new order, then the undo
    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    order_update(actor=admin_user_p, order=first_b, data={"refunded_amount": "20.00"})
    _order(admin_user_p, a, "1.00", days=9)
    contact_merge_undo(actor=manager_user_p, merge=record)
    assert_exact()
    assert stored()[b.pk][:2] == (1, Decimal("50.00"))
    assert stored()[a.pk][:2] == (2, Decimal("31.00"))


def _process(source: Any, *messages: dict[str, Any]) -> None:
    from patron.events.services.ingest import events_ingest
    from patron.events.services.processing import events_process_pending

    # A fresh id per message: ``id(m)`` was reused by a later call's dict once the earlier
    # one was freed, and the repeated message id was (rightly) stored once.
    msgs = [{"messageId": uuid.uuid4().hex, **m} for m in messages]
    result = events_ingest(source=source, messages=msgs, received_at=T0)
    assert not result.rejected, result.rejected
    processed, more = events_process_pending()
    assert processed and not more


def _completed(order_id: str, total: float, user: str | None = "buyer") -> dict[str, Any]:
    return {
        "type": "track",
        "userId": user,
        "event": "Order Completed",
        "properties": {"order_id": order_id, "total": total},
        "timestamp": T0.isoformat(),
    }


def _refunded(order_id: str, total: float | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"order_id": order_id}
    if total is not None:
        props["total"] = total
    return {"type": "track", "userId": "buyer", "event": "Order Refunded", "properties": props}


def test_ecommerce_events_keep_the_summary_exact(settings):
    from patron.events.services import source_create

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    source, _ = source_create(actor=None, name="Shop")
    _process(source, _completed("o-1", 40), _completed("o-2", 60))
    buyer = Contact.objects.get()
    assert stored()[buyer.pk][:2] == (2, Decimal("100.00"))
    _process(source, _refunded("o-1", 10))  # partial
    assert stored()[buyer.pk][:2] == (2, Decimal("90.00"))
    _process(source, _refunded("o-2"))  # full: no longer counted
    assert stored()[buyer.pk][:2] == (1, Decimal("30.00"))
    _process(source, _refunded("o-3"))  # a refund before its order: not counted
    _process(source, _completed("o-3", 25))
    assert stored()[buyer.pk][:2] == (1, Decimal("30.00"))
    # An anonymous order counts once its buyer is identified
    _process(source, _completed("o-4", 12.5, user=None) | {"anonymousId": "guest"})
    assert_exact()
    _process(source, {"type": "identify", "userId": "guest-user", "anonymousId": "guest"})
    guest = Contact.objects.exclude(pk=buyer.pk).get()
    assert stored()[guest.pk][:2] == (1, Decimal("12.50"))
    assert_exact()


def test_order_import_and_rollback_keep_the_summary_exact(admin_user_p, tmp_path: Path):
    import csv

    from patron.imports.services import import_job_rollback
    from patron.imports.tests.target_helpers import run

    jane = contact_create(actor=admin_user_p, data={"email": "jane@example.com"})
    _order(admin_user_p, jane, "5.00")
    before = stored()

    def write(name: str, rows: list[list[str]]) -> str:
        path = tmp_path / name
        with open(path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        return str(path)

    header = ["Order id", "Email", "Status", "Order date", "SKU", "Price"]
    jane_at = ["jane@example.com"]
    first = write("a.csv", [header,
                            ["I-1", *jane_at, "completed", "2026-01-02", "S", "20"],
                            ["I-2", *jane_at, "pending", "2026-01-03", "S", "7"]])  # fmt: skip
    _, job = run(admin_user_p, first, "orders")
    assert stored()[jane.pk][:2] == (2, Decimal("25.00"))
    # A re-import that changes a status (pending -> completed) updates the summary
    second = write("b.csv", [header, ["I-2", *jane_at, "completed", "2026-01-03", "S", "7"]])
    _, update_job = run(admin_user_p, second, "orders")
    assert stored()[jane.pk][:2] == (3, Decimal("32.00"))
    assert_exact()
    # Rolling both back restores the summary from before the imports
    import_job_rollback(actor=admin_user_p, job=update_job)
    assert stored()[jane.pk][:2] == (2, Decimal("25.00"))
    import_job_rollback(actor=admin_user_p, job=job)
    assert stored() == before == expected()


def test_erasure_removes_the_summary_and_keeps_everyone_elses(admin_user_p, manager_user_p):
    from patron.hygiene.services import contact_merge
    from patron.privacy.services.erasure import contact_erase

    ada = contact_create(actor=admin_user_p, data={"email": "ada@example.com"})
    twin = contact_create(actor=admin_user_p, data={"email": "ada.l@example.com"})
    bob = contact_create(actor=admin_user_p, data={"email": "bob@example.com"})
    _order(admin_user_p, ada, "10.00")
    _order(admin_user_p, twin, "15.00")
    _order(admin_user_p, bob, "20.00")
    contact_merge(actor=manager_user_p, survivor=ada, merged=twin)
    assert stored()[ada.pk][:2] == (2, Decimal("25.00"))
    # When Ada is erased (her merge journal, with the twin's journaled summary, goes too)
    contact_erase(actor=admin_user_p, contact=ada)
    # Then only Bob's summary is left, still exact
    assert set(stored()) == {bob.pk}
    assert_exact()


def test_the_orders_api_keeps_the_summary_exact(api_key_client, world):
    api = api_key_client("admin")
    contact = world.ids["mine_contact"]

    def mine() -> tuple[Row | None, Row | None]:
        return stored().get(contact), expected().get(contact)

    response = api.post("/orders", {"contact_id": contact, "total": "80.00"})
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    now, want = mine()
    assert now == want and now is not None and now[1] >= Decimal("80.00")
    assert api.patch(f"/orders/{pk}", {"refunded_amount": "30.00"}).status_code == 200
    assert mine()[0] == mine()[1] and mine()[0][1] == want[1] - 30  # type: ignore[index]
    assert api.patch(f"/orders/{pk}", {"status": "cancelled"}).status_code == 200
    assert mine()[0] == mine()[1]
    assert api.delete(f"/orders/{pk}").status_code == 204
    assert mine()[0] == mine()[1]
