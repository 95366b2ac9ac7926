"""/api/v1/notes: notes on contacts and companies: list, get, create."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from ninja import Query, Router, Status

from patron.contacts.api.schemas import NoteIn, NoteOut, NotePage, NoteQuery
from patron.contacts.api.serialize import note_out
from patron.contacts.models import Note
from patron.contacts.selectors import company_get, contact_get, notes_visible_to
from patron.contacts.services import note_create
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, PathId

router = Router(tags=["notes"])


def _note(actor: Any, note_id: int) -> Note:
    note = notes_visible_to(actor).filter(pk=note_id).first()
    if note is None:
        raise Http404("No such note.")
    return note


@router.get("", response={200: NotePage, **ERRORS}, summary="List notes")
def list_notes(request: HttpRequest, filters: Query[NoteQuery]) -> dict[str, Any]:
    """Notes you can see, newest first; `contact_id` or `company_id` narrows to one record."""
    actor = actor_of(request)
    qs = notes_visible_to(actor)
    if filters.contact_id is not None:
        qs = qs.filter(contact=contact_get(actor, filters.contact_id))
    if filters.company_id is not None:
        qs = qs.filter(company=company_get(actor, filters.company_id))
    page = keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id")
    page["items"] = [note_out(n) for n in page["items"]]
    return page


@router.post("", response={201: NoteOut, **ERRORS}, summary="Add a note")
def create_note(request: HttpRequest, payload: NoteIn) -> Status[dict[str, Any]]:
    """Give exactly one of `contact_id` and `company_id`."""
    actor = actor_of(request)
    if (payload.contact_id is None) == (payload.company_id is None):
        raise ValidationError({"__all__": ["Give exactly one of contact_id and company_id."]})
    contact = contact_get(actor, payload.contact_id) if payload.contact_id else None
    company = company_get(actor, payload.company_id) if payload.company_id else None
    note = note_create(actor=actor, body=payload.body, contact=contact, company=company)
    return Status(201, note_out(_note(actor, note.pk)))


@router.get("/{note_id}", response={200: NoteOut, **ERRORS}, summary="Get a note")
def get_note(request: HttpRequest, note_id: PathId) -> dict[str, Any]:
    return note_out(_note(actor_of(request), note_id))
