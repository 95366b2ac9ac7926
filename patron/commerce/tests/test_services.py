"""Order and product services: totals, validation, refunds, scope, activity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.selectors import order_get, orders_visible_to
from patron.commerce.services import order_create, order_delete, order_update, product_upsert
from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state, own_records_only

pytestmark = pytest.mark.django_db


def _order(world, **data) -> Order:
    return order_create(actor=world.admin, data={"contact_id": world.ids["mine_contact"], **data})


def test_totals_are_computed_from_lines(world):
    order = _order(
        world,
        currency="eur",
        lines=[
            {"sku": "TEA-1", "name": "Green tea", "quantity": "3", "unit_price": "2.99"},
            {"name": "Gift wrap", "unit_price": 1},
        ],
        discount="1.00",
        tax="2.10",
        shipping="4.90",
    )
    assert order.currency == "EUR"
    assert order.subtotal == Decimal("9.97")
    assert order.total == Decimal("9.97") - 1 + Decimal("2.10") + Decimal("4.90")
    lines = list(order.lines.order_by("id"))
    assert [line.total for line in lines] == [Decimal("8.97"), Decimal("1.00")]
    assert all(line.contact_id == order.contact_id for line in lines)
    assert lines[0].product.sku == "TEA-1" and lines[0].product.price == Decimal("2.99")
    assert lines[1].product is None


def test_total_alone_is_enough(world):
    order = _order(world, total="99.90", tax="9.90")
    assert (order.subtotal, order.total) == (Decimal("90.00"), Decimal("99.90"))
    assert order.lines.count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lines": [{"name": "A", "unit_price": "5"}], "subtotal": "4"}, "subtotal"),
        ({"lines": [{"name": "A", "unit_price": "5"}], "total": "6"}, "total"),
        ({"subtotal": "10", "discount": "11"}, "total"),
        ({"total": "1.005"}, "total"),
        ({"total": "-5"}, "total"),
        ({"total": "1e20"}, "total"),
        ({"total": "NaN"}, "total"),
        ({"total": True}, "total"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "ZZZ"}, "currency"),
        ({"currency": 840}, "currency"),
        ({"status": "shipped"}, "status"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"placed_at": "1066-10-14T09:00:00"}, "placed_at"),
        ({"total": "10", "refunded_amount": "11"}, "refunded_amount"),
        ({"lines": "tea"}, "lines"),
        ({"lines": [{"name": "A", "quantity": "0"}]}, "lines.0.quantity"),
        ({"lines": [{"name": "A", "quantity": "0.0001"}]}, "lines.0.quantity"),
        ({"lines": [{"unit_price": "1"}]}, "lines.0.name"),
        ({"lines": [{"name": "A", "discount": "1"}]}, "lines.0.discount"),
        ({"lines": [{"name": "n" * 201}]}, "lines.0.name"),
        ({"source": "s" * 121}, "source"),
        ({"owner_id": 1}, "owner_id"),
    ],
)
def test_invalid_orders_are_refused_and_nothing_is_written(world, data, field):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        _order(world, **data)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert db_state() == before


def test_duplicate_external_id_is_a_field_error(world):
    _order(world, external_id="shop-1", total="1")
    with pytest.raises(ValidationError) as exc:
        _order(world, external_id="shop-1", total="2")
    assert list(exc.value.message_dict) == ["external_id"]
    assert Order.objects.filter(external_id="shop-1").count() == 1


def test_create_records_activity_on_the_contact(world):
    order = _order(world, external_id="A-1", lines=[{"name": "Tea", "unit_price": "4"}])
    entry = Activity.objects.get(verb="order.created", subject_id=order.pk)
    assert entry.contact_id == order.contact_id
    assert entry.changes["after"]["total"] == "4.00"
    assert entry.changes["after"]["lines"] == 1


def test_refunds_set_the_status_and_amount(world):
    order = _order(world, total="50")
    order = order_update(actor=world.admin, order=order, data={"refunded_amount": "20"})
    assert order.status == Order.Status.PARTIALLY_REFUNDED
    order = order_update(actor=world.admin, order=order, data={"refunded_amount": "50"})
    assert order.status == Order.Status.REFUNDED
    order = order_update(actor=world.admin, order=order, data={"refunded_amount": "0"})
    assert order.status == Order.Status.COMPLETED
    order = order_update(actor=world.admin, order=order, data={"status": "refunded"})
    assert order.refunded_amount == Decimal("50.00")
    verbs = Activity.objects.filter(subject_id=order.pk, verb="order.updated")
    assert verbs.count() == 4
    assert verbs.last().changes == {
        "before": {"status": "completed", "refunded_amount": "0.00"},
        "after": {"status": "refunded", "refunded_amount": "50.00"},
    }
    with pytest.raises(ValidationError) as exc:
        order_update(actor=world.admin, order=order, data={"refunded_amount": "50.01"})
    assert "refunded_amount" in exc.value.message_dict


def test_update_refuses_lines_and_amounts(world):
    order = _order(world, total="5")
    for key in ("total", "lines", "contact_id", "currency"):
        with pytest.raises(ValidationError) as exc:
            order_update(actor=world.admin, order=order, data={key: "1"})
        assert key in exc.value.message_dict


def test_update_without_changes_records_nothing(world):
    order = _order(world, total="5", source="shop")
    before = Activity.objects.count()
    order_update(actor=world.admin, order=order, data={"source": "shop"})
    assert Activity.objects.count() == before


def test_delete_removes_order_and_lines(world):
    order = _order(world, lines=[{"name": "A", "unit_price": "1"}])
    order_delete(actor=world.admin, order=order.pk)
    assert not Order.objects.filter(pk=order.pk).exists()
    assert not OrderLine.objects.filter(order_id=order.pk).exists()
    entry = Activity.objects.get(verb="order.deleted")
    assert entry.contact_id == world.ids["mine_contact"] and entry.subject_id == order.pk


def test_scope_out_of_sight_orders_do_not_exist(world):
    own_records_only(world.admin)
    theirs = world.ids["theirs_order"]
    assert set(orders_visible_to(world.rep).values_list("pk", flat=True)) == {
        world.ids["mine_order"]
    }
    before = db_state()
    with pytest.raises(Order.DoesNotExist):
        order_update(actor=world.rep, order=theirs, data={"status": "cancelled"})
    with pytest.raises(Order.DoesNotExist):
        order_delete(actor=world.rep, order=theirs)
    with pytest.raises(Contact.DoesNotExist):
        order_create(
            actor=world.rep, data={"contact_id": world.ids["theirs_contact"], "total": "1"}
        )
    assert db_state() == before
    with pytest.raises(Exception) as exc:
        order_get(world.rep, theirs)
    assert exc.typename == "Http404"


def test_permission_is_checked_before_anything(world, make_user):
    support = make_user("support", password=None)  # sees orders, cannot edit them
    before = db_state()
    with pytest.raises(PermissionDenied):
        order_create(actor=support, data={"contact_id": world.ids["mine_contact"]})
    with pytest.raises(PermissionDenied):
        order_update(actor=support, order=world.ids["mine_order"], data={"status": "cancelled"})
    with pytest.raises(PermissionDenied):
        order_delete(actor=support, order=world.ids["mine_order"])
    with pytest.raises(PermissionDenied):
        product_upsert(actor=support, data={"sku": "X"})
    assert db_state() == before


def test_product_upsert_creates_then_updates(world):
    product, created = product_upsert(
        actor=world.admin, data={"sku": "MUG", "name": "Mug", "price": "8.50", "currency": "usd"}
    )
    assert created and product.currency == "USD"
    product, created = product_upsert(actor=world.admin, data={"sku": "MUG", "price": "9"})
    assert not created and product.price == Decimal("9.00") and product.name == "Mug"
    assert Product.objects.count() == 1
    assert list(Activity.objects.filter(subject_type="product").values_list("verb", flat=True)) == [
        "product.created",
        "product.updated",
    ]
    with pytest.raises(ValidationError):
        product_upsert(actor=world.admin, data={"sku": ""})


def test_existing_product_is_linked_not_changed(world):
    product_upsert(actor=world.admin, data={"sku": "MUG", "name": "Mug", "price": "8.50"})
    order = _order(world, lines=[{"sku": "MUG", "name": "Cheap mug", "unit_price": "1"}])
    line = order.lines.get()
    assert line.product.name == "Mug" and line.product.price == Decimal("8.50")
    assert line.name == "Cheap mug"


def test_naive_placed_at_is_made_aware(world):
    order = _order(world, total="1", placed_at="2024-05-01T10:00:00")
    assert order.placed_at.tzinfo is not None
    assert order.placed_at == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC)
