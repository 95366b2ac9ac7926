"""Import job services: upload, configure, dry run, start, run (the task's body), resume.

The long passes over a file (dry run, run) are not one transaction: the engine commits
chunk by chunk (see patron.imports.engine). The state changes around them are atomic
and recorded in the activity log.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from patron.accounts.models import User
from patron.contacts.models import CustomField
from patron.contacts.selectors import require
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.imports import engine
from patron.imports.engine import ImportStopped, custom_fields_map, file_sha256
from patron.imports.mapping import auto_map, mapping_clean
from patron.imports.models import ImportJob, ImportMapping
from patron.imports.options import options_clean, options_of
from patron.imports.readers import ImportFileError, inspect_file
from patron.imports.targets import TARGETS, target_for

MAX_UPLOAD_BYTES = 1024 * 1024 * 1024
STALE_AFTER = dt.timedelta(minutes=5)
Status = ImportJob.Status


def imports_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def require_import(actor: User, options: Any = None, target: str = "contacts") -> None:
    require(actor, P.IMPORT)
    if target != "contacts":
        from patron.imports.options import ImportOptions

        for code in target_for(target).permissions(options or ImportOptions()):
            require(actor, code)
        return
    if options is None or options.on_new == "create":
        require(actor, P.CONTACT_CREATE)
    if options is None or options.on_existing != "skip":
        require(actor, P.CONTACT_EDIT)


def _lock(actor: User, job: ImportJob | int) -> ImportJob:
    from patron.imports.selectors import import_jobs_visible_to

    pk = job.pk if isinstance(job, ImportJob) else int(job)
    locked = import_jobs_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise PermissionDenied("No such import.")
    return locked


def _store_upload(source: IO[bytes], suffix: str) -> Path:
    target = imports_dir() / f"{uuid.uuid4().hex}{suffix}"
    size = 0
    with open(target, "wb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                out.close()
                target.unlink(missing_ok=True)
                raise ValidationError(
                    {"file": [f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB."]}
                )
            out.write(chunk)
    return target


def _estimate_rows(path: str, file_format: str) -> int | None:
    if file_format != "csv":
        return None
    lines = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return max(lines - (0 if last != b"\n" else 1), 0)


@transaction.atomic
def import_job_create(
    *,
    actor: User,
    file: IO[bytes] | None = None,
    path: str | None = None,
    file_name: str,
    encoding: str | None = None,
    mapping_name: str | None = None,
    target: str = "contacts",
) -> ImportJob:
    """Store an upload (or take a server-side path, for the CLI), read its headers and
    match them to fields. Unreadable files raise ValidationError({"file": [why]})."""
    require(actor, P.IMPORT)
    if target not in TARGETS:
        raise ValidationError({"target": [f"Choose one of: {', '.join(TARGETS)}."]})
    if encoding:
        encoding = encoding_clean(encoding)
    name = os.path.basename(file_name or "upload")[:255]
    if file is not None:
        stored = _store_upload(file, Path(name).suffix.lower()[:8])
        owned = True
    elif path is not None:
        stored = Path(path).resolve()
        owned = False
    else:
        raise ValidationError({"file": ["Choose a file to import."]})
    try:
        info = inspect_file(str(stored), encoding=encoding)
    except ImportFileError as exc:
        if owned:
            stored.unlink(missing_ok=True)
        raise ValidationError({"file": [str(exc)]}) from exc
    custom = custom_fields_for(target)
    saved = None
    if mapping_name:
        saved_obj = ImportMapping.objects.filter(name=mapping_name, target=target).first()
        if saved_obj is None:
            raise ValidationError({"mapping": [f"No saved mapping called {mapping_name!r}."]})
        saved = saved_obj.columns
    mapping = auto_map(
        info.headers,
        custom_fields={k: f.label for k, f in custom.items()},
        saved=saved,
        target=target,
    )
    job = ImportJob.objects.create(
        target=target,
        created_by=actor if getattr(actor, "pk", None) else None,
        file_name=name,
        file_path=str(stored),
        file_size=stored.stat().st_size,
        file_sha256=file_sha256(str(stored)),
        file_format=info.file_format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        mapping=mapping,
        options={**options_clean(None, unique_custom_keys=set(), target=target).as_json()},
        total_rows=_estimate_rows(str(stored), info.file_format),
    )
    activity_record(
        actor=actor,
        verb="import.uploaded",
        subject=job,
        changes={"after": {"file": name, "format": info.file_format, "columns": len(info.headers)}},
    )
    if owned:  # a stored upload is deleted after the retention period (ADR 0088)
        from patron.privacy.tasks import uploads_purge_schedule

        uploads_purge_schedule()
    return job


def custom_fields_for(target: str) -> dict[str, CustomField]:
    """Custom fields a column of this target may be mapped to."""
    if target == "contacts":
        return custom_fields_map()
    entity = target_for(target).custom_entity
    if entity is None:
        return {}
    return {f.key: f for f in CustomField.objects.filter(entity=entity)}


ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "iso-8859-15", "mac-roman")


def encoding_clean(raw: str) -> str:
    """A text encoding a person may force for a CSV file (an allowlist)."""
    import codecs

    try:
        name = codecs.lookup(str(raw).strip()).name
    except LookupError as exc:
        raise ValidationError({"encoding": [f"Unknown encoding {str(raw)[:40]!r}."]}) from exc
    allowed = {codecs.lookup(e).name for e in ENCODINGS}
    if name not in allowed:
        raise ValidationError({"encoding": [f"Choose one of: {', '.join(ENCODINGS)}."]})
    return name


def check_key_mapped(job: ImportJob) -> None:
    """The import key (and a target's required fields) must come from some column."""
    key = options_of(job).key
    mapped = set((job.mapping or {}).values())
    if job.target == "contacts":
        if key not in mapped:
            raise ValidationError({"key": [f"No column is mapped to the import key {key!r}."]})
        return
    target = target_for(job.target)
    missing = [f for f in target.required if f not in mapped]
    if missing:
        raise ValidationError({"mapping": [f"Map a column to {', '.join(missing)}."]})
    derived = job.target == "events" or (key == "domain" and "website" in mapped)
    if key not in mapped and not derived:
        raise ValidationError({"key": [f"No column is mapped to the import key {key!r}."]})


def _executor(job: ImportJob) -> Any:
    if job.target == "contacts":
        return engine.execute
    from patron.imports.targets import runner

    return runner.execute


def unique_custom_keys() -> set[str]:
    return {
        f.key
        for f in CustomField.objects.filter(
            entity=CustomField.Entity.CONTACT, type=CustomField.Type.TEXT
        )
    }


@transaction.atomic
def import_job_configure(
    *,
    actor: User,
    job: ImportJob | int,
    mapping: Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> ImportJob:
    """Set the mapping and/or options; a configured job must be checked (dry run) again."""
    require(actor, P.IMPORT)
    job = _lock(actor, job)
    if job.status not in (Status.UPLOADED, Status.PREVIEWED):
        raise ValidationError({"status": ["This import has started; it cannot be changed."]})
    before = {"mapping": job.mapping, "options": job.options}
    if mapping is not None:
        job.mapping = mapping_clean(mapping, job.headers, custom_fields_for(job.target), job.target)
    if options is not None:
        job.options = options_clean(
            options, unique_custom_keys=unique_custom_keys(), target=job.target
        ).as_json()
    check_key_mapped(job)
    job.status = Status.UPLOADED
    job.preview = {}
    job.save(update_fields=["mapping", "options", "status", "preview", "updated_at"])
    activity_record(
        actor=actor,
        verb="import.configured",
        subject=job,
        changes={"before": before, "after": {"mapping": job.mapping, "options": job.options}},
    )
    return job


@transaction.atomic
def import_columns_to_custom_fields(
    *, actor: User, job: ImportJob | int, headers: list[str]
) -> ImportJob:
    """Turn unmapped columns into new text custom fields, and map them, in one step."""
    require(actor, P.IMPORT)
    require(actor, P.CUSTOM_FIELD_MANAGE)
    job = _lock(actor, job)
    if job.status not in (Status.UPLOADED, Status.PREVIEWED):
        raise ValidationError({"status": ["This import has started; it cannot be changed."]})
    entity = "contact" if job.target == "contacts" else target_for(job.target).custom_entity
    if entity is None:
        raise ValidationError({"headers": [f"{job.target.capitalize()} have no custom fields."]})
    existing = custom_fields_for(job.target)
    mapping = dict(job.mapping)
    created: list[str] = []
    for header in headers:
        if header not in mapping:
            raise ValidationError({"headers": [f"No column {header[:60]!r} in the file."]})
        if mapping[header]:
            continue
        base = (slugify(header).replace("-", "_") or "field")[:50]
        key, n = base, 2
        while key in existing:
            key, n = f"{base}_{n}", n + 1
        field = CustomField.objects.create(entity=entity, key=key, label=header[:120], type="text")
        existing[key] = field
        mapping[header] = f"custom:{key}"
        created.append(key)
        activity_record(
            actor=actor,
            verb="customfield.created",
            subject=field,
            changes={"after": {"key": key, "label": field.label, "type": "text"}},
        )
    job.mapping = mapping
    job.status = Status.UPLOADED
    job.preview = {}
    job.save(update_fields=["mapping", "status", "preview", "updated_at"])
    return job


@transaction.atomic
def _set_status(job_id: int, status: str, **fields: Any) -> None:
    ImportJob.objects.filter(pk=job_id).update(status=status, updated_at=timezone.now(), **fields)


@transaction.atomic
def import_job_start(*, actor: User, job: ImportJob | int, enqueue: bool = True) -> ImportJob:
    """Queue the run. Under "stop" the dry run must have found no errors."""
    job = _lock(actor, job)
    opts = options_of(job)
    require_import(actor, opts, job.target)
    if job.status not in (Status.UPLOADED, Status.PREVIEWED):
        raise ValidationError({"status": ["This import has started already."]})
    check_key_mapped(job)
    if opts.on_error == "stop":
        if job.status != Status.PREVIEWED:
            raise ValidationError({"status": ["Check the file (dry run) first."]})
        errors = (job.preview.get("counts") or {}).get("error", 0)
        if errors:
            raise ValidationError(
                {"file": [f"The check found {errors} bad rows and bad rows stop the import."]}
            )
    job.status = Status.QUEUED
    job.save(update_fields=["status", "updated_at"])
    activity_record(actor=actor, verb="import.started", subject=job, changes={"after": job.options})
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def _enqueue(job_id: int) -> None:
    from patron.imports.tasks import import_job_run_task

    import_job_run_task.enqueue(job_id)


def import_job_run(
    *, job_id: int, workers: int | None = None, progress: Any = None
) -> ImportJob | None:
    """Run (or continue) a queued or interrupted import; idempotent: a finished job, or
    one another runner is running, is left alone. The actor is the job's creator."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (Status.QUEUED, Status.RUNNING, Status.FAILED):
            return job
        if job.status == Status.RUNNING and not _stale(job):
            return job
        actor = job.created_by
        if actor is None or not actor.is_active:
            job.status, job.error = Status.FAILED, "The user who started this import is gone."
            job.save(update_fields=["status", "error", "updated_at"])
            return job
        try:
            require_import(actor, options_of(job), job.target)
        except PermissionDenied:
            job.status, job.error = Status.FAILED, "The user who started it may no longer import."
            job.save(update_fields=["status", "error", "updated_at"])
            return job
        job.status = Status.RUNNING
        job.error = ""
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["status", "error", "started_at", "heartbeat_at", "updated_at"])
    try:
        return _executor(job)(  # type: ignore[no-any-return]
            job, actor=actor, dry_run=False, workers=workers, progress=progress
        )
    except ImportStopped as exc:
        _set_status(job.pk, Status.FAILED, error=str(exc))
    except Exception as exc:
        _set_status(job.pk, Status.FAILED, error=f"The import stopped: {exc}"[:2000])
        raise
    return ImportJob.objects.get(pk=job.pk)


def _stale(job: ImportJob) -> bool:
    beat = job.heartbeat_at or job.started_at
    return beat is None or timezone.now() - beat > STALE_AFTER


@transaction.atomic
def import_job_resume(*, actor: User, job: ImportJob | int, enqueue: bool = True) -> ImportJob:
    """Continue an import that failed or whose runner died, after its last committed chunk."""
    job = _lock(actor, job)
    require_import(actor, options_of(job), job.target)
    if job.status == Status.RUNNING and not _stale(job):
        raise ValidationError({"status": ["This import is running."]})
    if job.status not in (Status.RUNNING, Status.FAILED, Status.QUEUED):
        raise ValidationError({"status": ["Only an interrupted import can be resumed."]})
    job.status = Status.QUEUED
    job.save(update_fields=["status", "updated_at"])
    activity_record(
        actor=actor,
        verb="import.resumed",
        subject=job,
        changes={"after": {"from_row": job.last_row + 1, "rows_done": job.rows_done}},
    )
    if enqueue:
        job_id = job.pk
        transaction.on_commit(lambda: _enqueue(job_id))
    return job


def import_file_delete(job: ImportJob) -> None:
    """Remove a stored upload (only files Patron stored, never a CLI user's own file)."""
    path = Path(job.file_path)
    if path.parent == imports_dir():
        path.unlink(missing_ok=True)


def copy_for_test(src: str) -> str:  # pragma: no cover - helper for manual runs
    dst = imports_dir() / Path(src).name
    shutil.copyfile(src, dst)
    return str(dst)
