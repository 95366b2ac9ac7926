"""The orders file's columns and the cleaning of one order's group of rows.

What both paths (``per_order`` and ``bulk``) read from a group the same way: the
order-level values its rows must agree on, the status, ``order_create``'s input for a
new order, the fields a re-import would change on an existing one, and a refused
line's error pointing at its own file row.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.core.exceptions import ValidationError

from patron.commerce.models import Order
from patron.imports.targets.base import Context, Row, RowError, jsonable, parse_when, text

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

LINE_FIELDS = {
    "sku": "sku",
    "name": "product_name",
    "category": "category",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "total": "line_total",
}


def order_key(values: dict[str, Any]) -> str:
    """The order id of a row: the key its group of rows shares."""
    return text(values, "order_id")


@dataclasses.dataclass
class OrderHead:
    """An order's group of rows, read and checked before any look-up: its order id, the
    order-level values its rows agree on, and the date and status parsed from them."""

    row: int  # the group's first file row
    rows: int  # how many file rows it has
    ext: str
    values: dict[str, str]
    placed: Any
    status: str | None


def order_head(unit: list[Row]) -> OrderHead:
    """``OrderHead`` of a group of rows; RowError for a missing order id, too many lines,
    rows that disagree, a bad date or an unknown status."""
    ext = order_key(unit[0][1])
    if not ext:
        raise RowError("order_id", "No order id in this row.")
    if len(unit) > MAX_LINES:
        raise RowError("order_id", f"An order has at most {MAX_LINES} lines.")
    values = _order_values(unit)
    placed = parse_when(values["placed_at"], "placed_at") if "placed_at" in values else None
    status = _status(values["status"]) if "status" in values else None
    return OrderHead(
        row=unit[0][0], rows=len(unit), ext=ext, values=values, placed=placed, status=status
    )


def _order_values(unit: list[Row]) -> dict[str, str]:
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


def _status(raw: str) -> str:
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    aliases = {"paid": "completed", "complete": "completed", "fulfilled": "completed",
               "canceled": "cancelled", "open": "pending", "partially_paid": "pending"}  # fmt: skip
    value = aliases.get(value, value)
    if value not in Order.Status.values:
        raise RowError("status", f"Unknown order status {raw[:40]!r}.")
    return value


def _money(raw: str) -> str:
    return raw.replace(" ", "").replace("\u00a0", "")


def order_data(unit: list[Row], head: OrderHead, contact_id: int) -> dict[str, Any]:
    """``order_create``'s input for a new order's group of rows."""
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
    data: dict[str, Any] = {"contact_id": contact_id, "external_id": head.ext, "lines": lines}
    for key in ("currency", "source"):
        if key in head.values:
            data[key] = head.values[key]
    for key in ("discount", "tax", "shipping", "total"):
        if key in head.values:
            data[key] = _money(head.values[key])
    if head.placed is not None:
        data["placed_at"] = head.placed
    if head.status is not None:
        data["status"] = head.status
    return data


def line_error(exc: ValidationError, rows: list[int]) -> Exception:
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


def wanted_changes(
    ctx: Context, order: Order, head: OrderHead
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(before, after) of the fields (status, placed_at, source) a re-import of this order
    would change on the stored one, as the job's ``on_existing`` allows."""
    wanted: dict[str, Any] = {}
    if head.status is not None:
        wanted["status"] = head.status
    if head.placed is not None:
        wanted["placed_at"] = head.placed
    if "source" in head.values:
        wanted["source"] = head.values["source"]
    before, after = {}, {}
    for key, value in wanted.items():
        current = getattr(order, key)
        if current == value:
            continue
        if ctx.options.on_existing == "fill_empty" and current not in ("", None):
            continue
        before[key], after[key] = current, value
    return before, after


def journal_json(values: dict[str, Any]) -> dict[str, Any]:
    """Before/after values as the journal and the preview store them (JSON: datetimes
    as ISO text, amounts as decimal text)."""
    return {k: jsonable(v) for k, v in values.items()}
