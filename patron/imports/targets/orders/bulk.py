"""The orders target's bulk path (ADR 0083): a chunk's orders with a fixed number of
statements, checked here in Python and written at once by ``orders_import_write``.

Each order is checked on its own first, in file order, exactly as the per-order path
(``per_order``) would check it: a refused order is reported and leaves nothing.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patron.commerce.bulk import (
    Change,
    OrderDraft,
    contacts_lock,
    order_change_apply,
    order_draft,
    order_update_values,
    product_draft,
)
from patron.commerce.models import Order, Product
from patron.commerce.selectors import orders_visible_to
from patron.contacts.selectors import require
from patron.core.permissions import P, PermissionDenied
from patron.imports.targets.base import (
    Context,
    Outcome,
    Row,
    RowError,
    text,
    unit_outcome,
)
from patron.imports.targets.orders.contacts import OrderContacts
from patron.imports.targets.orders.per_order import OrdersPerOrder
from patron.imports.targets.orders.rows import (
    OrderHead,
    journal_json,
    line_error,
    order_data,
    order_head,
    order_key,
    wanted_changes,
)
from patron.imports.targets.orders_write import orders_import_write

EXISTS = "An order with this external id already exists."


class _Stale(Exception):
    """An order the chunk meant to update changed (or moved) after it was read, or one of
    the chunk's contacts was merged away meanwhile."""


@dataclasses.dataclass
class _Plan:
    """A chunk's look-ups and the writes worked out from them (nothing written yet)."""

    existing: dict[str, Order]  # external id -> order (stored, or drafted in this chunk)
    visible: set[int]  # ids of the stored ones the actor may see
    read: dict[int, tuple[Any, ...]]  # their updatable values as read (checked when locked)
    products: dict[str, int]  # SKU -> id of an existing product
    asked: set[str]  # SKUs already looked up
    new_products: dict[str, Product] = dataclasses.field(default_factory=dict)
    drafts: list[OrderDraft] = dataclasses.field(default_factory=list)
    drafted: set[int] = dataclasses.field(default_factory=set)  # id() of drafted orders
    changes: list[Change] = dataclasses.field(default_factory=list)
    # Outcomes naming an order not written yet, and the product SKUs each created
    pending: list[tuple[Any, Order, list[str]]] = dataclasses.field(default_factory=list)

    def may_see(self, order: Order) -> bool:
        return id(order) in self.drafted or order.pk in self.visible


def _read(order: Order) -> tuple[Any, ...]:
    return (order.status, order.placed_at, order.source, order.refunded_amount, order.total)


class OrdersTarget(OrdersPerOrder):
    """Orders with lines: a chunk at a time, one order at a time when that collides."""

    def __init__(self) -> None:
        self._contacts = OrderContacts()  # for the whole run: it remembers emails

    def process_chunk(self, ctx: Context, rows: list[Row]) -> list[Outcome]:
        """A chunk's orders with a fixed number of statements: look-ups of its contacts,
        orders and products, then one bulk write (``commerce.bulk``) in a savepoint.

        Should the write collide with another writer (an external id or a SKU taken
        meanwhile, an order to update changed since it was read), the savepoint is
        rolled back and the chunk is written one order at a time by ``process``, which
        reports each collision."""
        try:
            require(ctx.actor, P.ORDER_EDIT)
        except PermissionDenied:
            return super().process_chunk(ctx, rows)  # each order refused, as before
        self._contacts.prefetch(ctx, rows)
        plan = self._lookups(ctx, rows)
        out: list[Outcome] = []
        for unit in self.units(rows):
            out.append(unit_outcome(unit, functools.partial(self._plan_unit, ctx, plan, unit)))
        if not plan.drafts and not plan.changes:
            return out
        try:
            with transaction.atomic():
                self._lock(plan)
                orders_import_write(
                    actor=ctx.actor,
                    drafts=plan.drafts,
                    products=list(plan.new_products.values()),
                    changes=plan.changes,
                    known=plan.products,
                )
        except (IntegrityError, _Stale):
            for draft in plan.drafts:  # the rolled-back ids are not theirs
                draft.order.pk = None
            return super().process_chunk(ctx, rows)
        for outcome, order, skus in plan.pending:
            outcome.object_id = order.pk
            if skus:
                outcome.created_other = {"products": [plan.new_products[s].pk for s in skus]}
        return out

    def _lookups(self, ctx: Context, rows: list[Row]) -> _Plan:
        """The chunk's existing orders (by external id) and products (by SKU)."""
        exts = sorted({order_key(values) for _, values in rows} - {""})
        skus = sorted({text(values, "sku") for _, values in rows} - {""})
        existing: dict[str, Order] = {}
        for i in range(0, len(exts), 500):
            for order in Order.objects.filter(external_id__in=exts[i : i + 500]):
                existing[order.external_id or ""] = order
        visible: set[int] = set()
        if existing:
            pks = [o.pk for o in existing.values()]
            visible = set(
                orders_visible_to(ctx.actor).filter(pk__in=pks).values_list("pk", flat=True)
            )
        products: dict[str, int] = {}
        for i in range(0, len(skus), 500):
            products.update(
                Product.objects.filter(sku__in=skus[i : i + 500]).values_list("sku", "pk")
            )
        return _Plan(
            existing=existing,
            visible=visible,
            read={o.pk: _read(o) for o in existing.values()},
            products=products,
            asked=set(skus),
        )

    def _plan_unit(self, ctx: Context, plan: _Plan, unit: list[Row]) -> Outcome:
        """``process`` for one order against the chunk's look-ups: checks it and adds its
        writes to the plan (nothing is added when it is refused)."""
        head = order_head(unit)
        order = plan.existing.get(head.ext)
        if order is not None and not plan.may_see(order):
            raise RowError("order_id", "An order you cannot see has this order id.")
        if order is not None:
            return self._plan_existing(ctx, plan, order, head)
        if ctx.options.on_new != "create":
            return Outcome(
                row=head.row, action="skipped", reason="No order with this id.", rows=head.rows
            )
        contact_id = self._contacts.find(ctx, head.values)
        data = order_data(unit, head, contact_id)
        new: dict[str, Product] = {}
        try:
            draft = order_draft(data)
            cleaned = draft.order.external_id
            if cleaned and cleaned != head.ext and self._taken(plan, cleaned):
                raise ValidationError({"external_id": [EXISTS]})
            for line in draft.lines:
                sku = line["sku"]
                if not sku or sku in new or sku in plan.new_products:
                    continue
                if sku not in plan.asked:  # cleaning changed it: look it up as it is
                    plan.asked.add(sku)
                    found = Product.objects.filter(sku=sku).values_list("pk", flat=True).first()
                    if found is not None:
                        plan.products[sku] = found
                if sku not in plan.products:
                    new[sku] = product_draft(line, draft.order.currency)
        except ValidationError as exc:
            raise line_error(exc, [r for r, _ in unit]) from exc
        plan.new_products.update(new)
        plan.drafts.append(draft)
        plan.drafted.add(id(draft.order))
        if cleaned:
            plan.existing[cleaned] = draft.order
        outcome = Outcome(
            row=head.row, action="created", contact_id=contact_id, rows=head.rows, key=head.ext
        )
        plan.pending.append((outcome, draft.order, list(new)))
        return outcome

    @staticmethod
    def _taken(plan: _Plan, external_id: str) -> bool:
        if external_id in plan.existing:
            return True
        return Order.objects.filter(external_id=external_id).exists()

    def _plan_existing(self, ctx: Context, plan: _Plan, order: Order, head: OrderHead) -> Outcome:
        """``_existing`` against the plan: the change is applied to the order in memory
        (a later row of the chunk sees it) and written with the chunk."""
        row, rows = head.row, head.rows
        if ctx.options.on_existing == "skip":
            outcome = Outcome(
                row=row, action="skipped", object_id=order.pk, reason="Exists.", rows=rows
            )
        else:
            before, after = wanted_changes(ctx, order, head)
            if not after:
                outcome = Outcome(row=row, action="unchanged", object_id=order.pk, rows=rows)
            else:
                values = order_update_values(order, after)
                if values.get("refunded_amount", order.refunded_amount) != order.refunded_amount:
                    before["refunded_amount"] = order.refunded_amount
                    after["refunded_amount"] = values["refunded_amount"]
                plan.changes.append(order_change_apply(order, values))
                outcome = Outcome(
                    row=row,
                    action="updated",
                    object_id=order.pk,
                    before=journal_json(before),
                    after=journal_json(after),
                    rows=rows,
                )
        if order.pk is None:
            plan.pending.append((outcome, order, []))
        return outcome

    @staticmethod
    def _lock(plan: _Plan) -> None:
        """Lock the chunk's contacts, then the stored orders it changes, in that order
        (ADR 0089: a merge locks contacts, then moves their orders); _Stale if a contact
        was merged away or an order changed (or moved to another contact) since read."""
        contact_ids = {d.order.contact_id for d in plan.drafts}
        contact_ids |= {c.order.contact_id for c in plan.changes}
        if contacts_lock(contact_ids) != contact_ids:
            raise _Stale("contact")
        pks = sorted({c.order.pk for c in plan.changes if c.order.pk is not None})
        first_contact = {c.order.pk: c.order.contact_id for c in plan.changes}
        for i in range(0, len(pks), 500):
            locked = Order.objects.select_for_update().filter(pk__in=pks[i : i + 500])
            for order in locked.order_by("pk"):
                if _read(order) != plan.read.get(order.pk):
                    raise _Stale(order.pk)
                if order.contact_id != first_contact[order.pk]:
                    raise _Stale(order.pk)
