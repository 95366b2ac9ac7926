"""The orders import's bulk path (ADR 0083): what the per-order path stored, stored per
chunk with a fixed number of statements; collisions fall back to the per-order path;
a rollback restores what a "refunded" status change did to the refunded amount."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from patron.commerce.models import ContactPurchaseSummary, Order, OrderLine, Product
from patron.commerce.services import order_create
from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.contacts.timeline import contact_timeline
from patron.core.models import Activity
from patron.imports.models import ImportRow
from patron.imports.selectors import import_report_rows
from patron.imports.services import import_job_rollback
from patron.imports.targets import orders as orders_target
from patron.imports.targets.base import Target
from patron.imports.tests.target_helpers import run
from patron.segments.models import SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db

HEADER = ["Order id", "Email", "Customer id", "Currency", "Date", "Status", "Source",
          "Discount", "Tax", "Shipping", "Total", "SKU", "Product", "Category", "Qty",
          "Price", "Line total"]  # fmt: skip
BIG = "20000000000.00"  # a unit price a line takes (14 digits) but a product does not (12)
MIXED = [
    HEADER,
    # two lines, discount/tax/shipping and a total that agrees
    ["M-1", "ann@example.com", "", "EUR", "2024-03-01", "paid", "web",
     "1.00", "2.00", "3.00", "24.00", "N-1", "Mug", "Kitchen", "2", "5.00", ""],
    ["M-1", "ann@example.com", "", "EUR", "2024-03-01", "paid", "web",
     "", "", "", "", "N-2", "Tea", "", "1", "10.00", ""],
    # found by the customer id; refunded (the whole total is refunded)
    ["M-2", "", "cust-bo", "usd", "05/03/2024", "refunded", "", "", "", "", "", "N-1",
     "Mug", "", "1", "5.00", ""],
    # a total that does not add up
    ["M-3", "ann@example.com", "", "EUR", "", "", "", "", "", "", "99.00", "N-3", "Pot",
     "", "1", "20.00", ""],
    # the second line is bad: reported on its own row and column
    ["M-4", "ann@example.com", "", "EUR", "", "", "", "", "", "", "", "N-3", "Pot", "",
     "1", "20.00", ""],
    ["M-4", "ann@example.com", "", "EUR", "", "", "", "", "", "", "", "N-4", "Lid", "",
     "-1", "2.00", ""],
    # unknown currency; unknown customer; a bad email; lines that disagree on the date
    ["M-5", "ann@example.com", "", "ZZZ", "", "", "", "", "", "", "", "N-1", "Mug", "", "1",
     "5.00", ""],
    ["M-6", "nobody@example.com", "", "EUR", "", "", "", "", "", "", "", "N-1", "Mug", "",
     "1", "5.00", ""],
    ["M-7", "not an email", "", "EUR", "", "", "", "", "", "", "", "N-1", "Mug", "", "1",
     "5.00", ""],
    ["M-8", "ann@example.com", "", "EUR", "2024-01-01", "", "", "", "", "", "", "N-1",
     "Mug", "", "1", "5.00", ""],
    ["M-8", "ann@example.com", "", "EUR", "2024-01-02", "", "", "", "", "", "", "N-1",
     "Mug", "", "1", "5.00", ""],
    # a new SKU whose price no product may have: the order is refused, and the next
    # order with that SKU creates it with its own price
    ["M-9", "ann@example.com", "", "EUR", "", "", "", "", "", "", "", "N-5", "Big", "",
     "1", BIG, ""],
    ["M-10", "ann@example.com", "", "EUR", "", "pending", "", "", "", "", "", "N-5", "Big",
     "", "1", "7.00", "7.00"],
    # a line without SKU; an over-long source; an unknown status
    ["M-11", "bo@example.com", "", "EUR", "", "", "", "", "", "", "", "", "Gift wrap", "",
     "1", "1.50", ""],
    ["M-12", "bo@example.com", "", "EUR", "", "", "x" * 121, "", "", "", "", "N-1", "Mug",
     "", "1", "5.00", ""],
    ["M-13", "bo@example.com", "", "EUR", "", "lost", "", "", "", "", "", "N-1", "Mug", "",
     "1", "5.00", ""],
    # M-10 again further down the file, now completed: the order just created is updated
    ["M-10", "ann@example.com", "", "EUR", "", "completed", "", "", "", "", "", "N-5", "Big",
     "", "1", "7.00", "7.00"],
    # an order already in the database: status and source change
    ["OLD-1", "bo@example.com", "", "EUR", "", "cancelled", "shop", "", "", "", "", "N-1",
     "Mug", "", "1", "5.00", ""],
]  # fmt: skip


@pytest.fixture
def people(admin_user_p: Any) -> tuple[Contact, Contact]:
    ann = contact_create(actor=admin_user_p, data={"email": "ann@example.com"})
    bo = contact_create(
        actor=admin_user_p, data={"email": "bo@example.com", "external_id": "cust-bo"}
    )
    return ann, bo


def _old(admin: Any, bo: Contact) -> None:
    order_create(
        actor=admin,
        data={"contact_id": bo.pk, "external_id": "OLD-1", "status": "pending",
              "lines": [{"sku": "N-1", "name": "Mug", "unit_price": "5.00"}]},
    )  # fmt: skip


def _state() -> dict[str, Any]:
    """Everything an orders import writes, without ids and times (keyed by order id)."""
    ext = dict(Order.objects.values_list("pk", "external_id"))
    skus = dict(Product.objects.values_list("pk", "sku"))
    drop = {"id", "created_at", "updated_at", "order_id", "product_id"}

    def clean(row: Any) -> dict[str, Any]:
        return {k: v for k, v in dict(row).items() if k not in drop}

    orders = {o["external_id"]: _recent(clean(o)) for o in Order.objects.values()}
    lines = sorted(
        (ext[ln["order_id"]], skus.get(ln["product_id"]), sorted(clean(ln).items()))
        for ln in OrderLine.objects.values()
    )
    products = sorted(sorted(clean(p).items()) for p in Product.objects.values())
    entries = sorted(
        (
            a.verb,
            a.subject_type,
            a.subject_label,
            a.contact_id,
            repr(sorted((k, _recent(v)) for k, v in a.changes.items())),
            a.actor_label,
        )
        for a in Activity.objects.filter(verb__startswith="order.")
        | Activity.objects.filter(verb__startswith="product.")
    )
    summary = sorted(
        ContactPurchaseSummary.objects.values_list("contact_id", "order_count", "total")
    )
    return {"orders": orders, "lines": lines, "products": products, "activity": entries,
            "summary": summary}  # fmt: skip


def _recent(values: dict[str, Any]) -> dict[str, Any]:
    """An order date left out of the file is the time of the import: "now" on both sides."""
    out = dict(values)
    when = out.get("placed_at")
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    if isinstance(when, dt.datetime) and when > timezone.now() - dt.timedelta(hours=1):
        out["placed_at"] = "now"
    return out


def _preview(job: Any) -> dict[str, Any]:
    """The dry run's result, orders named by their external id."""
    ext = dict(Order.objects.values_list("pk", "external_id"))
    out = dict(job.preview)
    out["changes"] = [{**c, "id": ext.get(c["id"])} for c in out["changes"]]
    return out


def _report(actor: Any, job: Any) -> list[tuple[Any, ...]]:
    ext = dict(Order.objects.values_list("pk", "external_id"))
    out = []
    for row, action, oid, column, reason, before, after in import_report_rows(actor, job.pk):
        out.append((row, action, ext.get(oid) if oid else "", column, reason, before, after))
    return out


def _reset() -> None:
    Order.objects.all().delete()
    Product.objects.all().delete()
    Activity.objects.filter(verb__regex=r"^(order|product)\.").delete()
    ContactPurchaseSummary.objects.all().delete()


def _per_order(monkeypatch: Any) -> None:
    """The path before ADR 0083: every order through ``process`` (``order_create``)."""
    monkeypatch.setattr(orders_target.OrdersTarget, "process_chunk", Target.process_chunk)


def test_bulk_path_stores_what_the_per_order_path_stored(
    admin_user_p: Any, people: Any, write_csv: Any, monkeypatch: Any
) -> None:
    # Given a file of good and bad orders of every kind, imported one order at a time
    ann, bo = people
    path = write_csv(MIXED)
    _old(admin_user_p, bo)
    with monkeypatch.context() as m:
        _per_order(m)
        checked, job = run(admin_user_p, path, "orders")
    per_order = (_state(), _preview(checked), job.counts, _report(admin_user_p, job))
    assert job.counts["created"] == 4 and job.counts["updated"] == 2
    assert job.counts["error"] == 9
    # When the same file goes through the bulk path from the same start
    _reset()
    _old(admin_user_p, bo)
    checked, job = run(admin_user_p, path, "orders")
    # Then orders, lines, products, activity, summary, preview, counts and report agree
    bulk = (_state(), _preview(checked), job.counts, _report(admin_user_p, job))
    assert bulk[0] == per_order[0]
    assert bulk[1:] == per_order[1:]
    # (and the values are the right ones, not just the same ones)
    m2 = Order.objects.get(external_id="M-2")
    assert (m2.contact_id, m2.currency, m2.status) == (bo.pk, "USD", "refunded")
    assert m2.refunded_amount == m2.total == Decimal("5.00")
    assert Order.objects.get(external_id="M-10").status == "completed"
    assert Product.objects.get(sku="N-5").price == Decimal("7.00")
    issues = {r[0]: r for r in bulk[3] if r[1] == "error"}
    assert issues[7][3:5] == ("Qty", "Ensure this value is at least 0.")
    assert issues[8][3] == "Currency" and issues[13][3:5] == ("price", "The number is too large.")


def test_statements_do_not_grow_with_the_orders_of_a_chunk(
    admin_user_p: Any, people: Any, write_csv: Any
) -> None:
    # Given two files of new orders, one four times the other (all within one chunk)
    def orders(n: int, prefix: str) -> str:
        rows = [["Order id", "Email", "SKU", "Qty", "Price"]]
        for i in range(n):
            sku = f"{prefix}-{i}"  # every order also brings a new product
            rows += [[f"{prefix}{i}", "ann@example.com", sku, "1", "2.50"],
                     [f"{prefix}{i}", "ann@example.com", "SHARED", "2", "1.00"]]  # fmt: skip
        return write_csv(rows)

    small, large = orders(20, "S"), orders(80, "L")
    counted = []
    for path in (small, large):
        with CaptureQueriesContext(connection) as ctx:
            _, job = run(admin_user_p, path, "orders")
        assert job.counts["created"] == (20 if path == small else 80)
        counted.append(len(ctx.captured_queries))
    # Then the larger one costs (almost) no more statements: not ~20 per order
    assert counted[1] - counted[0] < 10, counted
    assert OrderLine.objects.count() == 200


def test_a_collision_with_another_writer_falls_back_to_one_order_at_a_time(
    admin_user_p: Any, people: Any, write_csv: Any, monkeypatch: Any
) -> None:
    # Given a file of two orders, and another writer who stores "R-2" just before the
    # chunk is written (after the chunk looked it up and found nothing)
    ann, _ = people
    real = orders_target.OrdersTarget._lookups

    def racing(self: Any, ctx: Any, rows: Any) -> Any:
        plan = real(self, ctx, rows)
        Order.objects.create(contact=ann, external_id="R-2", placed_at="2024-01-01T00:00Z")
        return plan

    monkeypatch.setattr(orders_target.OrdersTarget, "_lookups", racing)
    path = write_csv([["Order id", "Email", "SKU", "Price"],
                      ["R-1", "ann@example.com", "S-1", "3"],
                      ["R-2", "ann@example.com", "S-1", "4"]])  # fmt: skip
    # When it is imported
    _, job = run(admin_user_p, path, "orders")
    # Then nothing fails: R-1 is created and R-2 is found to exist (unchanged), once each
    assert job.status == "done"
    assert job.counts["created"] == 1 and job.counts["unchanged"] == 1
    assert set(Order.objects.values_list("external_id", flat=True)) == {"R-1", "R-2"}
    assert Order.objects.get(external_id="R-1").lines.get().unit_price == Decimal("3.00")
    assert Product.objects.filter(sku="S-1").count() == 1


def test_an_order_changed_after_it_was_read_is_decided_on_its_new_value(
    admin_user_p: Any, people: Any, write_csv: Any, monkeypatch: Any
) -> None:
    # Given a pending order, and a file that cancels it
    _, bo = people
    _old(admin_user_p, bo)
    path = write_csv([["Order id", "Email", "Status", "SKU"],
                      ["OLD-1", "bo@example.com", "cancelled", "N-1"]])  # fmt: skip
    real = orders_target.OrdersTarget._lookups

    def then_someone_cancels(self: Any, ctx: Any, rows: Any) -> Any:
        plan = real(self, ctx, rows)
        if not ctx.dry_run:
            Order.objects.filter(external_id="OLD-1").update(status="cancelled")
        return plan

    monkeypatch.setattr(orders_target.OrdersTarget, "_lookups", then_someone_cancels)
    # When the import runs while someone else cancels it in between
    _, job = run(admin_user_p, path, "orders")
    # Then the import sees it is already cancelled: nothing journaled that a rollback
    # would "restore" over the other person's change
    assert job.counts["unchanged"] == 1 and job.counts["updated"] == 0
    import_job_rollback(actor=admin_user_p, job=job)
    assert Order.objects.get(external_id="OLD-1").status == "cancelled"


def test_rollback_of_a_refund_restores_the_refunded_amount(
    admin_user_p: Any, people: Any, write_csv: Any
) -> None:
    # Given a completed order, re-imported as refunded (which refunds its whole total)
    _, bo = people
    first = write_csv([["Order id", "Email", "Status", "SKU", "Price"],
                       ["F-1", "bo@example.com", "completed", "S", "8"]])  # fmt: skip
    run(admin_user_p, first, "orders")
    summary = list(ContactPurchaseSummary.objects.values_list("contact_id", "total"))
    second = write_csv([["Order id", "Email", "Status", "SKU", "Price"],
                        ["F-1", "bo@example.com", "refunded", "S", "8"]])  # fmt: skip
    _, job = run(admin_user_p, second, "orders")
    order = Order.objects.get(external_id="F-1")
    assert (order.status, order.refunded_amount) == ("refunded", Decimal("8.00"))
    row = ImportRow.objects.get(job=job, action="updated")
    assert row.changes["before"] == {"status": "completed", "refunded_amount": "0.00"}
    # When it is rolled back
    report = import_job_rollback(actor=admin_user_p, job=job).rollback_report
    # Then the order is completed with nothing refunded, and counts in the summary again
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == ("completed", Decimal("0.00"))
    assert report["conflicts"] == []
    assert list(ContactPurchaseSummary.objects.values_list("contact_id", "total")) == summary


def test_rollback_deletes_each_order_with_its_entry_and_summary(
    admin_user_p: Any, people: Any, write_csv: Any
) -> None:
    # Given an import of three orders for two people
    ann, bo = people
    path = write_csv([["Order id", "Email", "SKU", "Price"],
                      ["D-1", "ann@example.com", "S", "3"],
                      ["D-2", "ann@example.com", "S", "4"],
                      ["D-3", "bo@example.com", "S", "5"]])  # fmt: skip
    _, job = run(admin_user_p, path, "orders")
    ids = dict(Order.objects.values_list("external_id", "pk"))
    assert dict(ContactPurchaseSummary.objects.values_list("contact_id", "order_count")) == {
        ann.pk: 2,
        bo.pk: 1,
    }
    # When it is rolled back
    report = import_job_rollback(actor=admin_user_p, job=job).rollback_report
    # Then the orders, their lines, the new product and the summaries are gone, and each
    # deletion is in the activity log with the order as it was
    assert report["removed"] == 3 and report["products_removed"] == 1
    assert not Order.objects.exists() and not OrderLine.objects.exists()
    assert not ContactPurchaseSummary.objects.exists()
    deleted = Activity.objects.filter(verb="order.deleted")
    assert sorted(deleted.values_list("subject_id", "contact_id")) == sorted(
        [(ids["D-1"], ann.pk), (ids["D-2"], ann.pk), (ids["D-3"], bo.pk)]
    )
    assert deleted.get(subject_id=ids["D-3"]).changes["before"]["total"] == "5.00"


def test_each_imported_order_is_on_its_customers_timeline(
    admin_user_p: Any, people: Any, write_csv: Any
) -> None:
    ann, _ = people
    path = write_csv([["Order id", "Email", "SKU", "Price"],
                      ["T-1", "ann@example.com", "S", "3"],
                      ["T-2", "ann@example.com", "S", "4"]])  # fmt: skip
    run(admin_user_p, path, "orders")
    items = contact_timeline(admin_user_p, ann.pk)
    shown = {i.meta.get("order_id") for i in items if i.kind == "order"}
    assert shown == set(Order.objects.values_list("pk", flat=True))
    created = [i for i in items if i.meta.get("verb") == "order.created"]
    assert len(created) == 2 and all(i.meta["changes"]["after"]["lines"] == 1 for i in created)


def test_imported_orders_reach_live_segments_once_the_chunk_commits(
    admin_user_p: Any,
    people: Any,
    write_csv: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    ann, bo = people
    seg = segment_create(actor=admin_user_p, data={"name": "Buyers", "text": "orders count >= 2"})
    segment_build(segment_id=seg.pk)
    path = write_csv([["Order id", "Email", "SKU", "Price"],
                      ["G-1", "ann@example.com", "S", "3"],
                      ["G-2", "ann@example.com", "S", "4"],
                      ["G-3", "bo@example.com", "S", "5"]])  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        _, job = run(admin_user_p, path, "orders")

    def members() -> set[int]:
        live = SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True)
        return set(live.values_list("contact_id", flat=True))

    assert members() == {ann.pk}
    with django_capture_on_commit_callbacks(execute=True):
        import_job_rollback(actor=admin_user_p, job=job)
    assert members() == set()


def test_a_changed_order_date_is_previewed_and_rolled_back(
    admin_user_p: Any, people: Any, write_csv: Any
) -> None:
    # Given an imported order, and a file that moves its date
    header = ["Order id", "Email", "Date", "SKU"]
    run(admin_user_p, write_csv([header, ["W-1", "ann@example.com", "2024-03-01", "S"]]), "orders")
    moved = write_csv([header, ["W-1", "ann@example.com", "2024-03-02T10:00:00+00:00", "S"]])
    # When it is checked and run (the dry run used to fail storing a datetime in the preview)
    checked, job = run(admin_user_p, moved, "orders")
    (change,) = checked.preview["changes"]
    assert change["after"] == {"placed_at": "2024-03-02T10:00:00+00:00"}
    assert change["before"]["placed_at"].startswith("2024-03-01T00:00:00")
    assert (
        Order.objects.get(external_id="W-1").placed_at.isoformat() == change["after"]["placed_at"]
    )
    # Then a rollback puts the first date back
    import_job_rollback(actor=admin_user_p, job=job)
    restored = Order.objects.get(external_id="W-1").placed_at
    assert restored.isoformat() == change["before"]["placed_at"]
