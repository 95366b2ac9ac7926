"""Writing a chunk of imported orders at once (ADR 0083).

``orders_import_write`` stores what ``order_create`` / ``order_update`` would have stored
for each order of the chunk, with a fixed number of statements however many orders:
the new products (``bulk_create``), the orders (ids reserved, then ``COPY`` on
PostgreSQL / one prepared ``INSERT`` run by ``executemany`` on SQLite, the contact
shared ``core.fastwrite``), their lines (the same), the changed orders (``bulk_update``),
one ``order.created`` / ``order.updated`` / ``product.created`` activity entry per record
as the services write them (the same writer), then one purchase-summary refresh (ADR
0061) and one segments hook for all the contacts touched.

The orders were validated by ``commerce.bulk.order_draft`` (the service's own cleaners).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection
from django.utils import timezone

from patron.accounts.models import User
from patron.commerce.bulk import Change, OrderDraft
from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.services import PRODUCT_TRACKED
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.selectors import require
from patron.core.fastwrite import insert_dicts, reserve_ids
from patron.core.models import Activity
from patron.core.permissions import P
from patron.core.services import activity_build, diff, snapshot
from patron.imports.writing import ACTIVITY_COLUMNS
from patron.segments.tasks import contacts_changed

ORDER_COLUMNS = tuple(f.name for f in Order._meta.concrete_fields)
LINE_COLUMNS = tuple(f.name for f in OrderLine._meta.concrete_fields if not f.primary_key)


def orders_import_write(
    *,
    actor: User,
    drafts: Sequence[OrderDraft],
    products: Sequence[Product],
    changes: Sequence[Change] = (),
    known: Mapping[str, int] | None = None,
) -> None:
    """Write a chunk's new orders (``drafts``), their new ``products`` and the
    ``changes`` to orders (stored ones, or drafts a later row of the chunk changed).

    Call it inside the chunk's transaction. ``known`` maps the SKUs of existing products
    to their ids; every SKU of a line is in it or among ``products``. Raises
    ``IntegrityError`` when a SKU or an external id was taken meanwhile (the caller rolls
    its savepoint back and writes the chunk one order at a time).
    """
    require(actor, P.ORDER_EDIT)
    now = timezone.now()
    entries: list[Activity] = []
    if products:
        Product.objects.bulk_create(list(products), batch_size=1000)
    sku_ids = dict(known or {})
    for product in products:
        sku_ids[product.sku] = product.pk
        entries.append(
            activity_build(
                actor=actor,
                verb="product.created",
                subject=product,
                changes={"after": snapshot(product, PRODUCT_TRACKED)},
            )
        )
    new_ids = {id(d.order) for d in drafts}
    ids = reserve_ids(Order, len(drafts))
    rows: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    for draft, pk in zip(drafts, ids, strict=True):
        order = draft.order
        order.pk = pk
        order.created_at = order.updated_at = now
        rows.append({f.attname: getattr(order, f.attname) for f in Order._meta.concrete_fields})
        for line in draft.lines:
            lines.append(
                {
                    "order_id": pk,
                    "contact_id": order.contact_id,
                    "product_id": sku_ids[line["sku"]] if line["sku"] else None,
                    **line,
                }
            )
        entries.append(
            activity_build(
                actor=actor,
                verb="order.created",
                subject=order,
                contact_id=order.contact_id,
                changes={"after": draft.logged},
            )
        )
    with connection.wrap_database_errors:  # COPY's driver errors as Django's (IntegrityError)
        insert_dicts(Order, rows, ORDER_COLUMNS)
        insert_dicts(OrderLine, lines, LINE_COLUMNS)
    stored = {c.order.pk: c.order for c in changes if id(c.order) not in new_ids}
    if stored:
        fields = {"updated_at"}
        for change in changes:
            if id(change.order) not in new_ids:
                fields.update(k for k in change.after if change.after[k] != change.before[k])
        for order in stored.values():
            order.updated_at = now
        Order.objects.bulk_update(list(stored.values()), sorted(fields), batch_size=500)
    for change in changes:
        changed = diff(change.before, change.after)
        if changed["after"]:
            entries.append(
                activity_build(
                    actor=actor,
                    verb="order.updated",
                    subject=change.order,
                    contact_id=change.order.contact_id,
                    changes=changed,
                )
            )
    with connection.wrap_database_errors:
        insert_dicts(Activity, [_entry(e, now) for e in entries], ACTIVITY_COLUMNS)
    touched = {d.order.contact_id for d in drafts} | {c.order.contact_id for c in changes}
    purchase_summary_refresh(touched)
    contacts_changed(touched, what={"orders"})


def _entry(entry: Activity, now: Any) -> dict[str, Any]:
    """An activity entry as the row ``insert_dicts`` writes (``COPY`` on PostgreSQL)."""
    return {
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "verb": entry.verb,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "subject_label": entry.subject_label,
        "contact_id": entry.contact_id,
        "changes": entry.changes,
        "created_at": now,
    }
