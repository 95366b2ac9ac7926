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

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patron.accounts.models import User
from patron.commerce.bulk import (
    Change,
    OrderDraft,
    contacts_lock,
    order_change_apply,
    order_draft,
    order_update_values,
    orders_delete_bulk,
    product_draft,
)
from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.selectors import orders_visible_to
from patron.commerce.services import order_create, order_update
from patron.contacts.models import Contact
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.normalize.email import email_match_key, normalize_email
from patron.hygiene.normalize.text import NormalizationError
from patron.imports.erased import ERASED_REASON
from patron.imports.models import ImportChunk, ImportRow
from patron.imports.options import ImportOptions
from patron.imports.targets.base import (
    Context,
    Outcome,
    Row,
    RowError,
    RowSkipped,
    Target,
    error_of,
    find_contact,
    jsonable,
    parse_when,
    prefetch_contacts,
    text,
)
from patron.imports.targets.orders_write import orders_import_write

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


def _order_data(
    unit: list[Row],
    head: dict[str, str],
    ext: str,
    contact_id: int,
    placed: Any,
    status: str | None,
) -> dict[str, Any]:
    """``order_create``'s input for an order's group of rows."""
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
    return data


#: The order fields a re-import may change; ``refunded_amount`` follows a "refunded"
#: status (``order_update``'s rule) and is journaled with it so a rollback restores it.
UPDATABLE = ("status", "placed_at", "source")
EXISTS = "An order with this external id already exists."
EMAIL_MEMO = 200_000  # distinct email cells remembered a run


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


class OrdersTarget(Target):
    name = "orders"
    label = "Orders with lines"
    fields = FIELDS
    synonyms = SYNONYMS
    keys = ("order_id",)
    required = ("order_id",)

    def __init__(self) -> None:
        # Email cell -> (address, match key) or its error, for the whole run (_email)
        self._emails: dict[str, tuple[str, str] | NormalizationError] = {}

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

    # --- contacts, with each distinct email normalised once a run -----------------------------

    def _email(self, raw: str) -> tuple[str, str] | NormalizationError:
        """(address, match key) of an email cell as ``find_contact`` computes them, or
        its NormalizationError; memoised (a customer's email is on every line of every
        order of theirs, and validating an address costs ~0.1 ms)."""
        memo = self._emails
        hit = memo.get(raw)
        if hit is None:
            try:
                address = normalize_email(raw)
                hit = (address, email_match_key(address))
            except NormalizationError as exc:
                hit = exc
            if len(memo) >= EMAIL_MEMO:
                memo.clear()
            memo[raw] = hit
        return hit

    def _prefetch_contacts(self, ctx: Context, rows: list[Row]) -> None:
        """``prefetch_contacts`` with memoised emails: the chunk's contacts, by external
        id and by email match key, among those the actor may see."""
        keys: set[str] = set()
        exts: set[str] = set()
        for _, values in rows:
            if text(values, "contact_external_id"):
                exts.add(text(values, "contact_external_id"))
            raw = text(values, "email")
            if raw:
                hit = self._email(raw)
                if not isinstance(hit, NormalizationError):
                    keys.add(hit[1])
        visible = contacts_visible_to(ctx.actor)
        for kind, field_name, wanted in (
            ("ext", "external_id", exts),
            ("email", "email_match_key", keys),
        ):
            found: dict[str, int] = {}
            items = sorted(wanted - {v for k, v in ctx.contacts if k == kind})
            for i in range(0, len(items), 500):
                batch = items[i : i + 500]
                pairs = visible.filter(**{f"{field_name}__in": batch}).values_list(field_name, "pk")
                for value, pk in pairs:
                    found[value] = min(pk, found.get(value, pk))
            for value in items:
                ctx.contacts[(kind, value)] = found.get(value)

    def _find_contact(self, ctx: Context, head: dict[str, str]) -> int:
        """``find_contact`` with memoised emails (same answers, same errors)."""
        ext = head.get("contact_external_id", "")
        raw_email = head.get("email", "")
        if not ext and not raw_email:
            raise RowError("email", "No contact email or contact external id in this row.")
        if ext:
            key = ("ext", ext)
            if key not in ctx.contacts:
                ctx.contacts[key] = (
                    contacts_visible_to(ctx.actor)
                    .filter(external_id=ext)
                    .values_list("pk", flat=True)
                    .first()
                )
            if ctx.contacts[key] is not None:
                return ctx.contacts[key]  # type: ignore[return-value]
            if ctx.erased is not None and ctx.erased.match("external_id", ext):
                raise RowSkipped("contact_external_id", ERASED_REASON)
            if not raw_email:
                raise RowError("contact_external_id", f"No contact with external id {ext[:60]!r}.")
        hit = self._email(raw_email)
        if isinstance(hit, NormalizationError):
            raise RowError("email", f"Not a valid email address: {raw_email[:60]!r}.") from hit
        address, match = hit
        key = ("email", match)
        if key not in ctx.contacts:
            ctx.contacts[key] = (
                contacts_visible_to(ctx.actor)
                .filter(email_match_key=match)
                .order_by("pk")
                .values_list("pk", flat=True)
                .first()
            )
        found = ctx.contacts[key]
        if found is None:
            if ctx.erased is not None and ctx.erased.match("email", match):
                raise RowSkipped("email", ERASED_REASON)  # their history is not imported either
            raise RowError("email", f"No contact with email {address[:80]!r}.")
        return found

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
        data = _order_data(unit, head, ext, contact_id, placed, status)
        skus = {ln["sku"] for ln in data["lines"] if ln["sku"]}
        known = set(Product.objects.filter(sku__in=skus).values_list("sku", flat=True))
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

    @staticmethod
    def _wanted(
        ctx: Context, order: Order, head: dict[str, str], placed: Any, status: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """(before, after) of the fields this row would change on an existing order."""
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
        return before, after

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
        before, after = self._wanted(ctx, order, head, placed, status)
        if not after:
            return Outcome(row=row, action="unchanged", object_id=order.pk, rows=rows)
        refunded = order.refunded_amount
        updated = order_update(actor=ctx.actor, order=order.pk, data=after)
        if updated.refunded_amount != refunded:  # "refunded" refunds the total: journal it
            before["refunded_amount"], after["refunded_amount"] = refunded, updated.refunded_amount
        return Outcome(
            row=row,
            action="updated",
            object_id=order.pk,
            before=_json(before),
            after=_json(after),
            rows=rows,
        )

    # --- the bulk path (ADR 0083) ------------------------------------------------------------

    def process_chunk(self, ctx: Context, rows: list[Row]) -> list[Outcome]:
        """A chunk's orders with a fixed number of statements: look-ups of its contacts,
        orders and products, then one bulk write (``commerce.bulk``) in a savepoint.

        Each order is checked on its own first, in file order, exactly as ``process``
        would check it (a refused order is reported and leaves nothing). Should the write
        collide with another writer (an external id or a SKU taken meanwhile, an order to
        update changed since it was read), the savepoint is rolled back and the chunk is
        written one order at a time by ``process``, which reports each collision."""
        try:
            require(ctx.actor, P.ORDER_EDIT)
        except PermissionDenied:
            return super().process_chunk(ctx, rows)  # each order refused, as before
        self._prefetch_contacts(ctx, rows)
        plan = self._lookups(ctx, rows)
        out: list[Outcome] = []
        for unit in self.units(rows):
            try:
                out.append(self._plan_unit(ctx, plan, unit))
            except RowSkipped as exc:
                out.append(
                    Outcome(
                        row=unit[0][0],
                        action="skipped",
                        field=exc.field,
                        reason=exc.reason,
                        rows=len(unit),
                    )
                )
            except (ValidationError, RowError, PermissionDenied, Contact.DoesNotExist) as exc:
                name, reason = error_of(exc)
                row = getattr(exc, "row", None) or unit[0][0]
                out.append(
                    Outcome(row=row, action="error", field=name, reason=reason, rows=len(unit))
                )
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
        exts = sorted({self.group_key(values) for _, values in rows} - {""})
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
        row = unit[0][0]
        ext = self.group_key(unit[0][1])
        if not ext:
            raise RowError("order_id", "No order id in this row.")
        if len(unit) > MAX_LINES:
            raise RowError("order_id", f"An order has at most {MAX_LINES} lines.")
        head = self._order_values(unit)
        placed = parse_when(head["placed_at"], "placed_at") if "placed_at" in head else None
        status = _status(head["status"]) if "status" in head else None
        order = plan.existing.get(ext)
        if order is not None and not plan.may_see(order):
            raise RowError("order_id", "An order you cannot see has this order id.")
        if order is not None:
            return self._plan_existing(ctx, plan, row, len(unit), order, head, placed, status)
        if ctx.options.on_new != "create":
            return Outcome(
                row=row, action="skipped", reason="No order with this id.", rows=len(unit)
            )
        contact_id = self._find_contact(ctx, head)
        data = _order_data(unit, head, ext, contact_id, placed, status)
        new: dict[str, Product] = {}
        try:
            draft = order_draft(data)
            cleaned = draft.order.external_id
            if cleaned and cleaned != ext and self._taken(plan, cleaned):
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
            raise _line_error(exc, [r for r, _ in unit]) from exc
        plan.new_products.update(new)
        plan.drafts.append(draft)
        plan.drafted.add(id(draft.order))
        if cleaned:
            plan.existing[cleaned] = draft.order
        outcome = Outcome(row=row, action="created", contact_id=contact_id, rows=len(unit), key=ext)
        plan.pending.append((outcome, draft.order, list(new)))
        return outcome

    @staticmethod
    def _taken(plan: _Plan, external_id: str) -> bool:
        if external_id in plan.existing:
            return True
        return Order.objects.filter(external_id=external_id).exists()

    def _plan_existing(
        self,
        ctx: Context,
        plan: _Plan,
        row: int,
        rows: int,
        order: Order,
        head: dict[str, str],
        placed: Any,
        status: str | None,
    ) -> Outcome:
        """``_existing`` against the plan: the change is applied to the order in memory
        (a later row of the chunk sees it) and written with the chunk."""
        if ctx.options.on_existing == "skip":
            outcome = Outcome(
                row=row, action="skipped", object_id=order.pk, reason="Exists.", rows=rows
            )
        else:
            before, after = self._wanted(ctx, order, head, placed, status)
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
                    before=_json(before),
                    after=_json(after),
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


def _json(values: dict[str, Any]) -> dict[str, Any]:
    """Before/after values as the journal and the preview store them (JSON: datetimes
    as ISO text, amounts as decimal text)."""
    return {k: jsonable(v) for k, v in values.items()}


def _same(now: Any, then: Any) -> bool:
    """Whether an order's current value is still the one an import wrote (journaled as
    JSON: datetimes as ISO text in any spelling, amounts as decimal text)."""
    if isinstance(now, Decimal) and isinstance(then, (str, int, float)):
        try:
            return now == Decimal(str(then))
        except ArithmeticError:
            return False
    spelled = now.isoformat() if hasattr(now, "isoformat") else now
    return spelled == then or parse_or(spelled) == parse_or(then)


def parse_or(value: Any) -> Any:
    """Datetimes compared as instants whatever their ISO spelling."""
    if isinstance(value, str):
        try:
            return parse_when(value, "value")
        except Exception:
            return value
    return value
