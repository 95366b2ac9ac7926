"""Retention of stored import uploads (docs/adr/0088).

An upload Patron stored (under ``VAR_DIR/imports/``) is kept while its job may still need
it (the mapping page's samples, the dry run, a run, a resume) and deleted
``PATRON_IMPORT_UPLOAD_RETENTION_DAYS`` days (default 30) after its job last changed. The
job itself stays: its counts, report rows, chunk journal and activity entries, which is
all a rollback reads (``patron.imports.services.rollback`` never opens the file). A job
that had not finished gets an ``error`` saying its file expired.

``import_uploads_purge`` does it; ``patron privacy purge-uploads`` runs it from the
command line (cron), and on the database task backend ``import_uploads_purge_task`` runs
it when the next upload is due, scheduled at each upload and after each purge.
Erasure deletes expired uploads without reading them (``uploads.import_uploads_scan``).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from patron.core.services import activity_record

SETTING = "PATRON_IMPORT_UPLOAD_RETENTION_DAYS"
DEFAULT_DAYS = 30
OFF = ("off", "never", "forever")
UPLOAD_EXPIRED = (
    "The stored file was deleted: uploads are kept {days} days after their import last "
    "changed (PATRON_IMPORT_UPLOAD_RETENTION_DAYS). Upload the file again to import it."
)


def upload_retention_days() -> int | None:
    """Days a stored upload is kept after its job last changed; None keeps them forever.

    From the setting of that name if set, else the environment variable; ``off`` keeps
    uploads forever. Anything else that is not a whole number of days is an error (a
    typo must not silently keep personal data forever, nor delete it at once)."""
    raw: Any = getattr(settings, SETTING, None)
    if raw is None:
        raw = os.environ.get(SETTING, "")
    text = str(raw).strip().lower()
    if not text:
        return DEFAULT_DAYS
    if text in OFF:
        return None
    if not text.isdigit():
        raise ImproperlyConfigured(
            f"{SETTING} must be a whole number of days or 'off', not {str(raw)[:40]!r}."
        )
    return int(text)


def expired_jobs(now: dt.datetime | None = None, days: int | None = None) -> QuerySet[Any]:
    """Jobs whose stored upload is past retention: not queued, running or being checked,
    and unchanged for ``days``. Empty when retention is off."""
    from patron.imports.models import ImportJob

    days = upload_retention_days() if days is None else days
    if days is None:
        return ImportJob.objects.none()
    busy = (ImportJob.Status.QUEUED, ImportJob.Status.RUNNING, ImportJob.Status.PREVIEWING)
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    return ImportJob.objects.exclude(status__in=busy).filter(updated_at__lt=cutoff)


def stored_upload(job: Any) -> Path | None:
    """The job's upload if Patron stored it (never a CLI user's own file) and it is there."""
    from patron.imports.services.jobs import imports_dir

    if not job.file_path:
        return None
    path = Path(job.file_path)
    if path.resolve().parent != imports_dir().resolve() or not path.exists():
        return None
    return path


IDLE = ("uploaded", "previewed", "failed")


def expire_uploads(jobs: list[Any], days: int, *, actor: Any = None) -> list[Any]:
    """Record the expiry of these jobs' uploads (an ``error`` on unfinished jobs, one
    ``import.upload_expired`` entry each) and delete the files after commit. Returns the
    jobs whose file goes."""
    from patron.imports.models import ImportJob

    gone: list[Any] = []
    paths: list[Path] = []
    for job in jobs:
        path = stored_upload(job)
        if path is None:
            continue
        if job.status in IDLE:
            ImportJob.objects.filter(pk=job.pk, status=job.status).update(
                error=UPLOAD_EXPIRED.format(days=days)
            )
        activity_record(
            actor=actor,
            verb="import.upload_expired",
            subject=job,
            changes={"retention_days": days, "bytes": job.file_size},
        )
        gone.append(job)
        paths.append(path)

    def unlink() -> None:
        for p in paths:
            p.unlink(missing_ok=True)

    if paths:
        transaction.on_commit(unlink)
    return gone


@dataclass
class PurgeResult:
    days: int | None
    files: int = 0
    bytes: int = 0
    kept: int = 0  # stored uploads still within retention (or busy)
    next_due: dt.datetime | None = None  # when to look again (None: nothing stored)
    jobs: list[int] = field(default_factory=list)


BATCH = 200
#: A purge looks again at the earliest expiry, but not sooner than this.
MIN_INTERVAL = dt.timedelta(hours=1)


def import_uploads_purge(*, now: dt.datetime | None = None, days: int | None = None) -> PurgeResult:
    """Delete stored uploads past retention (in batches of ``BATCH`` jobs, each its own
    transaction; files go after their batch commits). Safe to run at any time, twice, and
    next to running imports (busy jobs are skipped; a job is re-checked under its row
    lock, so one that started meanwhile keeps its file)."""
    days = upload_retention_days() if days is None else days
    result = PurgeResult(days=days)
    if days is None:
        return result
    now = now or timezone.now()
    ids = list(expired_jobs(now, days).order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH):
        with transaction.atomic():
            batch = list(
                expired_jobs(now, days)
                .filter(id__in=ids[start : start + BATCH])
                .select_for_update()
                .order_by("id")
            )
            for job in expire_uploads(batch, days):
                result.files += 1
                result.bytes += job.file_size
                result.jobs.append(job.pk)
    result.kept, result.next_due = _kept(now, days, set(result.jobs))
    return result


def _kept(now: dt.datetime, days: int, gone: set[int]) -> tuple[int, dt.datetime | None]:
    """Stored uploads still there, and when the first of them may expire (at least
    ``MIN_INTERVAL`` away: a busy job's upload is past due but must wait)."""
    from patron.imports.models import ImportJob

    kept, first = 0, None
    rows = (
        ImportJob.objects.exclude(file_path="")
        .exclude(id__in=sorted(gone))
        .values_list("file_path", "updated_at")
    )
    for file_path, updated_at in rows.iterator(chunk_size=1000):
        if stored_upload(_PathOnly(file_path)) is None:
            continue
        kept += 1
        due = max(updated_at + dt.timedelta(days=days), now + MIN_INTERVAL)
        first = due if first is None or due < first else first
    return kept, first


@dataclass
class _PathOnly:
    file_path: str
