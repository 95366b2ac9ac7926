"""The dry run: here and now (small files, the CLI, the API) or as a background task
with rows-checked progress (large files from the pages, ``?background=true``)."""

from __future__ import annotations

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.core.permissions import PermissionDenied
from patron.core.services import activity_record
from patron.imports.engine import ImportStopped
from patron.imports.models import ImportJob
from patron.imports.options import options_of
from patron.imports.services.jobs import (
    _executor,
    _lock,
    _set_status,
    _stale,
    require_import,
)

Status = ImportJob.Status


def import_job_preview(
    *, actor: User, job: ImportJob | int, workers: int | None = None, progress: Any = None
) -> ImportJob:
    """The dry run, here and now: classify every row of the file and store the summary;
    writes nothing but the job's own state."""
    with transaction.atomic():
        job = _lock(actor, job)
        require_import(actor, options_of(job), job.target)
        _check_can_preview(job)
        job.status = Status.PREVIEWING
        job.save(update_fields=["status", "updated_at"])
    return _preview(job, actor, workers, progress)


@transaction.atomic
def import_job_preview_queue(
    *, actor: User, job: ImportJob | int, enqueue: bool = True
) -> ImportJob:
    """The dry run as a background task (large files): the page shows rows checked."""
    job = _lock(actor, job)
    require_import(actor, options_of(job), job.target)
    _check_can_preview(job)
    job.status = Status.PREVIEWING
    job.preview = {"rows_checked": 0}
    job.error = ""
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["status", "preview", "error", "heartbeat_at", "updated_at"])
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue_preview(job_id))
    return job


def _check_can_preview(job: ImportJob) -> None:
    """A job is checked before it runs; a check whose worker died may be started again."""
    if job.status == Status.PREVIEWING and _stale(job):
        return
    if job.status == Status.PREVIEWING:
        raise ValidationError({"status": ["This file is being checked."]})
    if job.status not in (Status.UPLOADED, Status.PREVIEWED):
        raise ValidationError({"status": ["This import has started already."]})


def _enqueue_preview(job_id: int) -> None:
    from patron.imports.tasks import import_job_preview_task

    import_job_preview_task.enqueue(job_id)


def import_job_preview_run(*, job_id: int, workers: int | None = None) -> ImportJob | None:
    """The task's body: run a queued dry run as the job's creator (idempotent: a job that
    is not waiting for its check is left alone)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.PREVIEWING:
            return job
        actor = job.created_by
        try:
            if actor is None or not actor.is_active:
                raise PermissionDenied("The user who uploaded this file is gone.")
            require_import(actor, options_of(job), job.target)
        except PermissionDenied as exc:
            job.status, job.error = Status.UPLOADED, str(exc)
            job.save(update_fields=["status", "error", "updated_at"])
            return job
    last = [0.0]

    def progress(current: ImportJob) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5:  # at most two small writes a second
            last[0] = now
            ImportJob.objects.filter(pk=job_id, status=Status.PREVIEWING).update(
                preview=dict(current.preview or {}), heartbeat_at=timezone.now()
            )

    try:
        return _preview(job, actor, workers, progress)
    except ValidationError:
        return ImportJob.objects.get(pk=job_id)


def _preview(job: ImportJob, actor: User, workers: int | None, progress: Any) -> ImportJob:
    try:
        summary = _executor(job)(job, actor=actor, dry_run=True, workers=workers, progress=progress)
    except ImportStopped as exc:
        _set_status(job.pk, Status.UPLOADED, error=str(exc), preview={"error": str(exc)})
        raise ValidationError({"file": [str(exc)]}) from exc
    except BaseException:
        _set_status(job.pk, Status.UPLOADED)
        raise
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        job.preview = summary
        job.total_rows = summary["rows"]
        job.status = Status.PREVIEWED
        job.error = ""
        job.save(update_fields=["preview", "total_rows", "status", "error", "updated_at"])
        activity_record(
            actor=actor,
            verb="import.previewed",
            subject=job,
            changes={"after": {"counts": summary["counts"], "rows": summary["rows"]}},
        )
    return job
