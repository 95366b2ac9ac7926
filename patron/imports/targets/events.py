"""Importing events for a historical backfill: Segment-shaped rows into the event store.

Each row becomes one Segment message (``type``, ``event``/``name``, ``userId``,
``anonymousId``, ``timestamp``, ``messageId``, and ``properties`` / ``traits`` /
``context`` as JSON object columns) and is stored by the tracking API's own
``events_ingest`` under the source "File import", so validation, the durable store,
identity resolution, profiles, aggregates and segment updates are exactly those of live
tracking. An ``email`` column goes into ``traits.email`` for ``identify`` and into
``context.traits.email`` otherwise (Segment's place for it).

Idempotent by message id: a row without one gets a stable id derived from its content
(``message_id_for``), so importing a file again stores nothing twice. Rollback removes
the job's events and recomputes the touched contacts' aggregates; contacts that identity
resolution created while processing them stay (they are ordinary profiles by then).
"""

from __future__ import annotations

from typing import Any

import orjson
from django.utils import timezone

from patron.accounts.models import User
from patron.core.permissions import P
from patron.events.models import Event, Source
from patron.events.services.aggregates import aggregates_rebuild
from patron.events.services.ingest import MessageError, build_event, events_ingest
from patron.events.services.sources import source_create
from patron.imports.erased import ERASED_REASON, ErasedPeople
from patron.imports.models import ImportChunk
from patron.imports.options import ImportOptions
from patron.imports.targets.base import Context, Outcome, Row, RowError, Target, parse_when, text
from patron.segments.tasks import contacts_changed

SOURCE_NAME = "File import"
FIELDS = {
    "type": "Type (track, identify, page, ...)",
    "event": "Event name",
    "name": "Page / screen name",
    "user_id": "User id",
    "anonymous_id": "Anonymous id",
    "email": "Email",
    "timestamp": "Timestamp",
    "message_id": "Message id",
    "properties": "Properties (JSON)",
    "traits": "Traits (JSON)",
    "context": "Context (JSON)",
    "group_id": "Group id",
    "previous_id": "Previous id",
}
SYNONYMS: dict[str, tuple[str, ...]] = {
    "type": ("type", "event type", "message type", "typ", "ereignistyp", "tipo"),
    "event": ("event", "event name", "action", "ereignis", "aktion", "événement",
              "evento", "nombre del evento", "gebeurtenis"),
    "name": ("page", "page name", "screen", "screen name", "seite", "nom de la page",
             "página", "pagina"),
    "user_id": ("user id", "userid", "user", "customer id", "external id", "benutzer-id",
                "nutzer-id", "identifiant utilisateur", "id usuario", "id utente",
                "gebruikers-id"),
    "anonymous_id": ("anonymous id", "anonymousid", "anon id", "device id", "cookie id",
                     "visitor id", "anonyme id", "id anonyme", "id anónimo"),
    "email": ("email", "e-mail", "email address", "e-mail-adresse", "courriel", "correo",
              "correo electrónico", "e-mailadres"),
    "timestamp": ("timestamp", "time", "date", "datetime", "occurred at", "sent at",
                  "original timestamp", "zeitstempel", "zeitpunkt", "datum", "horodatage",
                  "fecha", "marca de tiempo", "data", "tijdstip"),
    "message_id": ("message id", "messageid", "event id", "nachrichten-id", "id message",
                   "id del mensaje"),
    "properties": ("properties", "props", "event properties", "eigenschaften",
                   "propriétés", "propiedades", "proprietà"),
    "traits": ("traits", "user traits", "merkmale", "attributs", "atributos"),
    "context": ("context", "kontext", "contexte", "contexto", "contesto"),
    "group_id": ("group id", "groupid", "account id", "gruppen-id"),
    "previous_id": ("previous id", "previousid", "alias of", "vorherige id"),
}  # fmt: skip
_OBJECTS = ("properties", "traits", "context")


def import_source() -> Source:
    """The events source imports write under (created on first use)."""
    found = Source.objects.filter(name=SOURCE_NAME).first()
    if found is not None:
        return found
    return source_create(actor=None, name=SOURCE_NAME)[0]


def message_of(values: dict[str, Any]) -> dict[str, Any]:
    """The Segment message of one row; RowError for a bad JSON or time cell."""
    msg: dict[str, Any] = {"type": text(values, "type").lower() or "track"}
    for key, name in (
        ("event", "event"),
        ("name", "name"),
        ("user_id", "userId"),
        ("anonymous_id", "anonymousId"),
        ("message_id", "messageId"),
        ("group_id", "groupId"),
        ("previous_id", "previousId"),
    ):
        if text(values, key):
            msg[name] = text(values, key)
    for key in _OBJECTS:
        raw = text(values, key)
        if not raw:
            continue
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise RowError(key, f"Not valid JSON: {exc.msg}.") from exc
        if not isinstance(parsed, dict):
            raise RowError(key, "Expected a JSON object ({...}).")
        msg[key] = parsed
    if text(values, "timestamp"):
        msg["timestamp"] = parse_when(values.get("timestamp"), "timestamp").isoformat()
    email = text(values, "email")
    if email:
        if msg["type"] == "identify":
            msg.setdefault("traits", {}).setdefault("email", email)
        else:
            context = msg.setdefault("context", {})
            traits = context.get("traits")
            if not isinstance(traits, dict):
                traits = context["traits"] = {}
            traits.setdefault("email", email)
    return msg


def _erased_kind(erased: ErasedPeople, msg: dict[str, Any]) -> str:
    """The row's field naming an erased person ("" if none): its user id, or an email in
    its traits (where identity resolution would read it to find or create a profile)."""
    if erased.match("user_id", str(msg.get("userId") or "").strip()):
        return "user_id"
    for traits in (msg.get("traits"), (msg.get("context") or {}).get("traits")):
        email = traits.get("email") if isinstance(traits, dict) else None
        if isinstance(email, str) and erased.email(email):
            return "email"
    return ""


class EventsTarget(Target):
    name = "events"
    label = "Events (historical backfill)"
    fields = FIELDS
    synonyms = SYNONYMS
    keys = ("message_id",)

    def permissions(self, options: ImportOptions) -> list[str]:
        # Events resolve to contacts and may create or update profiles.
        return [P.EVENT_VIEW, P.CONTACT_CREATE, P.CONTACT_EDIT]

    def rollback_permissions(self) -> list[str]:
        return [P.EVENT_VIEW, P.CONTACT_EDIT]

    def process_chunk(self, ctx: Context, rows: list[Row]) -> list[Outcome]:
        source = import_source()
        now = timezone.now()
        out: list[Outcome] = []
        valid: dict[str, tuple[int, dict[str, Any]]] = {}
        for row, values in rows:
            try:
                msg = message_of(values)
                built = build_event(msg, source=source, received_at=now)
            except RowError as exc:
                out.append(Outcome(row=row, action="error", field=exc.field, reason=exc.reason))
                continue
            except MessageError as exc:
                out.append(Outcome(row=row, action="error", reason=str(exc)))
                continue
            if ctx.erased is not None and (matched := _erased_kind(ctx.erased, msg)):
                out.append(Outcome(row=row, action="skipped", field=matched, reason=ERASED_REASON))
                continue
            mid = built["message_id"]
            if mid in valid:
                out.append(Outcome(row=row, action="unchanged", reason="Repeated message id."))
                continue
            msg["messageId"] = mid
            valid[mid] = (row, msg)
        stored = set(
            Event.objects.filter(source_id=source.pk, message_id__in=list(valid)).values_list(
                "message_id", flat=True
            )
        )
        new = {mid: item for mid, item in valid.items() if mid not in stored}
        for mid in stored:
            out.append(Outcome(row=valid[mid][0], action="unchanged", message_id=mid))
        if new and ctx.options.on_new != "create":
            out.extend(
                Outcome(row=r, action="skipped", reason="New events are skipped.")
                for r, _ in new.values()
            )
            return out
        if new:
            result = events_ingest(
                source=source, messages=[m for _, m in new.values()], received_at=now
            )
            if result.rejected:  # validated above, so only a race could bring this
                raise RowError("", f"{len(result.rejected)} events were refused by ingest.")
        out.extend(
            Outcome(row=r, action="created", message_id=mid, key=mid) for mid, (r, _) in new.items()
        )
        return out

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        source = Source.objects.filter(name=SOURCE_NAME).first()
        removed, contacts = 0, set[int]()
        if source is not None:
            for chunk in ImportChunk.objects.filter(job=job).order_by("seq"):
                ids = (chunk.created_other or {}).get("events", [])
                for i in range(0, len(ids), 500):
                    qs = Event.objects.filter(source_id=source.pk, message_id__in=ids[i : i + 500])
                    contacts.update(c for c in qs.values_list("contact_id", flat=True) if c)
                    removed += qs.delete()[0]
        aggregates_rebuild(contacts)
        contacts_changed(contacts, what={"events"})
        report.update(removed=removed, restored=0, contacts_recomputed=len(contacts))
