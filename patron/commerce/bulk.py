"""Orders many at a time: the checks of ``order_create`` / ``order_update`` without a
query per order, and ``order_delete`` for many orders at once (ADR 0083).

The per-order services validate, write and log one order per call (about twenty
statements). An import of a shop's history has hundreds of thousands of lines, so it
checks each order here in Python with the services' own cleaners (``order_draft``,
``product_draft``, ``order_update_values``) and writes a whole chunk at once
(``imports/targets/orders_write.py``); its rollback deletes a chunk's orders with
``orders_delete_bulk``.

What is checked and what is stored is what the services would check and store: the
drafts and the changes are cleaned by the services' own functions (``order_fields_clean``
for ``order_draft``, ``order_update_clean`` for ``order_update_values``), and the tests
compare the two paths field by field and error by error (``tests/test_bulk.py`` and the
orders-import tests).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.commerce.models import Order, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.services import (
    ORDER_TRACKED,
    ORDER_UPDATE_KEYS,
    clean_currency,
    order_fields_clean,
    order_update_clean,
)
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import Contact
from patron.contacts.selectors import require
from patron.core.clean import clean_decimal, clean_str, collect, reject_unknown
from patron.core.models import Activity
from patron.core.permissions import P
from patron.core.services import activity_build, snapshot
from patron.segments.tasks import contacts_changed

BATCH = 1000


def contacts_lock(ids: Iterable[int]) -> set[int]:
    """Lock these contacts' rows ``FOR NO KEY UPDATE`` (the purchase summary's lock, held
    to commit), in id order, before any of their orders (ADR 0089: merges and undos lock
    the contacts, then move their orders; a writer that locks orders first deadlocks
    against them). Returns the ids that still exist (a merge may have taken one away)."""
    wanted = sorted(set(ids))
    found: set[int] = set()
    for i in range(0, len(wanted), BATCH):
        rows = Contact.objects.select_for_update(no_key=True).filter(pk__in=wanted[i : i + BATCH])
        found.update(rows.order_by("pk").values_list("pk", flat=True))
    return found


@dataclasses.dataclass
class OrderDraft:
    """A validated order not yet written: the unsaved ``Order`` and its cleaned lines."""

    order: Order
    lines: list[dict[str, Any]]
    #: The ``order.created`` entry's "after", as the order was drafted (a later row of
    #: the same file may change it before it is written; that is its own entry).
    logged: dict[str, Any] = dataclasses.field(default_factory=dict)


def order_draft(data: Mapping[str, Any]) -> OrderDraft:
    """Validate an order as ``order_create`` does, without touching the database.

    ``data`` has ``order_create``'s keys; ``contact_id`` must be a contact the actor may
    see (the caller looked it up through ``contacts_visible_to``). The checks that need
    the database (the contact's scope, an existing external id) are the caller's. Raises
    the same ``ValidationError`` (same keys, same messages, same order) as the service.
    """
    fields, lines, errors = order_fields_clean(data)
    if errors:
        raise ValidationError(errors)
    order = Order(contact_id=data["contact_id"], **fields)
    after = snapshot(order, ORDER_TRACKED)
    after["lines"] = len(lines)
    logged = {k: v for k, v in after.items() if v not in ("", None)}
    return OrderDraft(order=order, lines=lines, logged=logged)


def product_draft(line: Mapping[str, Any], currency: str) -> Product:
    """The product ``order_create`` would create for a cleaned line with an unknown SKU
    (``product_upsert``'s checks: its price has at most 12 digits), not saved."""
    errors: dict[str, list[str]] = {}
    sku = collect(errors, clean_str, line["sku"], "sku", max_length=80, required=True)
    name = collect(errors, clean_str, line["name"], "name", max_length=200)
    category = collect(errors, clean_str, line["category"], "category", max_length=120)
    price = (
        collect(errors, clean_decimal, line["unit_price"], "price", max_digits=12)
        if line.get("unit_price") is not None
        else None
    )
    code = collect(errors, clean_currency, currency)
    if errors:
        raise ValidationError(errors)
    values: dict[str, Any] = {"name": name or sku, "category": category, "currency": code}
    if price is not None:
        values["price"] = price
    return Product(sku=sku, **values)


def order_update_values(order: Order, data: Mapping[str, Any]) -> dict[str, Any]:
    """The values ``order_update`` would write on ``order`` for ``data`` (its keys), with
    its checks and refund rules (``order_update_clean``) and the same ``ValidationError``,
    without touching the database. Whether a new external id is taken is the caller's
    to check (the import never changes it)."""
    reject_unknown(data, ORDER_UPDATE_KEYS)
    values, errors = order_update_clean(order, data)
    if errors:
        raise ValidationError(errors)
    return values


@dataclasses.dataclass
class Change:
    """An order's change, worked out before the write: what it was, what it becomes."""

    order: Order
    before: dict[str, Any]  # snapshot(order, ORDER_TRACKED) before
    after: dict[str, Any]  # and after


def order_change_apply(order: Order, values: Mapping[str, Any]) -> Change:
    """Set ``values`` on the (unsaved or loaded) order in memory; the change to write."""
    before = snapshot(order, ORDER_TRACKED)
    for key, value in values.items():
        setattr(order, key, value)
    return Change(order=order, before=before, after=snapshot(order, ORDER_TRACKED))


@transaction.atomic
def orders_delete_bulk(*, actor: User, ids: Iterable[int]) -> int:
    """Delete these orders (those the actor may see) with their lines, as ``order_delete``
    does one by one: an ``order.deleted`` entry each with the order as it was, one
    purchase-summary refresh and one segments hook. Returns how many were deleted."""
    require(actor, P.ORDER_EDIT)
    wanted = sorted(set(ids))
    entries: list[Activity] = []
    contacts: set[int] = set()
    deleted = 0
    for i in range(0, len(wanted), BATCH):
        batch = wanted[i : i + BATCH]
        visible = orders_visible_to(actor).filter(pk__in=batch)
        for _attempt in range(5):
            # Their contacts first, then the orders (ADR 0089); a merge or undo that moved
            # one of them in between has its new contact locked on the next round.
            locked = contacts_lock(visible.values_list("contact_id", flat=True))
            orders = list(visible.select_for_update(of=("self",)).order_by("pk"))
            if all(o.contact_id in locked for o in orders):
                break
        else:
            raise ValidationError({"order": ["Orders are being moved between contacts; retry."]})
        if not orders:
            continue
        for order in orders:
            contacts.add(order.contact_id)
            entries.append(
                activity_build(
                    actor=actor,
                    verb="order.deleted",
                    subject_type="order",
                    subject_id=order.pk,
                    subject_label=str(order),
                    contact_id=order.contact_id,
                    changes={"before": snapshot(order, ORDER_TRACKED)},
                )
            )
        # The lines go with their orders (cascade), as with ``order.delete()``
        _, per_model = Order.objects.filter(pk__in=[o.pk for o in orders]).delete()
        deleted += per_model.get(Order._meta.label, 0)
    purchase_summary_refresh(contacts)
    contacts_changed(contacts, what={"orders"})
    Activity.objects.bulk_create(entries, batch_size=BATCH)
    return deleted
