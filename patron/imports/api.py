"""/api/v1/imports and /api/v1/exports: the same services as the pages.

Every endpoint goes through a scoped selector or a service that checks P.IMPORT or
P.EXPORT; refusals (403/404) change nothing.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest, StreamingHttpResponse
from ninja import File, Form, Router, Schema, Status, UploadedFile
from pydantic import Field

from patron.contacts.selectors import ContactFilters
from patron.core.api_base import actor_of
from patron.core.api_schemas import ERRORS, Id, InputSchema, PathId
from patron.imports.models import ImportJob, ImportMapping
from patron.imports.selectors import (
    import_job_get,
    import_jobs_visible_to,
    import_mappings,
    import_report_rows,
    report_header,
)
from patron.imports.services import (
    ExportSpec,
    contacts_export,
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_preview_queue,
    import_job_resume,
    import_job_rollback,
    import_job_start,
    import_mapping_delete,
    import_mapping_save,
)
from patron.imports.services.exports import DEFAULT_FIELDS, report_csv

router = Router(tags=["imports"])
exports = Router(tags=["exports"])


class JobOut(Schema):
    id: int
    target: str
    file_name: str
    file_format: str
    encoding: str
    delimiter: str
    headers: list[str]
    mapping: dict[str, str]
    options: dict[str, Any]
    status: str
    error: str
    preview: dict[str, Any]
    total_rows: int | None
    rows_done: int
    counts: dict[str, Any]
    rate: float | None
    eta_seconds: float | None
    created_at: Any
    finished_at: Any | None
    rolled_back_at: Any | None
    rollback_report: dict[str, Any]


def _out(job: ImportJob) -> dict[str, Any]:
    return {name: getattr(job, name if name != "id" else "pk") for name in JobOut.model_fields}


class OptionsIn(InputSchema):
    key: str = Field("email", max_length=70)
    on_new: Literal["create", "skip"] = "create"
    on_existing: Literal["update", "fill_empty", "skip"] = "update"
    on_error: Literal["skip", "stop"] = "skip"
    on_duplicate: Literal["skip", "create"] = "skip"
    tags: list[str] = Field(default_factory=list, max_length=20)


class ConfigureIn(InputSchema):
    mapping: dict[str, str] | None = Field(None, max_length=500)
    options: OptionsIn | None = None


@router.get("/imports", response={200: list[JobOut], **ERRORS}, summary="My imports")
def list_jobs(request: HttpRequest) -> list[dict[str, Any]]:
    return [_out(j) for j in import_jobs_visible_to(actor_of(request))[:100]]


@router.post("/imports", response={201: JobOut, **ERRORS}, summary="Upload a file")
def create_job(
    request: HttpRequest,
    file: File[UploadedFile],
    target: Form[Literal["contacts", "companies", "orders", "tickets", "events"]] = "contacts",
    encoding: Form[str] = "",
    mapping: Form[str] = "",
) -> Status[dict[str, Any]]:
    """Multipart upload; ``target`` says what the file holds, ``encoding`` forces a CSV
    text encoding, ``mapping`` applies a saved mapping by name."""
    job = import_job_create(
        actor=actor_of(request),
        file=file,
        file_name=file.name or "upload",
        target=target,
        encoding=encoding[:40] or None,
        mapping_name=mapping[:120] or None,
    )
    return Status(201, _out(job))


class MappingOut(Schema):
    id: int
    name: str
    target: str
    columns: dict[str, str]
    created_by_id: int | None
    created_at: Any
    updated_at: Any


class MappingIn(InputSchema):
    name: str = Field(..., min_length=1, max_length=120)
    target: Literal["contacts", "companies", "orders", "tickets", "events"] = "contacts"
    columns: dict[str, str] = Field(..., max_length=500)


def _mapping_out(m: ImportMapping) -> dict[str, Any]:
    return {name: getattr(m, name if name != "id" else "pk") for name in MappingOut.model_fields}


@router.get(
    "/imports/mappings", response={200: list[MappingOut], **ERRORS}, summary="Saved mappings"
)
def list_mappings(request: HttpRequest, target: str = "") -> list[dict[str, Any]]:
    return [_mapping_out(m) for m in import_mappings(actor_of(request), target[:20] or None)]


@router.post("/imports/mappings", response={201: MappingOut, **ERRORS}, summary="Save a mapping")
def create_mapping(request: HttpRequest, payload: MappingIn) -> Status[dict[str, Any]]:
    saved = import_mapping_save(
        actor=actor_of(request), name=payload.name, columns=payload.columns, target=payload.target
    )
    return Status(201, _mapping_out(saved))


@router.delete(
    "/imports/mappings/{mapping_id}", response={204: None, **ERRORS}, summary="Delete a mapping"
)
def delete_mapping(request: HttpRequest, mapping_id: PathId) -> Status[None]:
    import_mapping_delete(actor=actor_of(request), mapping=mapping_id)
    return Status(204, None)


@router.get("/imports/{job_id}", response={200: JobOut, **ERRORS}, summary="An import")
def get_job(request: HttpRequest, job_id: PathId) -> dict[str, Any]:
    return _out(import_job_get(actor_of(request), job_id))


@router.patch("/imports/{job_id}", response={200: JobOut, **ERRORS}, summary="Map and set options")
def configure_job(request: HttpRequest, job_id: PathId, payload: ConfigureIn) -> dict[str, Any]:
    actor = actor_of(request)
    job = import_job_get(actor, job_id)
    job = import_job_configure(
        actor=actor,
        job=job,
        mapping=payload.mapping,
        options=payload.options.model_dump() if payload.options else None,
    )
    return _out(job)


@router.post(
    "/imports/{job_id}/preview", response={200: JobOut, 202: JobOut, **ERRORS}, summary="Dry run"
)
def preview_job(
    request: HttpRequest, job_id: PathId, background: bool = False
) -> Status[dict[str, Any]]:
    """The dry run; ``?background=true`` queues it (202) and ``GET`` shows its progress
    in ``preview.rows_checked`` until ``status`` is ``previewed``."""
    actor = actor_of(request)
    job = import_job_get(actor, job_id)
    if background:
        return Status(202, _out(import_job_preview_queue(actor=actor, job=job)))
    return Status(200, _out(import_job_preview(actor=actor, job=job, workers=0)))


@router.post("/imports/{job_id}/run", response={202: JobOut, **ERRORS}, summary="Run it")
def run_job(request: HttpRequest, job_id: PathId) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    return Status(202, _out(import_job_start(actor=actor, job=import_job_get(actor, job_id))))


@router.post("/imports/{job_id}/resume", response={202: JobOut, **ERRORS}, summary="Resume")
def resume_job(request: HttpRequest, job_id: PathId) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    return Status(202, _out(import_job_resume(actor=actor, job=import_job_get(actor, job_id))))


@router.post("/imports/{job_id}/rollback", response={200: JobOut, **ERRORS}, summary="Roll back")
def rollback_job(request: HttpRequest, job_id: PathId) -> dict[str, Any]:
    actor = actor_of(request)
    return _out(import_job_rollback(actor=actor, job=import_job_get(actor, job_id)))


@router.get("/imports/{job_id}/report", response={200: None, **ERRORS}, summary="Report CSV")
def job_report(request: HttpRequest, job_id: PathId) -> StreamingHttpResponse:
    actor = actor_of(request)
    job = import_job_get(actor, job_id)
    response = StreamingHttpResponse(
        report_csv(import_report_rows(actor, job.pk), report_header(job)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response


class ExportIn(InputSchema):
    format: Literal["csv", "xlsx"] = "csv"
    fields: list[str] = Field(default_factory=lambda: list(DEFAULT_FIELDS), max_length=200)
    ids: list[Id] | None = Field(None, max_length=100_000)
    list_id: Id | None = None
    q: str = Field("", max_length=200)
    tag: str = Field("", max_length=80)
    stage: str = Field("", max_length=40)
    owner: str = Field("", max_length=20)
    country: str = Field("", max_length=2)


@exports.post("/contacts", response={200: None, **ERRORS}, summary="Export contacts")
def export_contacts(request: HttpRequest, payload: ExportIn) -> StreamingHttpResponse:
    result = contacts_export(
        actor=actor_of(request),
        spec=ExportSpec(
            fmt=payload.format,
            fields=tuple(payload.fields),
            filters=ContactFilters(
                q=payload.q,
                tag=payload.tag,
                stage=payload.stage,
                owner=payload.owner,
                country=payload.country,
            ),
            ids=tuple(payload.ids) if payload.ids is not None else None,
            list_id=payload.list_id,
        ),
    )
    response = StreamingHttpResponse(result.body, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["X-Export-Rows"] = str(result.rows)
    return response


class SegmentExportIn(InputSchema):
    format: Literal["csv", "xlsx"] = "csv"
    fields: list[str] = Field(default_factory=lambda: list(DEFAULT_FIELDS), max_length=200)


@exports.post("/segments/{segment_id}", response={200: None, **ERRORS}, summary="Export a segment")
def export_segment(
    request: HttpRequest, segment_id: PathId, payload: SegmentExportIn
) -> StreamingHttpResponse:
    """The segment's current members that the caller may see, with the chosen fields."""
    result = contacts_export(
        actor=actor_of(request),
        spec=ExportSpec(fmt=payload.format, fields=tuple(payload.fields), segment_id=segment_id),
    )
    response = StreamingHttpResponse(result.body, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["X-Export-Rows"] = str(result.rows)
    return response


ROUTERS = [("", router), ("/exports", exports)]
