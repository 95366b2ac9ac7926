"""The event processor: orders and refunds from commerce events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from patron.commerce.models import Order
from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.events.models import (
    RejectedMessage,
)
from patron.events.tests.processing_helpers import run, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def _order_completed(order_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": "buyer",
        "event": "Order Completed",
        "properties": {
            "order_id": order_id,
            "total": 27.5,
            "tax": "2.50",
            "currency": "eur",
            "products": [
                {"sku": "TEE-1", "name": "Tee", "price": 10, "quantity": 2},
                {"product_id": "MUG", "name": "Mug", "price": "5.00"},
            ],
            **extra,
        },
    }


def test_order_completed_creates_an_order_once(source_key):
    source, _ = source_key
    send(source, _order_completed("o-1"))
    run()
    # a retry under another message id, and a replay, change nothing
    send(source, _order_completed("o-1"))
    send(source, _order_completed("o-1"))
    run()
    order = Order.objects.get()
    assert (order.external_id, order.total, order.tax, order.currency, order.status) == (
        "o-1",
        Decimal("27.50"),
        Decimal("2.50"),
        "EUR",
        "completed",
    )
    assert sorted(order.lines.values_list("sku", "quantity", "total")) == [
        ("MUG", Decimal("1.000"), Decimal("5.00")),
        ("TEE-1", Decimal("2.000"), Decimal("20.00")),
    ]
    assert order.contact.identities.get().value == "buyer"
    assert Activity.objects.filter(verb="order.created").count() == 1


def test_refunds_partial_full_and_before_completion(source_key):
    source, _ = source_key
    send(source, _order_completed("o-1"))
    send(
        source,
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Refunded",
            "properties": {"order_id": "o-1", "total": 10},
        },
    )
    # a refund that arrives before its order
    send(
        source,
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Refunded",
            "properties": {"order_id": "o-2"},
        },
    )
    run()
    assert Order.objects.get(external_id="o-1").status == "partially_refunded"
    assert Order.objects.get(external_id="o-1").refunded_amount == Decimal("10.00")
    assert Order.objects.get(external_id="o-2").status == "refunded"
    send(source, _order_completed("o-2"))
    run()
    late = Order.objects.get(external_id="o-2")
    assert (late.status, late.total, late.refunded_amount) == (
        "refunded",
        Decimal("27.50"),
        Decimal("27.50"),
    )
    assert late.lines.count() == 2


def test_anonymous_order_is_recorded_once_the_buyer_is_identified(source_key):
    source, _ = source_key
    send(source, {**_order_completed("o-9"), "userId": None, "anonymousId": "guest"})
    run()
    assert not Order.objects.exists()
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "guest"})
    run()
    order = Order.objects.get()
    assert order.contact == Contact.objects.get() and order.total == Decimal("27.50")


def test_order_without_order_id_is_reported(source_key):
    source, _ = source_key
    send(source, {"type": "track", "userId": "u", "event": "Order Completed"})
    run()
    assert not Order.objects.exists()
    assert RejectedMessage.objects.get(stage="processing").reason.endswith("order_id is required")


def test_order_names_in_any_case_make_orders_and_other_events_read_no_properties(source_key):
    from patron.events.models import Event
    from patron.events.services.processing import events_process_batch
    from patron.events.services.processing.reading import _oldest_unprocessed

    # given commerce events named in other cases, and other events with properties and
    # traits
    source, _ = source_key
    refund = {**_order_completed("A-2"), "event": "ORDER refunded"}
    send(
        source,
        {**_order_completed("A-1"), "event": "order COMPLETED"},
        {**refund, "properties": {"order_id": "A-1", "total": 27.5}},
        {"type": "track", "userId": "buyer", "event": "Clicked", "properties": {"x": 1}},
        {"type": "page", "userId": "buyer", "properties": {"url": "https://a.example/"}},
        {"type": "identify", "userId": "buyer", "traits": {"plan": "pro"}},
    )
    # then the processor's read decodes what it uses only
    read = {e.event or e.type: (e.properties, e.traits) for e in _oldest_unprocessed(10)}
    assert read["order COMPLETED"][0]["order_id"] == "A-1"
    assert read["ORDER refunded"][0]["order_id"] == "A-1"
    assert read["Clicked"] == ({}, {}) and read["page"] == ({}, {})
    assert read["identify"] == ({}, {"plan": "pro"})
    # and the order is made and refunded as with its usual name
    assert events_process_batch() == 5
    order = Order.objects.get(external_id="A-1")
    assert order.status == Order.Status.REFUNDED
    # and the events keep their stored properties (the read never writes them)
    assert Event.objects.get(event="Clicked").properties == {"x": 1}
