"""Permission-scoped reads of events, identity graphs, aggregates and sources.

Every function takes the acting user. Contact-scoped reads go through
``patron.contacts.selectors.contact_get`` (an out-of-scope contact does not exist).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.selectors import (
    MASK,
    can_see_sensitive,
    contact_get,
    contacts_visible_to,
    require,
)
from patron.core.api_base import decode_cursor, encode_cursor, is_id
from patron.core.permissions import P
from patron.events.models import (
    ContactEventCount,
    ContactEventSummary,
    ContactTraits,
    Event,
    IdentityConflict,
    RejectedMessage,
    Source,
)

LOOKUP_KINDS = (
    ContactIdentity.Kind.USER_ID.value,
    ContactIdentity.Kind.ANONYMOUS_ID.value,
)


@dataclass(frozen=True)
class EventFilters:
    event: str = ""
    type: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def events_of_contact(actor: Any, contact_id: int | str, f: EventFilters) -> QuerySet[Event]:
    """A contact's events, newest first (requires event.view and the contact in scope)."""
    contact = contact_get(actor, contact_id)
    require(actor, P.EVENT_VIEW)
    qs = Event.objects.filter(contact=contact)
    if f.event:
        qs = qs.filter(event=f.event)
    if f.type:
        if f.type not in Event.Type.values:
            raise ValidationError({"type": ["Unknown event type."]})
        qs = qs.filter(type=f.type)
    if f.since is not None:
        qs = qs.filter(timestamp__gte=f.since)
    if f.until is not None:
        qs = qs.filter(timestamp__lt=f.until)
    return qs


def events_page(qs: QuerySet[Event], *, cursor: str | None, limit: int) -> dict[str, Any]:
    """Keyset page by (timestamp, id) descending: constant cost at any depth."""
    qs = qs.order_by("-timestamp", "-id")
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 2 or not isinstance(values[0], str) or not is_id(values[1]):
            raise ValidationError({"cursor": ["Invalid cursor."]})
        try:
            at = dt.datetime.fromisoformat(values[0])
        except ValueError as exc:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
        qs = qs.filter(Q(timestamp__lt=at) | Q(timestamp=at, id__lt=values[1]))
    rows = list(qs[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return {
        "items": rows,
        "next_cursor": encode_cursor([last.timestamp.isoformat(), last.pk])
        if more and last
        else None,
    }


def identity_graph(actor: Any, contact_id: int | str) -> dict[str, Any]:
    """All ids, emails, phones and anonymous ids of a contact, with first/last seen.

    Phones are masked for actors without contact.view_sensitive; behaviour (aggregates)
    is included only for actors with event.view.
    """
    contact = contact_get(actor, contact_id)
    sensitive_ok = can_see_sensitive(actor)
    identities = [
        {
            "kind": i.kind,
            "value": MASK if i.kind == "phone" and not sensitive_ok else i.value,
            "label": i.label,
            "first_seen": i.first_seen,
            "last_seen": i.last_seen,
        }
        for i in contact.identities.order_by("kind", "first_seen", "id")
    ]
    primary = {
        "email": contact.email,
        "phone": (MASK if contact.phone and not sensitive_ok else contact.phone),
    }
    out: dict[str, Any] = {
        "contact_id": contact.pk,
        "primary": primary,
        "identities": identities,
        "pending_joins": [
            {
                "other_contact_id": c.merged_id if c.survivor_id == contact.pk else c.survivor_id,
                "kind": c.kind,
                "value": MASK if c.kind == "phone" and not sensitive_ok else c.value,
                "created_at": c.created_at,
            }
            for c in IdentityConflict.objects.filter(
                Q(survivor=contact) | Q(merged=contact), status=IdentityConflict.Status.PENDING
            ).order_by("id")
        ],
        "behaviour": None,
    }
    if actor.has_perm_code(P.EVENT_VIEW):
        out["behaviour"] = contact_behaviour(contact)
    return out


def contact_behaviour(contact: Contact) -> dict[str, Any]:
    """Aggregates and custom traits of a contact (call after scope checks)."""
    summary = ContactEventSummary.objects.filter(contact=contact).first()
    traits = ContactTraits.objects.filter(contact=contact).values_list("traits", flat=True).first()
    return {
        "first_seen": summary.first_seen if summary else None,
        "last_seen": summary.last_seen if summary else None,
        "event_count": summary.event_count if summary else 0,
        "page_views": summary.page_views if summary else 0,
        "screen_views": summary.screen_views if summary else 0,
        "sessions": summary.sessions if summary else 0,
        "events": [
            {"event": c.event, "count": c.count, "first_at": c.first_at, "last_at": c.last_at}
            for c in ContactEventCount.objects.filter(contact=contact).order_by("-count", "event")
        ],
        "traits": traits or {},
    }


def contacts_by_identity(actor: Any, *, kind: str, value: str) -> QuerySet[Contact]:
    """Contacts in the actor's scope holding the user id or anonymous id ``value``."""
    if kind not in LOOKUP_KINDS:
        raise ValidationError({"kind": ["Look up by user_id or anonymous_id."]})
    if not value or len(value) > 200:
        raise ValidationError({kind: ["Give an id of 1-200 characters."]})
    ids = ContactIdentity.objects.filter(kind=kind, value=value).values("contact_id")
    return contacts_visible_to(actor).filter(pk__in=ids).order_by("id")


# --- Sources and the debugger -------------------------------------------------------------


def sources_visible_to(actor: Any) -> QuerySet[Source]:
    """Sources (settings): only for actors who manage settings."""
    require(actor, P.SETTINGS_MANAGE)
    return Source.objects.order_by("name")


def source_get(actor: Any, source_id: int | str) -> Source:
    try:
        pk = int(source_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    source = sources_visible_to(actor).filter(pk=pk).first()
    if source is None:
        raise Http404("No such source.")
    return source


#: The debugger looks for a source's events among the newest this-many events only: there
#: is no index on the source (it would cost every ingest), so the look stays bounded even
#: for a source that has sent nothing for a long time.
RECENT_WINDOW = 200_000


def _recent_of_source(source: Source) -> QuerySet[Event]:
    newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return Event.objects.filter(id__gt=newest - RECENT_WINDOW, source_id=source.pk)


def source_recent_events(actor: Any, source: Source, limit: int = 50) -> list[Event]:
    """The debugger's live view: the newest events received from a source."""
    source = source_get(actor, source.pk)
    return list(_recent_of_source(source).order_by("-id")[: max(1, limit)])


def source_recent_rejections(actor: Any, source: Source, limit: int = 50) -> list[RejectedMessage]:
    source = source_get(actor, source.pk)
    return list(RejectedMessage.objects.filter(source=source).order_by("-id")[: max(1, limit)])


def source_stats(actor: Any, source: Source) -> dict[str, Any]:
    """When the source last sent (among the newest ``RECENT_WINDOW`` events), how many of
    its events wait for processing, how many messages it had refused."""
    source = source_get(actor, source.pk)
    last = _recent_of_source(source).order_by("-id").values_list("received_at", flat=True).first()
    return {
        "last_received_at": last,
        "unprocessed": Event.objects.filter(processed=False, source_id=source.pk).count(),
        "rejected": source.rejected_count,
    }


def sources_overview(actor: Any) -> list[dict[str, Any]]:
    """Every source with its stats, for the Sources page (settings.manage)."""
    rows = []
    for source in sources_visible_to(actor):
        rows.append({"source": source, **source_stats(actor, source)})
    return rows
