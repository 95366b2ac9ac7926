"""``commerce.bulk``: the bulk import's order changes are ``order_update``'s, value for
value and error for error (both clean through ``order_update_clean``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.commerce.bulk import order_change_apply, order_update_values
from patron.commerce.models import Order
from patron.commerce.services import ORDER_TRACKED, order_create, order_update
from patron.contacts.services import contact_create

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2024, 3, 1, 10, 30, tzinfo=dt.UTC)

GOOD: list[dict[str, Any]] = [
    {"status": "cancelled"},
    {"status": "refunded"},  # refunds the whole total
    {"status": "refunded", "refunded_amount": "3.00"},
    {"refunded_amount": "5.00"},  # implies "partially_refunded"
    {"refunded_amount": "20.00"},  # implies "refunded"
    {"refunded_amount": 0},
    {"placed_at": "2024-03-01T10:30:00Z"},
    {"placed_at": WHEN},
    {"placed_at": "2024-03-01 12:30"},  # naive: workspace time
    {"source": "  Shopify  "},
    {"source": ""},
    {"source": "<script>alert(1)</script>"},
    {"source": '=HYPERLINK("http://evil.example")'},
    {"source": "'; DROP TABLE commerce_order; --"},
    {"source": "Caf\u0065\u0301 \u00e9"},  # normalised to NFC
    {"source": "line\r\nBcc: victim@example.com"},  # control characters dropped
    {"source": "nul\x00byte"},
    {"external_id": "  NEW-1  "},
    {"external_id": ""},  # no external id
    {"external_id": None},
    {"status": "pending", "placed_at": "2023-12-31T23:59:59+01:00", "source": "pos"},
    {},
]
BAD: list[Any] = [
    {"status": "REFUNDED"},
    {"status": "bogus"},
    {"status": ["completed"]},
    {"status": None},
    {"status": 1},
    {"placed_at": "yesterday"},
    {"placed_at": 1_700_000_000},
    {"placed_at": "1900-01-01T00:00:00Z"},
    {"placed_at": "2999-01-01T00:00:00Z"},
    {"placed_at": None},
    {"source": 42},
    {"source": ["web"]},
    {"source": "x" * 121},
    {"refunded_amount": "-1.00"},
    {"refunded_amount": "20.01"},  # more than the total
    {"refunded_amount": "1.005"},
    {"refunded_amount": "NaN"},
    {"refunded_amount": "1e400"},
    {"refunded_amount": "ten"},
    {"refunded_amount": True},
    {"refunded_amount": None},
    {"refunded_amount": [5]},
    {"external_id": "x" * 121},
    {"external_id": 123},
    {"currency": "XYZ"},  # not a field an update may change, known currency or not
    {"currency": "EUR"},
    {"total": "-5.00"},
    {"contact_id": 1},
    {"status__in": ["completed"]},
    {"__class__": "Order"},
    {"status": "bogus", "source": 42, "refunded_amount": "-1"},  # several errors at once
    {"status": "refunded", "refunded_amount": "25.00"},
]


def _label(data: Any) -> str:
    return repr(data)[:50]


@pytest.fixture
def order(admin_user_p: Any) -> Order:
    """A completed order of 20.00, nothing refunded."""
    contact = contact_create(actor=admin_user_p, data={"email": "buyer@example.com"})
    return order_create(
        actor=admin_user_p,
        data={"contact_id": contact.pk, "external_id": "O-1", "total": "20.00"},
    )


def _fields(order: Order) -> dict[str, Any]:
    """The order's tracked fields (datetimes compared as instants, whatever their zone)."""
    return {k: getattr(order, k) for k in ORDER_TRACKED}


def _bulk(order: Order, data: dict[str, Any]) -> tuple[Any, Any]:
    """(values, order as it would be written) or (None, the error's messages)."""
    stored = Order.objects.get(pk=order.pk)
    try:
        values = order_update_values(stored, data)
    except ValidationError as exc:
        return None, list(exc.message_dict.items())
    return values, _fields(order_change_apply(stored, values).order)


def _service(actor: Any, order: Order, data: dict[str, Any], keys: Any) -> tuple[Any, Any]:
    """The same from ``order_update``: what it stored for ``keys`` and the order."""
    try:
        updated = order_update(actor=actor, order=order.pk, data=data)
    except ValidationError as exc:
        return None, list(exc.message_dict.items())
    stored = Order.objects.get(pk=updated.pk)
    return {k: getattr(stored, k) for k in keys}, _fields(stored)


@pytest.mark.parametrize("data", GOOD, ids=_label)
def test_good_input_gives_the_values_order_update_stores(
    admin_user_p: Any, order: Order, data: dict[str, Any]
) -> None:
    # Given a stored order, when the same good change goes through the bulk cleaner and
    # through order_update
    values, bulk_order = _bulk(order, data)
    assert values is not None, bulk_order
    service_values, service_order = _service(admin_user_p, order, data, values)
    # Then both clean it to the same values and the order ends up the same
    assert service_values == values
    assert bulk_order == service_order


@pytest.mark.parametrize("data", BAD, ids=_label)
def test_bad_input_gives_order_update_s_errors(
    admin_user_p: Any, order: Order, data: dict[str, Any]
) -> None:
    # Given a stored order, when the same bad change goes through both
    values, bulk_errors = _bulk(order, data)
    service_values, service_errors = _service(admin_user_p, order, data, ())
    # Then both refuse it with the same fields and messages, in the same order, and the
    # order is left as it was
    assert values is None and service_values is None
    assert bulk_errors == service_errors
    assert _fields(Order.objects.get(pk=order.pk)) == _fields(order)


def test_refund_rules_follow_the_stored_order(admin_user_p: Any, order: Order) -> None:
    # Given an order partly refunded through order_update
    order_update(actor=admin_user_p, order=order.pk, data={"refunded_amount": "5.00"})
    stored = Order.objects.get(pk=order.pk)
    assert stored.status == Order.Status.PARTIALLY_REFUNDED
    # When the bulk cleaner takes the refund back
    values = order_update_values(stored, {"refunded_amount": "0"})
    # Then, as order_update would, the order is completed again
    assert values == {"refunded_amount": 0, "status": Order.Status.COMPLETED}
    updated = order_update(actor=admin_user_p, order=order.pk, data={"refunded_amount": "0"})
    assert updated.status == Order.Status.COMPLETED
