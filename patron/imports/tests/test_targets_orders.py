"""Importing orders with lines: grouping, contacts, money, products, idempotence, rollback."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from patron.commerce.models import Order, OrderLine, Product
from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.core.tests.api_client import db_state
from patron.imports.mapping import auto_map
from patron.imports.selectors import import_report_rows
from patron.imports.services import import_job_rollback
from patron.imports.tests.target_helpers import assert_only_import_state_changed, check, run

pytestmark = pytest.mark.django_db

HEADER = ["Bestellnummer", "E-Mail", "Währung", "Bestelldatum", "Artikelnummer", "Produkt",
          "Menge", "Preis", "Status"]  # fmt: skip
ROWS = [
    HEADER,
    ["A-1", "jane@example.com", "EUR", "2024-03-01", "SKU-1", "Mug", "2", "9.50", "paid"],
    ["A-1", "jane@example.com", "EUR", "2024-03-01", "SKU-2", "Tea", "1", "4.00", "paid"],
    ["A-2", "JANE@Example.com", "EUR", "03/04/2024", "SKU-1", "Mug", "1", "9.50", ""],
    ["A-3", "nobody@example.com", "EUR", "2024-03-05", "SKU-3", "Pot", "1", "20", ""],
    ["A-4", "jane@example.com", "EUR", "2024-03-06", "SKU-3", "Pot", "x", "20", ""],
]


@pytest.fixture
def jane(admin_user_p: Any) -> Contact:
    return contact_create(actor=admin_user_p, data={"email": "jane@example.com"})


def _state() -> list[Any]:
    return [
        list(Order.objects.order_by("pk").values()),
        list(OrderLine.objects.order_by("pk").values()),
        list(Product.objects.order_by("pk").values()),
    ]


def test_shop_export_headers_map_to_order_fields() -> None:
    assert auto_map(HEADER, target="orders") == {
        "Bestellnummer": "order_id",
        "E-Mail": "email",
        "Währung": "currency",
        "Bestelldatum": "placed_at",
        "Artikelnummer": "sku",
        "Produkt": "product_name",
        "Menge": "quantity",
        "Preis": "unit_price",
        "Status": "status",
    }


def test_dry_run_groups_lines_and_reports_bad_rows(
    admin_user_p: Any, jane: Contact, write_csv: Any
) -> None:
    path = write_csv(ROWS)
    before = db_state()
    job = check(admin_user_p, path, "orders")
    # Two orders (A-1 with two lines, A-2), and two refused: unknown contact, bad quantity
    assert job.preview["counts"]["created"] == 2
    assert job.preview["counts"]["error"] == 2
    issues = {i["row"]: i for i in job.preview["issues"]}
    assert issues[5]["column"] == "E-Mail" and "nobody@example.com" in issues[5]["reason"]
    assert issues[6]["column"] == "Menge" and issues[6]["reason"] == "Expected a number."
    assert_only_import_state_changed(before, db_state())


def test_run_reimport_and_rollback(admin_user_p: Any, jane: Contact, write_csv: Any) -> None:
    Product.objects.create(sku="SKU-2", name="Tea", price=Decimal("4.00"), currency="EUR")
    before = _state()
    path = write_csv(ROWS)
    checked, job = run(admin_user_p, path, "orders")
    assert job.status == "done" and job.counts == checked.preview["counts"]
    a1 = Order.objects.get(external_id="A-1")
    assert a1.contact_id == jane.pk and a1.currency == "EUR" and a1.status == "completed"
    assert a1.total == Decimal("23.00")
    assert sorted(a1.lines.values_list("sku", "quantity")) == [
        ("SKU-1", Decimal("2.000")),
        ("SKU-2", Decimal("1.000")),
    ]
    a2 = Order.objects.get(external_id="A-2")
    assert a2.placed_at.date().isoformat() in ("2024-03-04", "2024-04-03")
    # Products were created on the fly (SKU-1); the existing one was reused
    assert sorted(Product.objects.values_list("sku", flat=True)) == ["SKU-1", "SKU-2"]
    # Re-import: nothing new
    after_first = _state()
    _, again = run(admin_user_p, path, "orders")
    assert again.counts["created"] == 0 and again.counts["unchanged"] == 2
    assert _state() == after_first
    # The report names every order row outcome
    actions = {line[0]: line[1] for line in import_report_rows(admin_user_p, job.pk)}
    assert actions == {2: "created", 4: "created", 5: "error", 6: "error"}
    # Rollback: orders and the product created on the fly are gone, the old product stays
    import_job_rollback(actor=admin_user_p, job=job)
    assert _state() == before


def test_a_status_change_updates_and_rollback_restores_it(
    admin_user_p: Any, jane: Contact, write_csv: Any
) -> None:
    first = write_csv([["Order id", "Email", "Status", "SKU", "Price"],
                       ["B-1", "jane@example.com", "pending", "S", "5"]])  # fmt: skip
    run(admin_user_p, first, "orders")
    second = write_csv([["Order id", "Email", "Status", "SKU", "Price"],
                        ["B-1", "jane@example.com", "cancelled", "S", "5"]])  # fmt: skip
    checked, job = run(admin_user_p, second, "orders")
    assert checked.preview["counts"]["updated"] == 1
    assert Order.objects.get(external_id="B-1").status == "cancelled"
    import_job_rollback(actor=admin_user_p, job=job)
    assert Order.objects.get(external_id="B-1").status == "pending"


def test_orders_of_contacts_outside_scope_are_refused(
    make_user: Any, admin_user_p: Any, write_csv: Any
) -> None:
    # Given a restricted role that may import orders but sees only its own contacts
    from patron.accounts.models import Role
    from patron.core.permissions import P

    role = Role.objects.get(key="sales")
    role.permissions = sorted({*role.permissions, P.IMPORT})
    role.save()
    from patron.core.services import workspace_get

    ws = workspace_get()
    ws.restricted_visibility = "own"
    ws.save()
    rep = make_user("sales")
    other = contact_create(actor=admin_user_p, data={"email": "other@example.com"})
    mine = contact_create(actor=rep, data={"email": "mine@example.com"})
    assert other.owner_id != rep.pk and mine.owner_id == rep.pk
    path = write_csv([["Order id", "Email", "SKU"],
                      ["C-1", "other@example.com", "S"],
                      ["C-2", "mine@example.com", "S"]])  # fmt: skip
    # When the rep imports it, the order of someone else's contact is refused as unknown
    _, job = run(rep, path, "orders")
    assert job.counts["error"] == 1 and job.counts["created"] == 1
    assert list(Order.objects.values_list("external_id", "contact_id")) == [("C-2", mine.pk)]
