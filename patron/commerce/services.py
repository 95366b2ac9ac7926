"""Write services for orders, order lines and products. Money is Decimal, never float.

Totals: a line's total defaults to quantity x unit price; the order's subtotal defaults to
the sum of its lines; its total defaults to subtotal - discount + tax + shipping. Totals
that are given must agree with those sums, so purchase history stays consistent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pycountry
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import Contact
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.clean import (
    clean_choice,
    clean_datetime,
    clean_decimal,
    clean_id,
    clean_optional_key,
    clean_str,
    collect,
    reject_unknown,
)
from patron.core.permissions import P
from patron.core.services import activity_record, diff, snapshot
from patron.segments.tasks import contacts_changed

MONEY_FIELDS = ("subtotal", "discount", "tax", "shipping", "total", "refunded_amount")
ORDER_CREATE_KEYS = (
    "contact_id",
    "external_id",
    "status",
    "currency",
    *MONEY_FIELDS,
    "placed_at",
    "source",
    "lines",
)
ORDER_UPDATE_KEYS = ("external_id", "status", "refunded_amount", "placed_at", "source")
LINE_KEYS = ("sku", "name", "category", "quantity", "unit_price", "total")
ORDER_TRACKED = ("external_id", "status", "currency", *MONEY_FIELDS, "placed_at", "source")
PRODUCT_TRACKED = ("sku", "name", "category", "price", "currency")
MAX_LINES = 1000
CENT = Decimal("0.01")
REFUND_STATUSES = (Order.Status.REFUNDED, Order.Status.PARTIALLY_REFUNDED)


def clean_currency(raw: Any, field: str = "currency") -> str:
    """An ISO 4217 alphabetic code, upper-cased."""
    code = clean_str(raw, field, max_length=3, required=True).upper()
    if len(code) != 3 or not code.isalpha() or pycountry.currencies.get(alpha_3=code) is None:
        raise ValidationError({field: ["Enter an ISO 4217 currency code, such as USD or EUR."]})
    return code


def _visible_contact(actor: User, raw: Any, *, lock: bool = False) -> Contact:
    """The contact an order or ticket is for; out of scope is the same as missing.

    ``lock``: also lock its row ``FOR NO KEY UPDATE`` (as the purchase summary refresh
    does) until commit, so a merge or merge undo of this contact waits for the new order
    and moves it, or, if it came first, the order is refused like any for a contact that
    no longer exists (not a foreign key error at commit).
    """
    pk = clean_id(raw, "contact_id")
    contacts = contacts_visible_to(actor)
    if lock:
        contacts = contacts.select_for_update(no_key=True, of=("self",))
    contact = contacts.filter(pk=pk).first()
    if contact is None:
        raise Contact.DoesNotExist("No such contact.")
    return contact


class _OrderMoved(Exception):
    """The order changed contact between reading it and locking it (a merge or undo)."""


def _lock_order(actor: User, order: Order | int) -> Order:
    """Lock the order's contact, then the order, in that order.

    Merges and merge undos lock the contacts and then move their orders; the purchase
    summary refresh locks the order's contact too. Locking the order first and its contact
    later deadlocked against a merge (docs/adr/0089). The contact row is locked
    ``FOR NO KEY UPDATE`` (the refresh's lock, held to commit). If a merge or undo moved
    the order meanwhile, the savepoint is rolled back (which releases its row locks) and
    the new contact is locked instead.
    """
    pk = order.pk if isinstance(order, Order) else clean_id(order, "order")
    visible = orders_visible_to(actor)
    for _attempt in range(5):
        contact_id = visible.filter(pk=pk).values_list("contact_id", flat=True).first()
        if contact_id is None:
            break
        try:
            with transaction.atomic():
                list(
                    Contact.objects.select_for_update(no_key=True)
                    .filter(pk=contact_id)
                    .values_list("pk", flat=True)
                )
                locked = visible.select_for_update(of=("self",)).filter(pk=pk).first()
                if locked is not None and locked.contact_id != contact_id:
                    raise _OrderMoved
        except _OrderMoved:
            continue
        if locked is None:
            break
        return locked
    else:
        raise ValidationError({"order": ["The order is being moved between contacts; retry."]})
    raise Order.DoesNotExist("No such order.")


def _clean_lines(raw: Any, errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        errors["lines"] = ["Expected a list of lines."]
        return []
    if len(raw) > MAX_LINES:
        errors["lines"] = [f"An order has at most {MAX_LINES} lines."]
        return []
    lines: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        prefix = f"lines.{i}"
        if not isinstance(item, Mapping):
            errors[prefix] = ["Expected an object."]
            continue
        line_errors: dict[str, list[str]] = {}
        collect(line_errors, reject_unknown, item, LINE_KEYS)
        sku = collect(line_errors, clean_str, item.get("sku"), "sku", max_length=80) or ""
        name = collect(line_errors, clean_str, item.get("name"), "name", max_length=200) or ""
        category = collect(line_errors, clean_str, item.get("category"), "category", max_length=120)
        quantity = collect(
            line_errors, clean_decimal, item.get("quantity", 1), "quantity", places=3, max_digits=12
        )
        unit_price = collect(line_errors, clean_decimal, item.get("unit_price", 0), "unit_price")
        if quantity is not None and quantity <= 0:
            line_errors["quantity"] = ["Ensure this value is greater than 0."]
        if not name and not sku and "name" not in line_errors:
            line_errors["name"] = ["A line needs a name or a SKU."]
        total = None
        if item.get("total") is not None:
            total = collect(line_errors, clean_decimal, item["total"], "total")
        elif quantity is not None and unit_price is not None:
            total = (quantity * unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
            if total >= Decimal(10) ** 12:
                line_errors["total"] = ["The number is too large."]
        for key, messages in line_errors.items():
            errors[f"{prefix}.{key}"] = messages
        if not line_errors:
            lines.append(
                {
                    "sku": sku,
                    "name": name or sku,
                    "category": category or "",
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "total": total,
                }
            )
    return lines


def _money(data: Mapping[str, Any], errors: dict[str, list[str]]) -> dict[str, Decimal | None]:
    """The money fields that were given (None when absent or invalid)."""
    return {
        key: collect(errors, clean_decimal, data[key], key) if data.get(key) is not None else None
        for key in MONEY_FIELDS
    }


def _totals(
    money: dict[str, Decimal | None], lines: list[dict[str, Any]], has_lines: bool
) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    discount = money["discount"] or Decimal("0.00")
    tax = money["tax"] or Decimal("0.00")
    shipping = money["shipping"] or Decimal("0.00")
    lines_sum = sum((line["total"] for line in lines), Decimal("0.00"))
    subtotal = money["subtotal"]
    if subtotal is None:
        if has_lines:
            subtotal = lines_sum
        elif money["total"] is not None:
            subtotal = money["total"] + discount - tax - shipping
        else:
            subtotal = Decimal("0.00")
    elif has_lines and subtotal != lines_sum:
        errors["subtotal"] = [f"The subtotal {subtotal} is not the sum of the lines ({lines_sum})."]
    computed = subtotal - discount + tax + shipping
    total = money["total"] if money["total"] is not None else computed
    if total != computed and "subtotal" not in errors:
        errors["total"] = [
            f"The total {total} is not subtotal - discount + tax + shipping ({computed})."
        ]
    if subtotal < 0 or total < 0:
        errors.setdefault("total", []).append("The order total cannot be negative.")
    refunded = money["refunded_amount"] or Decimal("0.00")
    if refunded > total:
        errors["refunded_amount"] = ["The refunded amount cannot exceed the order total."]
    values = {
        "subtotal": subtotal,
        "discount": discount,
        "tax": tax,
        "shipping": shipping,
        "total": total,
        "refunded_amount": refunded,
    }
    return values, errors


def _status_for_refund(status: str | None, refunded: Decimal, total: Decimal) -> str | None:
    """The status a refund implies when no status was given."""
    if status is not None:
        return status
    if refunded > 0 and refunded == total:
        return Order.Status.REFUNDED
    if refunded > 0:
        return Order.Status.PARTIALLY_REFUNDED
    return None


def _product_for_line(actor: User, line: dict[str, Any], currency: str) -> Product | None:
    """The catalogue product of a line's SKU, created on first sight."""
    if not line["sku"]:
        return None
    product = Product.objects.filter(sku=line["sku"]).first()
    if product is not None:
        return product
    product, _ = product_upsert(
        actor=actor,
        data={
            "sku": line["sku"],
            "name": line["name"],
            "category": line["category"],
            "price": line["unit_price"],
            "currency": currency,
        },
    )
    return product


def order_fields_clean(
    data: Mapping[str, Any],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[str]]]:
    """An order's fields and lines cleaned from ``order_create``'s data, with no database
    access: raises ``ValidationError`` for bad values; returns the fields, the lines and
    the totals' errors (the caller adds its own checks, e.g. a taken external id, and
    raises them together). Shared by ``order_create`` and the bulk import's
    ``commerce.bulk.order_draft``, so both check an order the same way."""
    errors: dict[str, list[str]] = {}
    external_id = collect(errors, clean_optional_key, data.get("external_id"), "external_id")
    status = (
        collect(errors, clean_choice, data["status"], "status", Order.Status.values)
        if data.get("status") is not None
        else None
    )
    currency = collect(errors, clean_currency, data.get("currency") or "USD")
    placed_at = (
        collect(errors, clean_datetime, data["placed_at"], "placed_at")
        if data.get("placed_at") is not None
        else timezone.now()
    )
    source = collect(errors, clean_str, data.get("source"), "source", max_length=120)
    lines = _clean_lines(data.get("lines"), errors)
    money = _money(data, errors)
    if errors:
        raise ValidationError(errors)
    has_lines = bool(data.get("lines"))
    totals, errors = _totals(money, lines, has_lines)
    if status == Order.Status.REFUNDED and money["refunded_amount"] is None:
        totals["refunded_amount"] = totals["total"]
    status = _status_for_refund(status, totals["refunded_amount"], totals["total"])
    fields = {
        "external_id": external_id,
        "status": status or Order.Status.COMPLETED,
        "currency": currency,
        "placed_at": placed_at,
        "source": source or "",
        **totals,
    }
    return fields, lines, errors


@transaction.atomic
def order_create(*, actor: User, data: Mapping[str, Any]) -> Order:
    """Record an order (with its lines) for a contact the actor can see."""
    require(actor, P.ORDER_EDIT)
    reject_unknown(data, ORDER_CREATE_KEYS)
    if "contact_id" not in data:
        raise ValidationError({"contact_id": ["This field is required."]})
    contact = _visible_contact(actor, data["contact_id"], lock=True)
    fields, lines, errors = order_fields_clean(data)
    if fields["external_id"] and Order.objects.filter(external_id=fields["external_id"]).exists():
        errors["external_id"] = ["An order with this external id already exists."]
    if errors:
        raise ValidationError(errors)
    order = Order(contact=contact, **fields)
    try:
        with transaction.atomic():
            order.save()
    except IntegrityError as exc:
        raise ValidationError(
            {"external_id": ["An order with this external id already exists."]}
        ) from exc
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                contact=contact,
                product=_product_for_line(actor, line, order.currency),
                **line,
            )
            for line in lines
        ]
    )
    after = snapshot(order, ORDER_TRACKED)
    after["lines"] = len(lines)
    activity_record(
        actor=actor,
        verb="order.created",
        subject=order,
        contact_id=contact.pk,
        changes={"after": {k: v for k, v in after.items() if v not in ("", None)}},
    )
    purchase_summary_refresh([order.contact_id])
    contacts_changed([order.contact_id], what={"orders"})
    return order


def order_update_clean(
    order: Order, data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values ``order_update`` writes on ``order`` for ``data`` (its keys), cleaned,
    with the refund rules applied, and no database access: raises ``ValidationError``
    for bad values; returns the values and the refund check's errors (the caller adds its
    own, e.g. a taken external id, and raises them together). Shared by ``order_update``
    and the bulk import's ``commerce.bulk.order_update_values``, so both change an order
    the same way."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "external_id" in data:
        values["external_id"] = collect(
            errors, clean_optional_key, data["external_id"], "external_id"
        )
    if "status" in data:
        values["status"] = collect(
            errors, clean_choice, data["status"], "status", Order.Status.values
        )
    if "placed_at" in data:
        values["placed_at"] = collect(errors, clean_datetime, data["placed_at"], "placed_at")
    if "source" in data:
        values["source"] = collect(errors, clean_str, data["source"], "source", max_length=120)
    if "refunded_amount" in data:
        values["refunded_amount"] = collect(
            errors, clean_decimal, data["refunded_amount"], "refunded_amount"
        )
    if errors:
        raise ValidationError(errors)
    refunded = values.get("refunded_amount", order.refunded_amount)
    if refunded > order.total:
        errors["refunded_amount"] = ["The refunded amount cannot exceed the order total."]
    if values.get("status") == Order.Status.REFUNDED and "refunded_amount" not in values:
        values["refunded_amount"] = order.total
    elif "refunded_amount" in values and "status" not in values:
        implied = _status_for_refund(None, refunded, order.total)
        if implied is not None:
            values["status"] = implied
        elif order.status in REFUND_STATUSES:
            values["status"] = Order.Status.COMPLETED
    return values, errors


@transaction.atomic
def order_update(*, actor: User, order: Order | int, data: Mapping[str, Any]) -> Order:
    """Change an order's status, refunds, external id, time or source (not its lines)."""
    require(actor, P.ORDER_EDIT)
    reject_unknown(data, ORDER_UPDATE_KEYS)
    order = _lock_order(actor, order)
    values, errors = order_update_clean(order, data)
    ext = values.get("external_id")
    if ext and Order.objects.filter(external_id=ext).exclude(pk=order.pk).exists():
        errors["external_id"] = ["An order with this external id already exists."]
    if errors:
        raise ValidationError(errors)
    before = snapshot(order, ORDER_TRACKED)
    for key, value in values.items():
        setattr(order, key, value)
    try:
        with transaction.atomic():
            order.save(update_fields=[*values, "updated_at"])
    except IntegrityError as exc:
        raise ValidationError(
            {"external_id": ["An order with this external id already exists."]}
        ) from exc
    changes = diff(before, snapshot(order, ORDER_TRACKED))
    if changes["after"]:
        activity_record(
            actor=actor,
            verb="order.updated",
            subject=order,
            contact_id=order.contact_id,
            changes=changes,
        )
    purchase_summary_refresh([order.contact_id])
    contacts_changed([order.contact_id], what={"orders"})
    return order


@transaction.atomic
def order_delete(*, actor: User, order: Order | int) -> None:
    require(actor, P.ORDER_EDIT)
    order = _lock_order(actor, order)
    pk, label, contact_id = order.pk, str(order), order.contact_id
    before = snapshot(order, ORDER_TRACKED)
    order.delete()
    purchase_summary_refresh([contact_id])
    contacts_changed([contact_id], what={"orders"})
    activity_record(
        actor=actor,
        verb="order.deleted",
        subject_type="order",
        subject_id=pk,
        subject_label=label,
        contact_id=contact_id,
        changes={"before": before},
    )


@transaction.atomic
def product_upsert(*, actor: User, data: Mapping[str, Any]) -> tuple[Product, bool]:
    """Create the product with this SKU, or update the fields given. Returns (product, created)."""
    require(actor, P.ORDER_EDIT)
    reject_unknown(data, PRODUCT_TRACKED)
    errors: dict[str, list[str]] = {}
    sku = collect(errors, clean_str, data.get("sku"), "sku", max_length=80, required=True)
    values: dict[str, Any] = {}
    if "name" in data:
        values["name"] = collect(errors, clean_str, data["name"], "name", max_length=200)
    if "category" in data:
        values["category"] = collect(
            errors, clean_str, data["category"], "category", max_length=120
        )
    if data.get("price") is not None:
        values["price"] = collect(errors, clean_decimal, data["price"], "price", max_digits=12)
    if data.get("currency") is not None:
        values["currency"] = collect(errors, clean_currency, data["currency"])
    if errors:
        raise ValidationError(errors)
    product = Product.objects.select_for_update().filter(sku=sku).first()
    if product is None:
        values.setdefault("name", sku)
        values["name"] = values["name"] or sku
        try:
            with transaction.atomic():
                product = Product.objects.create(sku=sku, **values)
        except IntegrityError:  # created concurrently: update it instead
            return product_upsert(actor=actor, data=data)
        activity_record(
            actor=actor,
            verb="product.created",
            subject=product,
            changes={"after": snapshot(product, PRODUCT_TRACKED)},
        )
        return product, True
    before = snapshot(product, PRODUCT_TRACKED)
    for key, value in values.items():
        setattr(product, key, value)
    changes = diff(before, snapshot(product, PRODUCT_TRACKED))
    if changes["after"]:
        product.save(update_fields=list(changes["after"]))
        activity_record(actor=actor, verb="product.updated", subject=product, changes=changes)
    return product, False
