"""/api/v1/hygiene: duplicates, the review queue, merges and undo, data quality.

Every endpoint goes through scoped selectors or services that check the permission;
refusals (403/404) change nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.contacts.selectors import require
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, Id, InputSchema, PathId
from patron.core.permissions import P
from patron.hygiene import quality as quality_reads
from patron.hygiene.matching import POSSIBLE
from patron.hygiene.models import MergeRecord
from patron.hygiene.selectors import (
    duplicate_candidate_get,
    duplicate_queue,
    duplicates_for,
    hygiene_settings_get,
    merge_get,
    scan_runs_visible_to,
)
from patron.hygiene.services import (
    contact_merge,
    contact_merge_undo,
    contacts_renormalize,
    contacts_stale_tag,
    duplicate_dismiss,
    hygiene_settings_update,
)
from patron.hygiene.services.scan_request import duplicates_scan_request

router = Router(tags=["hygiene"])


class DuplicateOut(Schema):
    contact_id: int
    display_name: str
    score: float
    explanation: list[dict[str, Any]]


class CandidateOut(Schema):
    id: int
    contact_a_id: int
    contact_b_id: int
    score: float
    status: str
    source: str
    explanation: list[dict[str, Any]]


class CandidatePage(Schema):
    items: list[CandidateOut]
    next_cursor: str | None


class QueueQuery(Schema):
    status: Literal["open", "dismissed", "merged"] = "open"
    cursor: str | None = Field(None, max_length=200)
    limit: int | None = Field(None, ge=1, le=500)


class MergeIn(InputSchema):
    survivor_id: Id
    merged_id: Id
    rule: Literal["most_recent", "most_complete", "trusted_source"] = "most_complete"
    field_choices: dict[str, Literal["survivor", "merged"]] = Field(default_factory=dict)
    trusted_sources: list[str] = Field(default_factory=list, max_length=20)


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    rule: str
    actor_label: str
    created_at: Any
    undone_at: Any | None
    moved: dict[str, int]
    undo_report: dict[str, Any]


class QualityOut(Schema):
    score: int
    completeness: int
    validity: int
    reasons: list[dict[str, str]]


class QualityQuery(Schema):
    stale_months: int = Field(12, ge=1, le=120)
    days: int = Field(90, ge=1, le=3660)


def _merge_out(record: MergeRecord) -> dict[str, Any]:
    return {
        "id": record.pk,
        "survivor_id": record.survivor_id,
        "merged_id": record.merged_id,
        "rule": record.rule,
        "actor_label": record.actor_label,
        "created_at": record.created_at,
        "undone_at": record.undone_at,
        "moved": {k: len(v) for k, v in record.moved.items()},
        "undo_report": record.undo_report,
    }


def _candidate_out(c: Any) -> dict[str, Any]:
    return {
        "id": c.pk,
        "contact_a_id": c.contact_a_id,
        "contact_b_id": c.contact_b_id,
        "score": c.score,
        "status": c.status,
        "source": c.source,
        "explanation": c.explanation,
    }


@router.get(
    "/contacts/{contact_id}/duplicates",
    response={200: list[DuplicateOut], **ERRORS},
    summary="Likely duplicates of a contact, scored and explained",
)
def contact_duplicates(request: HttpRequest, contact_id: PathId) -> list[dict[str, Any]]:
    found = duplicates_for(actor_of(request), contact_id, min_score=POSSIBLE)
    return [
        {
            "contact_id": m.contact.pk,
            "display_name": m.contact.display_name,
            "score": m.score,
            "explanation": m.explanation,
        }
        for m in found
    ]


@router.get(
    "/contacts/{contact_id}/quality",
    response={200: QualityOut, **ERRORS},
    summary="Quality score of a contact, with reasons",
)
def contact_quality(request: HttpRequest, contact_id: PathId) -> Any:
    return quality_reads.contact_quality_get(actor_of(request), contact_id)


@router.get(
    "/duplicates", response={200: CandidatePage, **ERRORS}, summary="The duplicate review queue"
)
def queue(request: HttpRequest, filters: Query[QueueQuery]) -> dict[str, Any]:
    qs = duplicate_queue(actor_of(request), status=filters.status)
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, serialize=_candidate_out)


@router.post(
    "/duplicates/{candidate_id}/dismiss",
    response={200: CandidateOut, **ERRORS},
    summary="Mark a pair as not duplicates",
)
def dismiss(request: HttpRequest, candidate_id: PathId) -> dict[str, Any]:
    actor = actor_of(request)
    candidate = duplicate_candidate_get(actor, candidate_id)
    return _candidate_out(duplicate_dismiss(actor=actor, candidate=candidate))


@router.post("/merges", response={201: MergeOut, **ERRORS}, summary="Merge two contacts")
def merge(request: HttpRequest, payload: MergeIn) -> Status[dict[str, Any]]:
    record = contact_merge(
        actor=actor_of(request),
        survivor=payload.survivor_id,
        merged=payload.merged_id,
        rule=payload.rule,
        field_choices=payload.field_choices,
        trusted_sources=payload.trusted_sources,
    )
    return Status(201, _merge_out(record))


@router.get("/merges/{merge_id}", response={200: MergeOut, **ERRORS}, summary="Get a merge")
def get_merge(request: HttpRequest, merge_id: PathId) -> dict[str, Any]:
    return _merge_out(merge_get(actor_of(request), merge_id))


@router.post("/merges/{merge_id}/undo", response={200: MergeOut, **ERRORS}, summary="Undo a merge")
def undo(request: HttpRequest, merge_id: PathId) -> dict[str, Any]:
    actor = actor_of(request)
    record = merge_get(actor, merge_id)
    return _merge_out(contact_merge_undo(actor=actor, merge=record))


@router.get("/quality", response={200: dict[str, Any], **ERRORS}, summary="Workspace quality")
def workspace_quality(request: HttpRequest, filters: Query[QualityQuery]) -> dict[str, Any]:
    actor = actor_of(request)
    figures = quality_reads.quality_figures(actor, stale_months=filters.stale_months)
    return {**figures, "trend": quality_reads.quality_trend(actor, days=filters.days)}


class SettingsIO(InputSchema):
    auto_merge_enabled: bool
    auto_merge_threshold: float = Field(ge=0.0, le=1.0)
    auto_merge_rule: Literal["most_recent", "most_complete", "trusted_source"] = "most_complete"


class ScanOut(Schema):
    id: int
    engine: str
    status: str
    records: int
    candidates: int
    clusters: int
    auto_merged: int
    trained: bool
    started_at: Any
    finished_at: Any | None


class StaleIn(InputSchema):
    stale_months: int = Field(12, ge=1, le=120)
    tag: str = Field("stale", min_length=1, max_length=80)


class FixOut(Schema):
    examined: int
    changed: int
    remaining: int


def _settings_out(obj: Any) -> dict[str, Any]:
    return {
        "auto_merge_enabled": obj.auto_merge_enabled,
        "auto_merge_threshold": obj.auto_merge_threshold,
        "auto_merge_rule": obj.auto_merge_rule,
    }


@router.get("/settings", response={200: SettingsIO, **ERRORS}, summary="Auto-merge settings")
def get_settings(request: HttpRequest) -> dict[str, Any]:
    require(actor_of(request), P.QUALITY_VIEW)
    return _settings_out(hygiene_settings_get())


@router.put(
    "/settings",
    response={200: SettingsIO, **ERRORS},
    summary="Turn auto-merge on or off (administrators only)",
)
def put_settings(request: HttpRequest, payload: SettingsIO) -> dict[str, Any]:
    return _settings_out(hygiene_settings_update(actor=actor_of(request), **payload.dict()))


@router.get("/scans", response={200: list[ScanOut], **ERRORS}, summary="Whole-database scans")
def scans(request: HttpRequest) -> list[Any]:
    return list(scan_runs_visible_to(actor_of(request))[:50])


@router.post("/scans", response={202: dict[str, str], **ERRORS}, summary="Queue a scan")
def scan_request(request: HttpRequest) -> Status[dict[str, str]]:
    duplicates_scan_request(actor=actor_of(request))
    return Status(202, {"status": "queued"})


@router.post(
    "/fixes/renormalize",
    response={200: FixOut, **ERRORS},
    summary="Re-run the normaliser over contacts with values flagged invalid",
)
def fix_renormalize(request: HttpRequest) -> Any:
    return contacts_renormalize(actor=actor_of(request))


@router.post("/fixes/tag-stale", response={200: FixOut, **ERRORS}, summary="Tag the stale contacts")
def fix_tag_stale(request: HttpRequest, payload: StaleIn) -> Any:
    return contacts_stale_tag(
        actor=actor_of(request), stale_months=payload.stale_months, tag_name=payload.tag
    )


ROUTERS = [("/hygiene", router)]
