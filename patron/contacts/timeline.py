"""The contact timeline: activity, events, orders, tickets, survey answers and notes merged.

A selector: takes the actor, shows only the kinds the actor may see.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from patron.accounts.models import User
from patron.contacts.models import Contact, CustomField
from patron.contacts.selectors import MASK, SENSITIVE_CONTACT_FIELDS, can_see_sensitive, contact_get
from patron.core.models import Activity
from patron.core.permissions import P

# A merged record's own entries that the survivor's timeline does not repeat: its import
# shows as an import origin, its "merged away" is the survivor's "merged".
MERGED_RECORD_VERBS_SHOWN_ELSEWHERE = ("contact.imported", "contact.merged_away")


@dataclass(frozen=True, order=True)
class TimelineItem:
    at: datetime
    kind: str = field(compare=False)  # activity | event | order | ticket | survey | note
    title: str = field(compare=False)
    detail: str = field(default="", compare=False)
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def contact_timeline(
    actor: User, contact_id: int, *, limit: int = 100, before: datetime | None = None
) -> list[TimelineItem]:
    """The newest ``limit`` items about one contact, newest first."""
    from patron.commerce.models import Order
    from patron.events.models import Event
    from patron.hygiene.selectors import merged_ids
    from patron.imports.selectors import contact_import_origins
    from patron.support.models import SurveyResponse, Ticket

    contact: Contact = contact_get(actor, contact_id)
    streams: list[list[TimelineItem]] = []

    def window(qs: Any, time_field: str) -> Any:
        if before is not None:
            qs = qs.filter(**{f"{time_field}__lt": before})
        return qs.order_by(f"-{time_field}", "-id")[:limit]

    # A note shows as itself; its "note.added" entry would only repeat it. The activity log
    # is append-only, so the history of records merged into this one (ADR 0011) stays filed
    # under their ids and is read from there; their import entries come with the import
    # origins below, and their "merged away" entries only repeat this one's "merged".
    merged_in = merged_ids(contact.pk)
    acts_qs = Activity.objects.filter(contact_id=contact.pk)
    if merged_in:
        acts_qs = Activity.objects.filter(
            Q(contact_id=contact.pk)
            | (Q(contact_id__in=merged_in) & ~Q(verb__in=MERGED_RECORD_VERBS_SHOWN_ELSEWHERE))
        )
    acts_qs = acts_qs.exclude(verb="note.added")
    for noun, code in ACTIVITY_NOUN_PERMISSIONS.items():
        if not actor.has_perm_code(code):
            acts_qs = acts_qs.exclude(verb__startswith=f"{noun}.")
    mask = _masker(actor)
    streams.append(
        [
            TimelineItem(
                a.created_at,
                "activity",
                _activity_title(a),
                a.actor_label,
                {"verb": a.verb, "changes": mask(a.changes)},
            )
            for a in window(acts_qs, "created_at")
        ]
    )
    # A contact an import created: recorded by the import's journal, not an activity
    # entry of its own (ADR 0075); shown as the entry it used to be. Records merged into
    # this one show the import that created them too (ADR 0087: a merge loses nothing).
    origins = [o for o in contact_import_origins(contact) if before is None or o["at"] < before]
    if origins:
        streams.append(
            sorted(
                (
                    TimelineItem(
                        o["at"],
                        "activity",
                        "Contact imported" if "merge_id" not in o else "Merged contact imported",
                        o["actor_label"],
                        {"verb": "contact.imported", "changes": _origin_changes(o)},
                    )
                    for o in origins
                ),
                reverse=True,
            )
        )
    notes = window(contact.notes.select_related("author"), "created_at")
    streams.append(
        [
            TimelineItem(n.created_at, "note", "Note", n.body, {"author": str(n.author or "")})
            for n in notes
        ]
    )
    if actor.has_perm_code(P.EVENT_VIEW):
        events = window(Event.objects.filter(contact_id=contact.pk), "timestamp")
        streams.append(
            [
                TimelineItem(
                    e.timestamp,
                    "event",
                    _event_title(e),
                    e.properties.get("url", "") if isinstance(e.properties, dict) else "",
                    {"type": e.type, "properties": e.properties},
                )
                for e in events
            ]
        )
    if actor.has_perm_code(P.ORDER_VIEW):
        orders = window(Order.objects.filter(contact_id=contact.pk), "placed_at")
        streams.append(
            [
                TimelineItem(
                    o.placed_at,
                    "order",
                    f"Order {o.external_id or o.pk}: {o.total} {o.currency}",
                    o.get_status_display(),
                    {"order_id": o.pk},
                )
                for o in orders
            ]
        )
    if actor.has_perm_code(P.TICKET_VIEW):
        tickets = window(Ticket.objects.filter(contact_id=contact.pk), "opened_at")
        streams.append(
            [
                TimelineItem(
                    t.opened_at,
                    "ticket",
                    f"Ticket: {t.subject}",
                    " · ".join(
                        (t.get_channel_display(), t.get_status_display(), t.get_priority_display())
                    ),
                    {"ticket_id": t.pk},
                )
                for t in tickets
            ]
        )
        surveys = window(SurveyResponse.objects.filter(contact_id=contact.pk), "responded_at")
        streams.append(
            [
                TimelineItem(
                    s.responded_at,
                    "survey",
                    f"{s.get_kind_display().split(' ')[0]} score {s.score}",
                    s.comment,
                    {"kind": s.kind, "score": s.score},
                )
                for s in surveys
            ]
        )
    merged = heapq.merge(*streams, reverse=True)
    out: list[TimelineItem] = []
    for item in merged:
        out.append(item)
        if len(out) >= limit:
            break
    return out


def _origin_changes(origin: dict[str, Any]) -> dict[str, Any]:
    """The "Contact imported" item's changes; a merged record's also names it and the merge."""
    changes = {"import_job": origin["import_job"], "row": origin["row"], "action": "created"}
    if "merge_id" in origin:
        changes.update(contact_id=origin["contact_id"], merge_id=origin["merge_id"])
    return changes


# Activity about these kinds of records is shown only to roles that may see the records.
ACTIVITY_NOUN_PERMISSIONS: dict[str, str] = {
    "order": P.ORDER_VIEW,
    "product": P.ORDER_VIEW,
    "ticket": P.TICKET_VIEW,
    "survey": P.TICKET_VIEW,
    "event": P.EVENT_VIEW,
    "consent": P.CONSENT_VIEW,
}


def _masker(actor: User) -> Any:
    """A function masking sensitive values in activity before/after, for this actor."""
    if can_see_sensitive(actor):
        return lambda changes: changes
    hidden_custom = set(
        CustomField.objects.filter(entity="contact", sensitive=True).values_list("key", flat=True)
    )
    hidden = {*SENSITIVE_CONTACT_FIELDS, "phones"}

    def mask_side(side: Any) -> Any:
        if not isinstance(side, dict):
            return side
        out = {k: (MASK if k in hidden and v not in (None, "", []) else v) for k, v in side.items()}
        custom = out.get("custom")
        if isinstance(custom, dict):
            out["custom"] = {k: (MASK if k in hidden_custom else v) for k, v in custom.items()}
        return out

    def mask(changes: Any) -> Any:
        if not isinstance(changes, dict):
            return changes
        return {k: mask_side(v) if k in ("before", "after") else v for k, v in changes.items()}

    return mask


def _event_title(e: Any) -> str:
    if e.type == "track":
        return e.event or "Track"
    if e.type in ("page", "screen"):
        return f"Viewed {e.type} {e.name}".strip()
    return e.type.capitalize()


def _activity_title(a: Activity) -> str:
    noun, _, verb = a.verb.partition(".")
    return f"{noun.replace('_', ' ').capitalize()} {verb.replace('_', ' ')}".strip()
