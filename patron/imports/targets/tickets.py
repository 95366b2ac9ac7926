"""Importing support tickets: idempotent by the ticket's external id; contact by email.

Written through ``ticket_create`` / ``ticket_update`` (permissions, activity entries,
``resolved_at`` stamps and the segment hook as everywhere else). Status, priority and
channel accept the stored value or its label in any case (``Open``, ``In person``).
"""

from __future__ import annotations

from typing import Any

from patron.accounts.models import User
from patron.core.permissions import P
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
from patron.support.models import Ticket
from patron.support.selectors import tickets_visible_to
from patron.support.services import ticket_create, ticket_delete, ticket_update

FIELDS = {
    "external_id": "Ticket id",
    "email": "Customer email",
    "contact_external_id": "Customer external id",
    "subject": "Subject",
    "description": "Description",
    "channel": "Channel",
    "status": "Status",
    "priority": "Priority",
    "opened_at": "Opened at",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("ticket id", "ticket", "ticket number", "ticket no", "case id",
                    "case number", "id", "external id", "ticketnummer", "vorgangsnummer",
                    "numéro de ticket", "número de ticket", "numero ticket", "ticketnummer"),
    "email": ("email", "e-mail", "requester email", "requester", "customer email",
              "contact email", "e-mail-adresse", "courriel", "correo", "correo electrónico",
              "e-mailadres"),
    "contact_external_id": ("customer id", "contact id", "requester id", "kundennummer",
                            "numéro client", "id cliente", "klantnummer"),
    "subject": ("subject", "title", "summary", "betreff", "titel", "sujet", "objet",
                "asunto", "título", "oggetto", "onderwerp", "assunto"),
    "description": ("description", "body", "details", "message", "content", "beschreibung",
                    "nachricht", "texte", "descripción", "mensaje", "descrizione",
                    "messaggio", "beschrijving", "bericht", "descrição"),
    "channel": ("channel", "via", "source", "kanal", "canal", "canale", "kanaal"),
    "status": ("status", "state", "statut", "état", "estado", "stato"),
    "priority": ("priority", "urgency", "priorität", "dringlichkeit", "priorité",
                 "prioridad", "priorità", "prioriteit", "prioridade"),
    "opened_at": ("created", "created at", "opened", "opened at", "date", "date created",
                  "erstellt", "erstellt am", "datum", "créé le", "date de création",
                  "creado", "fecha de creación", "creato il", "aangemaakt",
                  "data de criação"),
}  # fmt: skip
TRACKED = ("subject", "description", "channel", "status", "priority", "opened_at")


def _choice(field: str, raw: str, choices: Any) -> str:
    folded = raw.strip().lower().replace("-", " ").replace("_", " ")
    for value, label in choices.choices:
        if folded in (value.replace("_", " "), str(label).lower()):
            return str(value)
    if field == "status" and folded in ("solved", "done", "fixed"):
        return Ticket.Status.RESOLVED.value
    raise RowError(field, f"Unknown {field} {raw[:40]!r}.")


class TicketsTarget(Target):
    name = "tickets"
    label = "Support tickets"
    fields = FIELDS
    synonyms = SYNONYMS
    keys = ("external_id",)
    required = ("external_id",)

    def permissions(self, options: ImportOptions) -> list[str]:
        return [P.TICKET_VIEW, P.TICKET_EDIT]

    def rollback_permissions(self) -> list[str]:
        return [P.TICKET_EDIT]

    def _values(self, raw: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("subject", "description"):
            if text(raw, key):
                out[key] = text(raw, key)
        for key, choices in (
            ("channel", Ticket.Channel),
            ("status", Ticket.Status),
            ("priority", Ticket.Priority),
        ):
            if text(raw, key):
                out[key] = _choice(key, text(raw, key), choices)
        if text(raw, "opened_at"):
            out["opened_at"] = parse_when(raw.get("opened_at"), "opened_at")
        return out

    def prefetch(self, ctx: Context, rows: list[Row]) -> None:
        prefetch_contacts(ctx, rows, email="email", external_id="contact_external_id")

    def process(self, ctx: Context, unit: list[Row]) -> Outcome:
        row, raw = unit[0]
        ext = text(raw, "external_id")
        if not ext:
            raise RowError("external_id", "No ticket id in this row.")
        values = self._values(raw)
        ticket = Ticket.objects.filter(external_id=ext).first()  # one query for a new one
        if ticket is not None and not tickets_visible_to(ctx.actor).filter(pk=ticket.pk).exists():
            raise RowError("external_id", "A ticket you cannot see has this id.")
        if ticket is None:
            if ctx.options.on_new != "create":
                return Outcome(row=row, action="skipped", reason="No ticket with this id.")
            contact_id = find_contact(ctx, raw, email="email", external_id="contact_external_id")
            created = ticket_create(
                actor=ctx.actor, data={"contact_id": contact_id, "external_id": ext, **values}
            )
            return Outcome(
                row=row, action="created", object_id=created.pk, contact_id=contact_id, key=ext
            )
        if ctx.options.on_existing == "skip":
            return Outcome(row=row, action="skipped", object_id=ticket.pk, reason="Exists.")
        before, after = {}, {}
        for key, value in values.items():
            current = getattr(ticket, key)
            if current == value:
                continue
            if ctx.options.on_existing == "fill_empty" and current not in ("", None):
                continue
            before[key], after[key] = current, value
        if not after:
            return Outcome(row=row, action="unchanged", object_id=ticket.pk)
        ticket_update(actor=ctx.actor, ticket=ticket.pk, data=after)
        return Outcome(
            row=row,
            action="updated",
            object_id=ticket.pk,
            contact_id=ticket.contact_id,
            before=before,
            after=after,
        )

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        restored = 0
        for r in ImportRow.objects.filter(job=job, action="updated").order_by("-row"):
            ticket = tickets_visible_to(actor).filter(pk=r.contact_id or 0).first()
            if ticket is None:
                report["missing"].append(r.contact_id)
                continue
            before, after = r.changes.get("before", {}), r.changes.get("after", {})
            data = {}
            for key, old in before.items():
                now = getattr(ticket, key)
                if key == "opened_at":
                    same = now == parse_when(after.get(key), key)
                else:
                    same = now == after.get(key)
                if not same:
                    report["conflicts"].append({"id": ticket.pk, "field": key})
                    continue
                data[key] = old
            try:
                if data:
                    ticket_update(actor=actor, ticket=ticket.pk, data=data)
                restored += 1
            except Exception as exc:
                report["conflicts"].append({"id": ticket.pk, "reason": error_of(exc)[1]})
        removed = 0
        for chunk in ImportChunk.objects.filter(job=job).order_by("seq"):
            ids = [oid for _, oid in chunk.created]
            for pk in tickets_visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True):
                ticket_delete(actor=actor, ticket=pk)
                removed += 1
        report.update(restored=restored, removed=removed)
