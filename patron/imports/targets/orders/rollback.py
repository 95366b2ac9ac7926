"""Rolling an orders import back: updated orders restored, created ones deleted.

An updated order gets its journaled "before" values back through ``order_update``,
field by field, unless someone changed that field since (a conflict, reported and left
alone). The created orders are deleted a chunk at a time (``orders_delete_bulk``), then
the products the import created that no order uses any more.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from patron.accounts.models import User
from patron.commerce.bulk import orders_delete_bulk
from patron.commerce.models import OrderLine, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.services import order_update
from patron.core.services import activity_record
from patron.imports.models import ImportChunk, ImportRow
from patron.imports.targets.base import error_of, parse_when


def orders_rollback(*, actor: User, job: Any, report: dict[str, Any]) -> None:
    """Undo an orders import ``job`` as ``actor``; counts and conflicts go in ``report``."""
    restored = 0
    for r in ImportRow.objects.filter(job=job, action="updated").order_by("-row"):
        order = orders_visible_to(actor).filter(pk=r.contact_id or 0).first()
        if order is None:
            report["missing"].append(r.contact_id)
            continue
        before, after = r.changes.get("before", {}), r.changes.get("after", {})
        data = {}
        for key, old in before.items():
            if not _same(getattr(order, key), after.get(key)):
                report["conflicts"].append({"id": order.pk, "field": key})
                continue
            data[key] = old
        try:
            if data:
                order_update(actor=actor, order=order.pk, data=data)
            restored += 1
        except Exception as exc:
            report["conflicts"].append({"id": order.pk, "reason": error_of(exc)[1]})
    removed, products = 0, []
    for chunk in ImportChunk.objects.filter(job=job).order_by("seq"):
        # Orders someone else may not see are left alone (and not counted), as before
        removed += orders_delete_bulk(actor=actor, ids=[oid for _, oid in chunk.created])
        products.extend((chunk.created_other or {}).get("products", []))
    unused = Product.objects.filter(pk__in=products).exclude(
        pk__in=OrderLine.objects.filter(product_id__in=products).values("product_id")
    )
    for product in unused:
        activity_record(
            actor=actor,
            verb="product.deleted",
            subject_type="product",
            subject_id=product.pk,
            subject_label=str(product)[:300],
            changes={"before": {"sku": product.sku, "name": product.name}},
        )
    report["products_removed"] = unused.count()
    unused.delete()
    report.update(restored=restored, removed=removed)


def _same(now: Any, then: Any) -> bool:
    """Whether an order's current value is still the one an import wrote (journaled as
    JSON: datetimes as ISO text in any spelling, amounts as decimal text)."""
    if isinstance(now, Decimal) and isinstance(then, (str, int, float)):
        try:
            return now == Decimal(str(then))
        except ArithmeticError:
            return False
    spelled = now.isoformat() if hasattr(now, "isoformat") else now
    return spelled == then or _instant(spelled) == _instant(then)


def _instant(value: Any) -> Any:
    """Datetimes compared as instants whatever their ISO spelling."""
    if isinstance(value, str):
        try:
            return parse_when(value, "value")
        except Exception:
            return value
    return value
