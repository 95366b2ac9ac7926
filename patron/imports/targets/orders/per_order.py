"""The orders target one order at a time: each through ``order_create`` / ``order_update``.

The path before ADR 0083, and still the one a chunk falls back to when its bulk write
(``bulk``) collides with another writer, or when the actor may not edit orders (each
order is then refused on its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from patron.accounts.models import User
from patron.commerce.models import Order, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.services import order_create, order_update
from patron.core.permissions import P
from patron.imports.options import ImportOptions
from patron.imports.targets.base import (
    Context,
    Outcome,
    Row,
    RowError,
    Target,
    find_contact,
    prefetch_contacts,
)
from patron.imports.targets.orders.rollback import orders_rollback
from patron.imports.targets.orders.rows import (
    FIELDS,
    SYNONYMS,
    OrderHead,
    journal_json,
    line_error,
    order_data,
    order_head,
    order_key,
    wanted_changes,
)


class OrdersPerOrder(Target):
    """Orders with lines, one file row per line, grouped by the order id."""

    name = "orders"
    label = "Orders with lines"
    fields = FIELDS
    synonyms = SYNONYMS
    keys = ("order_id",)
    required = ("order_id",)

    def permissions(self, options: ImportOptions) -> list[str]:
        return [P.ORDER_VIEW, P.ORDER_EDIT]

    def rollback_permissions(self) -> list[str]:
        return [P.ORDER_EDIT]

    @staticmethod
    def group_key(values: dict[str, Any]) -> str:
        return order_key(values)

    def units(self, rows: list[Row]) -> Iterator[list[Row]]:
        group: list[Row] = []
        for row in rows:
            if group and self.group_key(row[1]) != self.group_key(group[0][1]):
                yield group
                group = []
            group.append(row)
        if group:
            yield group

    def prefetch(self, ctx: Context, rows: list[Row]) -> None:
        prefetch_contacts(ctx, rows, email="email", external_id="contact_external_id")

    def process(self, ctx: Context, unit: list[Row]) -> Outcome:
        head = order_head(unit)
        order = Order.objects.filter(external_id=head.ext).first()  # one query for a new one
        if order is not None and not orders_visible_to(ctx.actor).filter(pk=order.pk).exists():
            raise RowError("order_id", "An order you cannot see has this order id.")
        if order is not None:
            return self._existing(ctx, order, head)
        if ctx.options.on_new != "create":
            return Outcome(
                row=head.row, action="skipped", reason="No order with this id.", rows=head.rows
            )
        contact_id = find_contact(
            ctx, head.values, email="email", external_id="contact_external_id"
        )
        data = order_data(unit, head, contact_id)
        skus = {ln["sku"] for ln in data["lines"] if ln["sku"]}
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        try:
            created = order_create(actor=ctx.actor, data=data)
        except ValidationError as exc:
            raise line_error(exc, [r for r, _ in unit]) from exc
        new_products = list(
            Product.objects.filter(sku__in=skus - known).values_list("pk", flat=True)
        )
        return Outcome(
            row=head.row,
            action="created",
            object_id=created.pk,
            contact_id=contact_id,
            rows=head.rows,
            key=head.ext,
            created_other={"products": new_products} if new_products else {},
        )

    def _existing(self, ctx: Context, order: Order, head: OrderHead) -> Outcome:
        if ctx.options.on_existing == "skip":
            return Outcome(
                row=head.row, action="skipped", object_id=order.pk, reason="Exists.", rows=head.rows
            )
        before, after = wanted_changes(ctx, order, head)
        if not after:
            return Outcome(row=head.row, action="unchanged", object_id=order.pk, rows=head.rows)
        refunded = order.refunded_amount
        updated = order_update(actor=ctx.actor, order=order.pk, data=after)
        if updated.refunded_amount != refunded:  # "refunded" refunds the total: journal it
            before["refunded_amount"], after["refunded_amount"] = refunded, updated.refunded_amount
        return Outcome(
            row=head.row,
            action="updated",
            object_id=order.pk,
            before=journal_json(before),
            after=journal_json(after),
            rows=head.rows,
        )

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        orders_rollback(actor=actor, job=job, report=report)
