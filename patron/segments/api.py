"""/api/v1/segments: segment definitions (JSON rules or text), members, membership checks,
history, previews and dry runs. Every endpoint goes through the scoped selectors."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.contacts.selectors import require
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, Id, InputSchema, PageQuery, PathId, page_schema
from patron.core.permissions import P
from patron.segments.rules import Catalogue, print_rules
from patron.segments.rules.schema import json_schema
from patron.segments.selectors import (
    segment_get,
    segment_history,
    segment_members,
    segment_membership_of,
    segment_preview,
    segments_visible_to,
)
from patron.segments.services.definitions import (
    rules_from_input,
    segment_create,
    segment_delete,
    segment_update,
)
from patron.segments.services.membership import segment_dry_run

router = Router(tags=["segments"])
Kind = Literal["dynamic", "static"]
RULES_DOC = "The rule tree as JSON (see GET /segments/schema). Give this or `text`."
TEXT_DOC = "The rules in the text syntax. Give this or `rules`."


class RulesIn(InputSchema):
    rules: dict[str, Any] | None = Field(None, description=RULES_DOC)
    text: str | None = Field(None, max_length=20_000, description=TEXT_DOC)


class SegmentPatchIn(RulesIn):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=5000)


class SegmentCreateIn(SegmentPatchIn):
    name: str = Field(..., max_length=200)  # type: ignore[assignment]
    kind: Kind = Field("dynamic", description="dynamic: live; static: a snapshot on demand.")


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    is_template: bool
    status: str
    member_count: int
    rules: dict[str, Any]
    text: str
    depends_on: list[str]
    built_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactBrief(Schema):
    id: int
    name: str
    email: str


class PreviewIn(RulesIn):
    sample: int = Field(10, ge=0, le=50)
    explain: bool = Field(False, description="Administrators: include the SQL and its plan.")


class PreviewOut(Schema):
    count: int
    sample: list[ContactBrief]
    text: str
    sql: str | None = None
    plan: str | None = None


class MembershipOut(Schema):
    segment_id: int
    contact_id: int
    member: bool
    entered_at: dt.datetime | None


class StayOut(Schema):
    id: int
    contact_id: int
    entered_at: dt.datetime
    exited_at: dt.datetime | None


class DryRunOut(Schema):
    would_enter: int
    would_exit: int
    enter_sample: list[int]
    exit_sample: list[int]
    size_after: int


class SegmentQuery(PageQuery):
    templates: bool = Field(False, description="List the templates instead of segments.")


class HistoryQuery(PageQuery):
    contact_id: Id | None = None


SegmentPage = page_schema(SegmentOut, "SegmentPage")
MemberPage = page_schema(ContactBrief, "SegmentMemberPage")
StayPage = page_schema(StayOut, "SegmentStayPage")


def _out(segment: Any) -> dict[str, Any]:
    try:
        text = print_rules(segment.rules)
    except (KeyError, ValueError, TypeError):
        text = ""
    return {
        **{f: getattr(segment, f) for f in SegmentOut.model_fields if f != "text"},
        "text": text,
    }


def _brief(contact: Any) -> dict[str, Any]:
    return {"id": contact.pk, "name": contact.display_name, "email": contact.email}


def _rules(actor: Any, payload: RulesIn) -> dict[str, Any]:
    return rules_from_input(actor=actor, rules=payload.rules, text=payload.text)


@router.get("", response={200: SegmentPage, **ERRORS}, summary="List segments")
def list_segments(request: HttpRequest, filters: Query[SegmentQuery]) -> dict[str, Any]:
    qs = segments_visible_to(actor_of(request)).filter(is_template=filters.templates)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id", serialize=_out)


@router.post("", response={201: SegmentOut, **ERRORS}, summary="Create a segment")
def create_segment(request: HttpRequest, payload: SegmentCreateIn) -> Status[dict[str, Any]]:
    segment = segment_create(actor=actor_of(request), data=payload.model_dump(exclude_unset=True))
    return Status(201, _out(segment))


@router.get("/schema", response={200: dict[str, Any], **ERRORS}, summary="Rule JSON Schema")
def rules_schema(request: HttpRequest) -> dict[str, Any]:
    """The JSON Schema of rule trees (also in docs/segments-rules.schema.json)."""
    require(actor_of(request), P.SEGMENT_VIEW)
    return json_schema()


@router.get("/fields", response={200: list[dict[str, Any]], **ERRORS}, summary="Rule fields")
def rule_fields(request: HttpRequest) -> list[dict[str, Any]]:
    """Every field rules may name here, with its type, operators and known values."""
    require(actor_of(request), P.SEGMENT_VIEW)
    return Catalogue.load().describe()


@router.post("/parse", response={200: dict[str, Any], **ERRORS}, summary="Text to rules")
def parse(request: HttpRequest, payload: RulesIn) -> dict[str, Any]:
    """Validate rules given as text or JSON; returns both forms (canonical text)."""
    actor = actor_of(request)
    require(actor, P.SEGMENT_VIEW)
    tree = _rules(actor, payload)
    return {"rules": tree, "text": print_rules(tree)}


@router.post("/preview", response={200: PreviewOut, **ERRORS}, summary="Preview rules")
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    """How many contacts (that you can see) match now, and a sample; nothing is saved."""
    actor = actor_of(request)
    require(actor, P.SEGMENT_VIEW)
    tree = _rules(actor, payload)
    out = segment_preview(actor, tree, sample=payload.sample, explain=payload.explain)
    return {**out, "sample": [_brief(c) for c in out["sample"]], "text": print_rules(tree)}


@router.get("/{segment_id}", response={200: SegmentOut, **ERRORS}, summary="Get a segment")
def get_segment(request: HttpRequest, segment_id: PathId) -> dict[str, Any]:
    return _out(segment_get(actor_of(request), segment_id))


@router.patch("/{segment_id}", response={200: SegmentOut, **ERRORS}, summary="Update a segment")
def update_segment(
    request: HttpRequest, segment_id: PathId, payload: SegmentPatchIn
) -> dict[str, Any]:
    actor = actor_of(request)
    segment = segment_get(actor, segment_id)
    segment = segment_update(
        actor=actor, segment=segment, data=payload.model_dump(exclude_unset=True)
    )
    return _out(segment_get(actor, segment.pk))


@router.delete("/{segment_id}", response={204: None, **ERRORS}, summary="Delete a segment")
def delete_segment(request: HttpRequest, segment_id: PathId) -> Status[None]:
    actor = actor_of(request)
    segment_delete(actor=actor, segment=segment_get(actor, segment_id))
    return Status(204, None)


@router.get(
    "/{segment_id}/members", response={200: MemberPage, **ERRORS}, summary="Current members"
)
def members(request: HttpRequest, segment_id: PathId, filters: Query[PageQuery]) -> dict[str, Any]:
    """Members you can see, by contact id (keyset pages: pass `next_cursor` back)."""
    actor = actor_of(request)
    qs = segment_members(actor, segment_get(actor, segment_id))
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="id", serialize=_brief)


@router.get(
    "/{segment_id}/members/{contact_id}",
    response={200: MembershipOut, **ERRORS},
    summary="Is a contact a member?",
)
def membership(request: HttpRequest, segment_id: PathId, contact_id: PathId) -> dict[str, Any]:
    actor = actor_of(request)
    segment = segment_get(actor, segment_id)
    contact, row = segment_membership_of(actor, segment, contact_id)
    return {
        "segment_id": segment.pk,
        "contact_id": contact.pk,
        "member": row is not None,
        "entered_at": row.entered_at if row else None,
    }


@router.get(
    "/{segment_id}/history", response={200: StayPage, **ERRORS}, summary="Membership history"
)
def history(
    request: HttpRequest, segment_id: PathId, filters: Query[HistoryQuery]
) -> dict[str, Any]:
    """Every stay in the segment (entered, exited), newest first."""
    actor = actor_of(request)
    qs = segment_history(actor, segment_get(actor, segment_id), filters.contact_id)

    def stay(row: Any) -> dict[str, Any]:
        return {
            "id": row.pk,
            "contact_id": row.contact_id,
            "entered_at": row.entered_at,
            "exited_at": row.exited_at,
        }

    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id", serialize=stay)


@router.post("/{segment_id}/dry-run", response={200: DryRunOut, **ERRORS}, summary="Who would move")
def dry_run(request: HttpRequest, segment_id: PathId, payload: RulesIn) -> dict[str, Any]:
    """Who would enter and who would leave with these rules; nothing is saved."""
    actor = actor_of(request)
    require(actor, P.SEGMENT_MANAGE)
    segment = segment_get(actor, segment_id)
    return segment_dry_run(actor=actor, segment=segment, tree=_rules(actor, payload))


@router.post(
    "/{segment_id}/rebuild", response={202: dict[str, Any], **ERRORS}, summary="Rebuild/snapshot"
)
def rebuild(request: HttpRequest, segment_id: PathId) -> Status[dict[str, Any]]:
    """Re-evaluate every contact (a live segment) or take a new snapshot (a static one)."""
    actor = actor_of(request)
    require(actor, P.SEGMENT_MANAGE)
    segment = segment_get(actor, segment_id)
    if segment.is_template:
        raise ValidationError({"segment": ["Templates are not evaluated."]})
    from patron.segments.tasks import segment_build_schedule

    segment_build_schedule(segment.pk)
    return Status(202, {"detail": "Rebuild queued."})


ROUTERS = [("/segments", router)]
