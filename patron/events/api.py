"""The events app's JSON API (read APIs of the tracking data, and sources).

- ``GET /contacts/{id}/events``: a contact's events, newest first, keyset pages, filters.
- ``GET /contacts/{id}/identities``: the contact's identity graph and behaviour.
- ``GET /identities/contacts?user_id=`` / ``?anonymous_id=``: contacts holding an id.
- ``/sources``: list, create (the write key is returned once), rotate, debugger.

The tracking API itself (``/v1/...``, write-key auth) is in ``patron.events.tracking``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.contacts.api.schemas import ContactPage
from patron.contacts.api.serialize import contacts_out
from patron.core.api_base import actor_of
from patron.core.api_schemas import ERRORS, Filter, InputSchema, IsoDateTime, PageQuery, PathId
from patron.events.selectors import (
    EventFilters,
    contacts_by_identity,
    events_of_contact,
    events_page,
    identity_graph,
    source_get,
    source_recent_events,
    source_recent_rejections,
    source_stats,
    sources_visible_to,
)
from patron.events.services import source_create, source_rotate_key

contacts_router = Router(tags=["events"])
identities_router = Router(tags=["events"])
sources_router = Router(tags=["sources"])


class EventOut(Schema):
    id: int
    type: str
    event: str
    name: str
    user_id: str
    anonymous_id: str
    group_id: str
    previous_id: str
    timestamp: dt.datetime
    original_timestamp: dt.datetime | None
    sent_at: dt.datetime | None
    received_at: dt.datetime
    properties: dict[str, Any]
    traits: dict[str, Any]
    context: dict[str, Any]
    source: str
    message_id: str


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class EventQuery(PageQuery):
    event: Filter | None = Field(None, description="Only events with this name (track).")
    type: Filter | None = Field(None, description="identify, track, page, screen, group, alias")
    since: IsoDateTime | None = Field(None, description="From this time (inclusive).")
    until: IsoDateTime | None = Field(None, description="Before this time.")


class IdentityOut(Schema):
    kind: str
    value: str
    label: str
    first_seen: dt.datetime
    last_seen: dt.datetime


class EventCountOut(Schema):
    event: str
    count: int
    first_at: dt.datetime
    last_at: dt.datetime


class BehaviourOut(Schema):
    first_seen: dt.datetime | None
    last_seen: dt.datetime | None
    event_count: int
    page_views: int
    screen_views: int
    sessions: int
    events: list[EventCountOut]
    traits: dict[str, Any]


class PendingJoinOut(Schema):
    other_contact_id: int | None
    kind: str
    value: str
    created_at: dt.datetime


class IdentityGraphOut(Schema):
    contact_id: int
    primary: dict[str, str]
    identities: list[IdentityOut]
    pending_joins: list[PendingJoinOut]
    behaviour: BehaviourOut | None = Field(None, description="Needs event.view.")


class LookupQuery(Schema):
    user_id: str | None = Field(None, max_length=200)
    anonymous_id: str | None = Field(None, max_length=200)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@contacts_router.get(
    "/{contact_id}/events",
    response={200: EventPage, **ERRORS},
    summary="A contact's events",
    description="Newest first. Needs contact.view (and the contact in scope) and event.view.",
)
def contact_events(
    request: HttpRequest, contact_id: PathId, query: Query[EventQuery]
) -> dict[str, Any]:
    since, until = _aware(query.since), _aware(query.until)
    if since and until and since >= until:
        raise ValidationError({"since": ["since must be before until."]})
    qs = events_of_contact(
        actor_of(request),
        contact_id,
        EventFilters(event=query.event or "", type=query.type or "", since=since, until=until),
    )
    return events_page(qs, cursor=query.cursor, limit=query.limit)


@contacts_router.get(
    "/{contact_id}/identities",
    response={200: IdentityGraphOut, **ERRORS},
    summary="A contact's identity graph",
    description="User ids, anonymous ids, emails and phones with first/last seen; "
    "behaviour aggregates when the key has event.view.",
)
def contact_identities(request: HttpRequest, contact_id: PathId) -> dict[str, Any]:
    return identity_graph(actor_of(request), contact_id)


@identities_router.get(
    "/contacts",
    response={200: ContactPage, **ERRORS},
    summary="Find contacts by user id or anonymous id",
)
def contacts_lookup(request: HttpRequest, query: Query[LookupQuery]) -> dict[str, Any]:
    given = {
        k: v for k, v in (("user_id", query.user_id), ("anonymous_id", query.anonymous_id)) if v
    }
    if len(given) != 1:
        raise ValidationError({"__all__": ["Give exactly one of user_id or anonymous_id."]})
    (kind, value), *_ = given.items()
    actor = actor_of(request)
    contacts = list(contacts_by_identity(actor, kind=kind, value=value)[:50])
    return {"items": contacts_out(actor, contacts), "next_cursor": None}


# --- Sources -----------------------------------------------------------------------------


class SourceOut(Schema):
    id: int
    name: str
    key_prefix: str
    previous_key_prefix: str
    previous_key_expires_at: dt.datetime | None
    is_active: bool
    rejected_count: int
    created_at: dt.datetime


class SourceWithKeyOut(SourceOut):
    write_key: str = Field(description="Shown once: only a hash is stored.")


class SourceIn(InputSchema):
    name: str = Field(max_length=120)


class RotateIn(InputSchema):
    grace_hours: float = Field(24.0, ge=0, le=720, description="How long the old key works.")


class RejectionOut(Schema):
    id: int
    stage: str
    received_at: dt.datetime
    type: str
    message_id: str
    reason: str
    payload: str


class DebuggerOut(Schema):
    source: SourceOut
    last_received_at: dt.datetime | None
    unprocessed: int
    events: list[EventOut]
    rejections: list[RejectionOut]


def _with_key(source: Any, raw: str) -> dict[str, Any]:
    data = SourceOut.model_validate(source).model_dump()
    data["write_key"] = raw
    return data


@sources_router.get("", response={200: list[SourceOut], **ERRORS}, summary="List sources")
def sources_list(request: HttpRequest) -> Any:
    return list(sources_visible_to(actor_of(request)))


@sources_router.post(
    "", response={201: SourceWithKeyOut, **ERRORS}, summary="Create a tracking source"
)
def sources_create(request: HttpRequest, payload: SourceIn) -> Any:
    source, raw = source_create(actor=actor_of(request), name=payload.name)
    return Status(201, _with_key(source, raw))


@sources_router.post(
    "/{source_id}/rotate",
    response={200: SourceWithKeyOut, **ERRORS},
    summary="Rotate a source's write key",
)
def sources_rotate(request: HttpRequest, source_id: PathId, payload: RotateIn) -> Any:
    actor = actor_of(request)
    source = source_get(actor, source_id)
    source, raw = source_rotate_key(
        actor=actor, source=source, grace=dt.timedelta(hours=payload.grace_hours)
    )
    return _with_key(source, raw)


@sources_router.get(
    "/{source_id}/debugger",
    response={200: DebuggerOut, **ERRORS},
    summary="Live debugger: the latest events and rejections of a source",
)
def sources_debugger(request: HttpRequest, source_id: PathId) -> Any:
    actor = actor_of(request)
    source = source_get(actor, source_id)
    return {
        "source": source,
        **source_stats(actor, source),
        "events": source_recent_events(actor, source, 50),
        "rejections": source_recent_rejections(actor, source, 50),
    }


ROUTERS = [
    ("/contacts", contacts_router),
    ("/identities", identities_router),
    ("/sources", sources_router),
]
