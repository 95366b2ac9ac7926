"""Importing orders with their lines: one file row per line, grouped by the order id.

- Rows with the same order id must be next to each other (as every shop export writes
  them); the runner never splits such a group between chunks. An order id seen again
  later in the file finds its order already imported and is reported, not duplicated.
- An order is idempotent by its external order id: importing it again leaves it
  unchanged, or updates status, time and source (lines are never rewritten).
- The contact is found by email or contact external id (among contacts the user may
  see); money is Decimal with an ISO currency; products are found by SKU and created on
  first sight (``order_create`` does that through ``product_upsert``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError

from patron.accounts.models import User
from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.services import order_create, order_delete, order_update
from patron.core.permissions import P
from patron.core.services import activity_record
from patron.imports.models import ImportChunk, ImportRow
from patron.imports.options import ImportOptions
from patron.imports.targets.base import (
    Context,
    Outcome,
    Row,
    RowError,
    Target,
    error_of,
    find_contact,
    parse_when,
    prefetch_contacts,
    text,
)

FIELDS = {
    "order_id": "Order id",
    "email": "Customer email",
    "contact_external_id": "Customer external id",
    "status": "Order status",
    "currency": "Currency",
    "placed_at": "Order date",
    "source": "Source / channel",
    "discount": "Order discount",
    "tax": "Order tax",
    "shipping": "Shipping",
    "total": "Order total",
    "sku": "SKU",
    "product_name": "Product name",
    "category": "Product category",
    "quantity": "Quantity",
    "unit_price": "Unit price",
    "line_total": "Line total",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("order id", "order", "order number", "order no", "order #", "name",
                 "bestellnummer", "bestell-nr", "auftragsnummer", "numéro de commande",
                 "commande", "número de pedido", "pedido", "numero ordine", "ordine",
                 "bestelnummer", "número do pedido", "external id", "id"),
    "email": ("email", "e-mail", "customer email", "buyer email", "billing email",
              "kunden-e-mail", "e-mail-adresse", "courriel", "correo", "correo electrónico",
              "email cliente", "e-mailadres"),
    "contact_external_id": ("customer id", "customer number", "client id", "kundennummer",
                            "numéro client", "id cliente", "número de cliente",
                            "klantnummer", "contact id"),
    "status": ("status", "order status", "financial status", "bestellstatus", "statut",
               "estado", "stato", "stato ordine"),
    "currency": ("currency", "währung", "devise", "monnaie", "moneda", "divisa", "valuta",
                 "moeda"),
    "placed_at": ("date", "order date", "created at", "placed at", "purchase date",
                  "paid at", "bestelldatum", "datum", "date de commande", "fecha",
                  "fecha del pedido", "data ordine", "data", "besteldatum",
                  "data do pedido"),
    "source": ("source", "channel", "sales channel", "vertriebskanal", "kanal", "canal",
               "canale", "kanaal"),
    "discount": ("discount", "discount amount", "rabatt", "remise", "descuento", "sconto",
                 "korting", "desconto"),
    "tax": ("tax", "taxes", "vat", "steuer", "mwst", "tva", "impuesto", "iva", "btw"),
    "shipping": ("shipping", "shipping cost", "delivery", "versand", "versandkosten",
                 "livraison", "frais de port", "envío", "spedizione", "verzendkosten",
                 "frete"),
    "total": ("total", "order total", "grand total", "amount", "gesamt", "gesamtbetrag",
              "summe", "montant", "montant total", "importe", "totale", "totaal"),
    "sku": ("sku", "product sku", "lineitem sku", "item sku", "artikelnummer", "art.-nr.",
            "référence", "reference", "referencia", "codice articolo", "artikelcode"),
    "product_name": ("product", "product name", "item", "item name", "lineitem name",
                     "line item", "artikel", "produkt", "artikelname", "produit",
                     "nom du produit", "producto", "prodotto", "product naam", "produto"),
    "category": ("category", "product category", "kategorie", "catégorie", "categoría",
                 "categoria", "categorie"),
    "quantity": ("quantity", "qty", "lineitem quantity", "menge", "anzahl", "quantité",
                 "cantidad", "quantità", "aantal", "quantidade"),
    "unit_price": ("price", "unit price", "lineitem price", "item price", "preis",
                   "einzelpreis", "stückpreis", "prix", "prix unitaire", "precio",
                   "precio unitario", "prezzo", "prezzo unitario", "prijs", "preço"),
    "line_total": ("line total", "lineitem total", "item total", "subtotal line",
                   "positionssumme", "total ligne", "total línea", "totale riga"),
}  # fmt: skip
ORDER_LEVEL = ("email", "contact_external_id", "status", "currency", "placed_at", "source",
               "discount", "tax", "shipping", "total")  # fmt: skip
MAX_LINES = 1000


def _status(raw: str) -> str:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {"paid": "completed", "complete": "completed", "fulfilled": "completed",
               "canceled": "cancelled", "open": "pending", "partially_paid": "pending"}  # fmt: skip
    value = aliases.get(value, value)
    if value not in Order.Status.values:
        raise RowError("status", f"Unknown order status {raw[:40]!r}.")
    return value


LINE_FIELDS = {
    "sku": "sku",
    "name": "product_name",
    "category": "category",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "total": "line_total",
}


def _line_error(exc: ValidationError, rows: list[int]) -> Exception:
    """A refused line as a RowError naming its own file row and column."""
    if not hasattr(exc, "error_dict"):
        return exc
    name, reasons = next(iter(exc.message_dict.items()))
    parts = name.split(".")
    if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
        index = int(parts[1])
        field = LINE_FIELDS.get(parts[2], parts[2])
        return RowError(field, " ".join(reasons), row=rows[index] if index < len(rows) else None)
    return exc


def _money(raw: str) -> str:
    return raw.replace(" ", "").replace("\u00a0", "")


class OrdersTarget(Target):
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
        return text(values, "order_id")

    def units(self, rows: list[Row]) -> Iterator[list[Row]]:
        group: list[Row] = []
        for row in rows:
            if group and self.group_key(row[1]) != self.group_key(group[0][1]):
                yield group
                group = []
            group.append(row)
        if group:
            yield group

    def _order_values(self, unit: list[Row]) -> dict[str, str]:
        out: dict[str, str] = {}
        for _, values in unit:
            for key in ORDER_LEVEL:
                value = text(values, key)
                if not value:
                    continue
                if key in out and out[key] != value:
                    raise RowError(key, f"The rows of this order disagree on {FIELDS[key]}.")
                out[key] = value
        return out

    def prefetch(self, ctx: Context, rows: list[Row]) -> None:
        prefetch_contacts(ctx, rows, email="email", external_id="contact_external_id")

    def process(self, ctx: Context, unit: list[Row]) -> Outcome:
        row = unit[0][0]
        ext = self.group_key(unit[0][1])
        if not ext:
            raise RowError("order_id", "No order id in this row.")
        if len(unit) > MAX_LINES:
            raise RowError("order_id", f"An order has at most {MAX_LINES} lines.")
        head = self._order_values(unit)
        placed = parse_when(head["placed_at"], "placed_at") if "placed_at" in head else None
        status = _status(head["status"]) if "status" in head else None
        order = Order.objects.filter(external_id=ext).first()  # one query for a new one
        if order is not None and not orders_visible_to(ctx.actor).filter(pk=order.pk).exists():
            raise RowError("order_id", "An order you cannot see has this order id.")
        if order is not None:
            return self._existing(ctx, row, len(unit), order, head, placed, status)
        if ctx.options.on_new != "create":
            return Outcome(
                row=row, action="skipped", reason="No order with this id.", rows=len(unit)
            )
        contact_id = find_contact(ctx, head, email="email", external_id="contact_external_id")
        lines = []
        for _, values in unit:
            line = {
                "sku": text(values, "sku"),
                "name": text(values, "product_name"),
                "category": text(values, "category"),
                "quantity": _money(text(values, "quantity")) or "1",
                "unit_price": _money(text(values, "unit_price")) or "0",
            }
            if text(values, "line_total"):
                line["total"] = _money(text(values, "line_total"))
            if line["sku"] or line["name"]:
                lines.append(line)
        skus = {ln["sku"] for ln in lines if ln["sku"]}
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
        data: dict[str, Any] = {"contact_id": contact_id, "external_id": ext, "lines": lines}
        for key in ("currency", "source"):
            if key in head:
                data[key] = head[key]
        for key in ("discount", "tax", "shipping", "total"):
            if key in head:
                data[key] = _money(head[key])
        if placed is not None:
            data["placed_at"] = placed
        if status is not None:
            data["status"] = status
        try:
            created = order_create(actor=ctx.actor, data=data)
        except ValidationError as exc:
            raise _line_error(exc, [r for r, _ in unit]) from exc
        new_products = list(
            Product.objects.filter(sku__in=skus - known).values_list("pk", flat=True)
        )
        return Outcome(
            row=row,
            action="created",
            object_id=created.pk,
            contact_id=contact_id,
            rows=len(unit),
            key=ext,
            created_other={"products": new_products} if new_products else {},
        )

    def _existing(
        self,
        ctx: Context,
        row: int,
        rows: int,
        order: Order,
        head: dict[str, str],
        placed: Any,
        status: str | None,
    ) -> Outcome:
        if ctx.options.on_existing == "skip":
            return Outcome(
                row=row, action="skipped", object_id=order.pk, reason="Exists.", rows=rows
            )
        wanted: dict[str, Any] = {}
        if status is not None:
            wanted["status"] = status
        if placed is not None:
            wanted["placed_at"] = placed
        if "source" in head:
            wanted["source"] = head["source"]
        before, after = {}, {}
        for key, value in wanted.items():
            current = getattr(order, key)
            if current == value:
                continue
            if ctx.options.on_existing == "fill_empty" and current not in ("", None):
                continue
            before[key], after[key] = current, value
        if not after:
            return Outcome(row=row, action="unchanged", object_id=order.pk, rows=rows)
        order_update(actor=ctx.actor, order=order.pk, data=after)
        return Outcome(
            row=row, action="updated", object_id=order.pk, before=before, after=after, rows=rows
        )

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        restored = 0
        for r in ImportRow.objects.filter(job=job, action="updated").order_by("-row"):
            order = orders_visible_to(actor).filter(pk=r.contact_id or 0).first()
            if order is None:
                report["missing"].append(r.contact_id)
                continue
            before, after = r.changes.get("before", {}), r.changes.get("after", {})
            data = {}
            for key, old in before.items():
                now = getattr(order, key)
                now = now.isoformat() if hasattr(now, "isoformat") else now
                if now != after.get(key) and parse_or(now) != parse_or(after.get(key)):
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
            ids = [oid for _, oid in chunk.created]
            for pk in orders_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True):
                order_delete(actor=actor, order=pk)
                removed += 1
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


def parse_or(value: Any) -> Any:
    """Datetimes compared as instants whatever their ISO spelling."""
    if isinstance(value, str):
        try:
            return parse_when(value, "value")
        except Exception:
            return value
    return value
