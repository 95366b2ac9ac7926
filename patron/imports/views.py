"""Import and export pages: upload -> mapping -> check (dry run) -> run with live progress
-> report / rollback; and contact exports. Every page needs P.IMPORT (exports P.EXPORT)
and reaches jobs only through ``import_jobs_visible_to``."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.contacts.selectors import ContactFilters, custom_fields_for, require
from patron.core.permissions import P
from patron.imports.mapping import CONTACT_TARGETS, EXTRA_TARGETS, TARGET_LABELS, target_fields
from patron.imports.models import ImportJob
from patron.imports.options import ON_DUPLICATE, ON_ERROR, ON_EXISTING, ON_NEW
from patron.imports.readers import ImportFileError, info_from_job, iter_rows
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
    import_columns_to_custom_fields,
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_preview_queue,
    import_job_resume,
    import_job_rollback,
    import_job_start,
    import_mapping_save,
)
from patron.imports.services.exports import DEFAULT_FIELDS, EXPORT_FIELDS, report_csv
from patron.imports.services.jobs import ENCODINGS
from patron.imports.targets import LABELS, TARGETS, target_for
from patron.web.views._common import web_view

SECTION = "imports"
# A dry run of a file up to this many rows runs in the request; larger ones in a task.
INLINE_PREVIEW_ROWS = 2000


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for field, msgs in getattr(exc, "message_dict", {"": exc.messages}).items():
        for msg in msgs:
            messages.error(request, f"{field}: {msg}" if field and field != "__all__" else msg)


def _targets(target: str = "contacts") -> list[tuple[str, str]]:
    """(field, label) a column of this import target may be mapped to."""
    if target == "contacts":
        out = [(t, TARGET_LABELS[t]) for t in (*CONTACT_TARGETS, *EXTRA_TARGETS)]
        entity: str | None = "contact"
    else:
        out = list(target_fields(target)[0].items())
        entity = target_for(target).custom_entity
    if entity:
        out += [(f"custom:{f.key}", f"{f.label} (custom)") for f in custom_fields_for(entity)]
    return out


def _keys(target: str) -> list[tuple[str, str]]:
    if target == "contacts":
        return [("email", "Email"), ("external_id", "External id"), ("phone", "Phone")] + [
            (f"custom:{f.key}", f.label) for f in custom_fields_for("contact") if f.type == "text"
        ]
    labels = target_fields(target)[0]
    return [(k, labels.get(k, k)) for k in target_for(target).keys]


def _upload_context(request: HttpRequest) -> dict[str, object]:
    return {
        "mappings": import_mappings(request.user),  # type: ignore[arg-type]
        "targets": [(t, LABELS[t]) for t in TARGETS],
        "encodings": ENCODINGS,
        "chosen": request.POST.get("target") or request.GET.get("target") or "contacts",
    }


@web_view(SECTION)
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    require(request.user, P.IMPORT)  # type: ignore[arg-type]
    jobs = import_jobs_visible_to(request.user)[:50]  # type: ignore[arg-type]
    return render(request, "imports/list.html", {"jobs": jobs})


@web_view(SECTION)
@require_http_methods(["GET", "POST"])
def job_upload(request: HttpRequest) -> HttpResponse:
    require(request.user, P.IMPORT)  # type: ignore[arg-type]
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": ["Choose a CSV or XLSX file."]})
            job = import_job_create(
                actor=request.user,  # type: ignore[arg-type]
                file=upload,
                file_name=upload.name or "upload",
                mapping_name=request.POST.get("mapping") or None,
                target=request.POST.get("target") or "contacts",
                encoding=request.POST.get("encoding") or None,
            )
        except ValidationError as exc:
            _errors(request, exc)
            return render(request, "imports/upload.html", _upload_context(request), status=422)
        return redirect("imports:mapping", pk=job.pk)
    return render(request, "imports/upload.html", _upload_context(request))


def _samples(job: ImportJob, n: int = 3) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {h: [] for h in job.headers}
    # A sample is a nicety; the dry run reports real problems.
    with contextlib.suppress(ImportFileError, OSError, ValueError):
        rows = itertools.islice(iter_rows(job.file_path, info_from_job(job)), n)
        for _, cells, problem in rows:
            if problem:
                continue
            for h, v in zip(job.headers, cells, strict=False):
                out[h].append(str(v)[:80])
    return out


@web_view(SECTION)
@require_http_methods(["GET", "POST"])
def job_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    if request.method == "POST":
        mapping = {h: request.POST.get(f"map-{i}", "") for i, h in enumerate(job.headers)}
        options = {
            "key": request.POST.get("key") or _keys(job.target)[0][0],
            "on_new": request.POST.get("on_new", "create"),
            "on_existing": request.POST.get("on_existing", "update"),
            "on_error": request.POST.get("on_error", "skip"),
            "on_duplicate": request.POST.get("on_duplicate", "skip"),
            "tags": request.POST.get("tags", ""),
        }
        try:
            job = import_job_configure(
                actor=request.user,  # type: ignore[arg-type]
                job=job,
                mapping=mapping,
                options=options,
            )
            name = request.POST.get("save_as", "").strip()
            if name:
                import_mapping_save(
                    actor=request.user,  # type: ignore[arg-type]
                    name=name,
                    columns=job.mapping,
                    target=job.target,
                )
        except ValidationError as exc:
            _errors(request, exc)
        else:
            return redirect("imports:detail", pk=job.pk)
    columns = [
        {"index": i, "header": h, "target": job.mapping.get(h, ""), "samples": s}
        for i, (h, s) in enumerate(_samples(job).items())
    ]
    context = {
        "job": job,
        "columns": columns,
        "targets": _targets(job.target),
        "target_label": LABELS.get(job.target, job.target),
        "is_contacts": job.target == "contacts",
        "options": job.options,
        "choices": {
            "on_new": ON_NEW,
            "on_existing": ON_EXISTING,
            "on_error": ON_ERROR,
            "on_duplicate": ON_DUPLICATE,
        },
        "keys": _keys(job.target),
        "can_make_fields": (job.target in ("contacts", "companies"))
        and request.user.has_perm_code(P.CUSTOM_FIELD_MANAGE),  # type: ignore[union-attr]
    }
    return render(request, "imports/mapping.html", context)


@web_view(SECTION)
@require_POST
def job_custom_fields(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    try:
        import_columns_to_custom_fields(
            actor=request.user,  # type: ignore[arg-type]
            job=job,
            headers=request.POST.getlist("headers"),
        )
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("imports:mapping", pk=job.pk)


@web_view(SECTION)
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    return render(request, "imports/detail.html", {"job": job, "mapped": _mapped(job)})


def _mapped(job: ImportJob) -> list[tuple[str, str]]:
    labels = dict(_targets(job.target))
    return [(h, labels.get(t, t)) for h, t in job.mapping.items() if t]


@web_view(SECTION)
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    response = render(request, "imports/_progress.html", {"job": job})
    if request.GET.get("was") == "previewing" and job.status != ImportJob.Status.PREVIEWING:
        response["HX-Refresh"] = "true"  # the check finished: show its results
    return response


def _job_action(
    request: HttpRequest, pk: int, act: Callable[[ImportJob], str | None]
) -> HttpResponse:
    """A POST action on an import the user may see: its message on success, the
    service's refusal otherwise; back to the import's page either way."""
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    try:
        message = act(job)
        if message:
            messages.success(request, message)
    except ValidationError as exc:
        _errors(request, exc)
    return redirect("imports:detail", pk=job.pk)


@web_view(SECTION)
@require_POST
def job_preview(request: HttpRequest, pk: int) -> HttpResponse:
    def act(job: ImportJob) -> str | None:
        if job.total_rows is not None and job.total_rows <= INLINE_PREVIEW_ROWS:
            import_job_preview(actor=request.user, job=job, workers=0)  # type: ignore[arg-type]
            return None
        # large (or XLSX, of unknown size): a background task, progress on the page
        import_job_preview_queue(actor=request.user, job=job)  # type: ignore[arg-type]
        return "The file is being checked; progress shows below."

    return _job_action(request, pk, act)


@web_view(SECTION)
@require_POST
def job_run(request: HttpRequest, pk: int) -> HttpResponse:
    def act(job: ImportJob) -> str:
        import_job_start(actor=request.user, job=job)  # type: ignore[arg-type]
        return "The import is queued; progress shows below."

    return _job_action(request, pk, act)


@web_view(SECTION)
@require_POST
def job_resume(request: HttpRequest, pk: int) -> HttpResponse:
    def act(job: ImportJob) -> str:
        import_job_resume(actor=request.user, job=job)  # type: ignore[arg-type]
        return "The import continues after its last saved chunk."

    return _job_action(request, pk, act)


@web_view(SECTION)
@require_POST
def job_rollback(request: HttpRequest, pk: int) -> HttpResponse:
    def act(job: ImportJob) -> str:
        done = import_job_rollback(actor=request.user, job=job)  # type: ignore[arg-type]
        report = done.rollback_report
        what = LABELS.get(done.target, "").lower() or "records"
        return f"Rolled back: {report['removed']} {what} removed, {report['restored']} restored."

    return _job_action(request, pk, act)


@web_view(SECTION)
@require_GET
def job_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_get(request.user, pk)  # type: ignore[arg-type]
    rows = import_report_rows(request.user, job.pk)  # type: ignore[arg-type]
    response = StreamingHttpResponse(
        report_csv(rows, report_header(job)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-report.csv"'
    return response  # type: ignore[return-value]


@web_view("contacts")
@require_GET
def export_contacts(request: HttpRequest) -> HttpResponse:
    """GET with the contacts list's filters (q, tag, stage, owner, country), ``ids`` for a
    selection or ``segment`` for a segment's members, ``fields`` and ``fmt``; without
    ``fmt`` shows the form."""
    require(request.user, P.EXPORT)  # type: ignore[arg-type]
    g = request.GET
    segment = None
    if g.get("segment"):
        from patron.segments.selectors import segment_get

        segment = segment_get(request.user, g["segment"])  # type: ignore[arg-type]
    if "fmt" not in g:
        customs = [f"custom:{f.key}" for f in custom_fields_for("contact")]
        return render(
            request,
            "imports/export.html",
            {
                "fields": [*EXPORT_FIELDS, *customs],
                "default": DEFAULT_FIELDS,
                "query": g,
                "segment": segment,
            },
        )
    ids = None
    if g.get("ids"):
        try:
            ids = tuple(int(i) for i in g["ids"].split(",") if i.strip())
        except ValueError:
            messages.error(request, "ids must be a comma-separated list of contact ids.")
            return redirect("imports:export")
    filters = ContactFilters(
        q=g.get("q", "")[:200],
        tag=g.get("tag", "")[:80],
        stage=g.get("stage", "")[:40],
        owner=g.get("owner", "")[:20],
        country=g.get("country", "")[:2],
    )
    try:
        result = contacts_export(
            actor=request.user,  # type: ignore[arg-type]
            spec=ExportSpec(
                fmt=g.get("fmt", "csv"),
                fields=tuple(g.getlist("fields")) or DEFAULT_FIELDS,
                filters=filters,
                ids=ids,
                segment_id=segment.pk if segment is not None else None,
                description=f"Segment {segment.name}" if segment is not None else "",
            ),
        )
    except ValidationError as exc:
        _errors(request, exc)
        return redirect("imports:export")
    response = StreamingHttpResponse(result.body, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["X-Export-Rows"] = str(result.rows)
    return response  # type: ignore[return-value]
