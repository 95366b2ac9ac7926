"""Segment e-commerce events to orders: ``Order Completed`` and ``Order Refunded``.

Idempotent by ``order_id`` (the order's ``external_id``): replaying an event, or receiving
it twice under different message ids, leaves the same order and lines. Events may arrive
out of order: a refund seen before its completion creates the order as refunded, and the
completion later fills in totals and lines without undoing the refund.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.summary import purchase_summary_refresh
from patron.core.services import activity_record
from patron.events.models import Event
from patron.events.services.profile import Problems

ORDER_COMPLETED = "order completed"
ORDER_REFUNDED = "order refunded"
COMMERCE_EVENTS = (ORDER_COMPLETED, ORDER_REFUNDED)
MAX_AMOUNT = Decimal("1e12")
MAX_LINES = 500


def is_commerce(event: Event) -> bool:
    return event.type == Event.Type.TRACK and event.event.strip().lower() in COMMERCE_EVENTS


def _money(raw: Any, name: str) -> Decimal | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError(f"{name} must be a number")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValueError(f"{name} must be a number") from exc
    if not value.is_finite() or abs(value) >= MAX_AMOUNT:
        raise ValueError(f"{name} is out of range")
    return value.quantize(Decimal("0.01"))


def _currency(raw: Any) -> str | None:
    if isinstance(raw, str) and len(raw.strip()) == 3 and raw.strip().isalpha():
        return raw.strip().upper()
    return None


def _status(order: Order) -> str:
    if order.refunded_amount <= 0:
        return Order.Status.COMPLETED
    if order.total and order.refunded_amount < order.total:
        return Order.Status.PARTIALLY_REFUNDED
    return Order.Status.REFUNDED


def _lines(props: dict[str, Any]) -> list[dict[str, Any]]:
    products = props.get("products")
    if products is None:
        return []
    if not isinstance(products, list):
        raise ValueError("products must be a list")
    out = []
    for item in products[:MAX_LINES]:
        if not isinstance(item, dict):
            raise ValueError("each product must be an object")
        quantity = _money(item.get("quantity", 1), "quantity") or Decimal("1")
        price = _money(item.get("price"), "price") or Decimal("0")
        sku = str(item.get("sku") or item.get("product_id") or "")[:80]
        out.append(
            {
                "sku": sku,
                "name": str(item.get("name") or sku or "Item")[:200],
                "category": str(item.get("category") or "")[:120],
                "quantity": quantity,
                "unit_price": price,
                "total": (quantity * price).quantize(Decimal("0.01")),
            }
        )
    return out


def order_from_event(*, actor: Any, event: Event, contact_id: int, problems: Problems) -> None:
    """Create or update the order an e-commerce event describes."""
    props = event.properties if isinstance(event.properties, dict) else {}
    order_id = props.get("order_id", props.get("orderId"))
    if isinstance(order_id, bool) or not isinstance(order_id, (str, int)) or not str(order_id):
        problems.add(event, f"{event.event}: order_id is required")
        return
    external_id = str(order_id).strip()[:120]
    kind = event.event.strip().lower()
    try:
        total = _money(props.get("total", props.get("revenue")), "total")
        subtotal = _money(props.get("subtotal"), "subtotal")
        tax = _money(props.get("tax"), "tax")
        shipping = _money(props.get("shipping"), "shipping")
        discount = _money(props.get("discount"), "discount")
        lines = _lines(props) if kind == ORDER_COMPLETED else []
    except ValueError as exc:
        problems.add(event, f"{event.event}: {exc}")
        return
    currency = _currency(props.get("currency"))
    order = Order.objects.select_for_update().filter(external_id=external_id).first()
    created = order is None
    if order is None:
        order = Order(
            contact_id=contact_id,
            external_id=external_id,
            placed_at=event.timestamp,
            source=f"tracking:{event.source}"[:120],
        )
    before = {
        "status": order.status,
        "total": str(order.total),
        "refunded_amount": str(order.refunded_amount),
    }
    if kind == ORDER_COMPLETED:
        if total is None:
            total = sum((line["total"] for line in lines), Decimal("0"))
        order.total = total
        order.subtotal = subtotal if subtotal is not None else total
        order.tax = tax or Decimal("0")
        order.shipping = shipping or Decimal("0")
        order.discount = discount or Decimal("0")
        order.placed_at = event.timestamp
        if order.status == Order.Status.REFUNDED and not order.refunded_amount:
            order.refunded_amount = total  # a full refund arrived first, without an amount
        if currency:
            order.currency = currency
    else:
        refund = total if total is not None else None
        if refund is None or (order.total and refund >= order.total):
            order.refunded_amount = order.total if order.total else (refund or Decimal("0"))
            full = True
        else:
            order.refunded_amount = refund
            full = False
        if created:
            order.status = Order.Status.REFUNDED if full else Order.Status.PARTIALLY_REFUNDED
    if order.status != Order.Status.CANCELLED and not (created and kind == ORDER_REFUNDED):
        order.status = _status(order)
    order.save()
    purchase_summary_refresh([order.contact_id])
    if kind == ORDER_COMPLETED:
        skus = {line["sku"] for line in lines if line["sku"]}
        products = {p.sku: p for p in Product.objects.filter(sku__in=skus)} if skus else {}
        existing = list(
            order.lines.order_by("id").values_list("sku", "name", "quantity", "unit_price")
        )
        wanted = [(l["sku"], l["name"], l["quantity"], l["unit_price"]) for l in lines]  # noqa: E741
        if existing != wanted:
            order.lines.all().delete()
            OrderLine.objects.bulk_create(
                [
                    OrderLine(
                        order=order,
                        contact_id=order.contact_id,
                        product=products.get(line["sku"]),
                        **line,
                    )
                    for line in lines
                ]
            )
    after = {
        "status": order.status,
        "total": str(order.total),
        "refunded_amount": str(order.refunded_amount),
    }
    if created or after != before:
        activity_record(
            actor=actor,
            verb="order.created" if created else "order.updated",
            subject=order,
            contact_id=order.contact_id,
            changes={"before": {} if created else before, "after": after},
        )
