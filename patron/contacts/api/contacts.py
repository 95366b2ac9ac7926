"""/api/v1/contacts: list (filters, keyset pages), get, create, patch, delete, timeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from patron.contacts.api.schemas import (
    CompanyLinkIn,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactQuery,
    TimelineOut,
    TimelineQuery,
)
from patron.contacts.api.serialize import contacts_out, timeline_out
from patron.contacts.selectors import (
    ContactFilters,
    company_get,
    contact_get,
    contacts_filter,
    keyset,
)
from patron.contacts.services import (
    contact_company_link,
    contact_company_unlink,
    contact_create,
    contact_delete,
    contact_update,
)
from patron.contacts.timeline import contact_timeline
from patron.core.api_base import actor_of, decode_cursor, encode_cursor, is_id
from patron.core.api_schemas import ERRORS, PathId
from patron.events.selectors import contacts_by_identity

router = Router(tags=["contacts"])


def _one(actor: Any, contact_id: int) -> dict[str, Any]:
    return contacts_out(actor, [contact_get(actor, contact_id)])[0]


def _after(cursor: str | None, sort: str) -> list[Any] | None:
    """The keyset position a cursor encodes; it must come from the same sort."""
    if not cursor:
        return None
    values = decode_cursor(cursor)
    if len(values) != 3 or values[0] != sort or not is_id(values[2]):
        raise ValidationError({"cursor": ["Invalid cursor for this sort."]})
    value = values[1]
    column = sort.lstrip("-")
    if column in ("created", "updated"):
        try:
            value = dt.datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from exc
    elif column != "id" and not isinstance(value, str):
        raise ValidationError({"cursor": ["Invalid cursor."]})
    return [value, values[2]]


@router.get("", response={200: ContactPage, **ERRORS}, summary="List contacts")
def list_contacts(request: HttpRequest, filters: Query[ContactQuery]) -> dict[str, Any]:
    """Contacts you can see, filtered, one keyset page at a time (`next_cursor`)."""
    actor = actor_of(request)
    qs = contacts_filter(
        actor,
        ContactFilters(
            q=filters.q,
            tag=filters.tag,
            stage=filters.stage,
            owner=filters.owner,
            country=filters.country,
            email=filters.email,
            external_id=filters.external_id,
            company=filters.company_id,
        ),
    )
    # Tracking ids (the identity graph of patron.events): each one given narrows the list.
    for kind, value in (("user_id", filters.user_id), ("anonymous_id", filters.anonymous_id)):
        if value:
            holders = contacts_by_identity(actor, kind=kind, value=value)
            qs = qs.filter(pk__in=holders.values("pk"))
    column = filters.sort.lstrip("-")
    rows, after = keyset(
        qs,
        sort=column,
        descending=filters.sort.startswith("-"),
        after=_after(filters.cursor, filters.sort),
        size=filters.limit,
    )
    return {
        "items": contacts_out(actor, rows),
        "next_cursor": encode_cursor([filters.sort, *after]) if after else None,
    }


@router.post("", response={201: ContactOut, **ERRORS}, summary="Create a contact")
def create_contact(request: HttpRequest, payload: ContactIn) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    contact = contact_create(actor=actor, data=payload.model_dump(exclude_unset=True))
    return Status(201, _one(actor, contact.pk))


@router.get("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Get a contact")
def get_contact(request: HttpRequest, contact_id: PathId) -> dict[str, Any]:
    return _one(actor_of(request), contact_id)


@router.patch("/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Update a contact")
def update_contact(request: HttpRequest, contact_id: PathId, payload: ContactIn) -> dict[str, Any]:
    """Change only the fields given."""
    actor = actor_of(request)
    contact = contact_get(actor, contact_id)
    contact_update(actor=actor, contact=contact, data=payload.model_dump(exclude_unset=True))
    return _one(actor, contact.pk)


@router.delete("/{contact_id}", response={204: None, **ERRORS}, summary="Delete a contact")
def delete_contact(request: HttpRequest, contact_id: PathId) -> Status[None]:
    actor = actor_of(request)
    contact_delete(actor=actor, contact=contact_get(actor, contact_id))
    return Status(204, None)


@router.get(
    "/{contact_id}/timeline",
    response={200: TimelineOut, **ERRORS},
    summary="A contact's timeline",
)
def get_timeline(
    request: HttpRequest, contact_id: PathId, params: Query[TimelineQuery]
) -> dict[str, Any]:
    """Activity, notes, orders, tickets, surveys and events about the contact, newest first."""
    actor = actor_of(request)
    before = params.before
    if before is not None and timezone.is_naive(before):
        before = timezone.make_aware(before)
    items = contact_timeline(actor, contact_id, limit=params.limit, before=before)
    return {"items": timeline_out(actor, items)}


@router.post(
    "/{contact_id}/companies",
    response={201: ContactOut, **ERRORS},
    summary="Link a contact to a company",
)
def link_company(
    request: HttpRequest, contact_id: PathId, payload: CompanyLinkIn
) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    contact = contact_get(actor, contact_id)
    company = company_get(actor, payload.company_id)
    contact_company_link(actor=actor, contact=contact, company=company, role=payload.role)
    return Status(201, _one(actor, contact.pk))


@router.delete(
    "/{contact_id}/companies/{company_id}",
    response={204: None, **ERRORS},
    summary="Unlink a contact from a company",
)
def unlink_company(request: HttpRequest, contact_id: PathId, company_id: PathId) -> Status[None]:
    actor = actor_of(request)
    contact = contact_get(actor, contact_id)
    company = company_get(actor, company_id)
    contact_company_unlink(actor=actor, contact=contact, company=company)
    return Status(204, None)
