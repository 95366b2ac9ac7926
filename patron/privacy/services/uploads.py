"""Erasure in stored import uploads and dry-run reports (docs/adr/0080).

An upload is kept on disk after its import (for the configure page's samples, resumes
and re-runs), and a job's ``preview`` (the dry run's report) keeps up to 20 updated rows
with before/after values and the first issues with their reasons. Both can hold an erased
person's data, so ``contact_erase`` calls ``import_uploads_scan`` (reads only, before its
first write) and then ``import_uploads_erase``:

- a job "mentions" the person when its report rows or chunk journal name one of the
  erased contact ids, or a cell of its stored file equals one of the person's
  identifiers (an email, also by its hygiene match key; a phone by its digits; a user
  id, anonymous id or external id), read with the imports' own file reader (CSV in any
  encoding, XLSX);
- the stored file of every such job is deleted (after commit: a rolled-back erasure
  deletes nothing). A file is one immutable, hashed unit (its SHA-256 is checked before
  each pass; resume points are row numbers), so rows are not cut out of it. A job that
  has not finished keeps its state with an ``error`` saying why; running it again stops
  with "The uploaded file is no longer available", as for any missing upload;
- report entries about the person are removed from every job's ``preview``: updated
  rows by contact id, issues whose reason holds one of the identifiers;
- an upload past retention (ADR 0088) that is not already known to mention the person is
  not read: it is deleted as the retention purge would delete it, so an erasure reads
  at most the uploads of the retention period.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from patron.hygiene.normalize import email_match_key

#: Identifiers shorter than this are not searched for in free text (too many false hits).
MIN_TEXT_MATCH = 6
#: Phones: the fewest digits a cell needs to be compared with the person's phones.
MIN_PHONE_DIGITS = 7
UPLOAD_ERASED = (
    "The stored file was deleted: it held data of a person who has since been erased. "
    "Upload the file again to import it (erased people are not imported again)."
)


class Identifiers:
    """The person's identifiers in the forms file cells are compared in."""

    def __init__(self, found: dict[str, set[str]]) -> None:
        self.texts = {
            v.strip().lower()
            for kind, values in found.items()
            if kind != "phone"
            for v in values
            if v and v.strip()
        }
        emails = found.get("email", set())
        self.email_keys = {k for k in (email_match_key(e) for e in emails) if k}
        self.domains = {e.rsplit("@", 1)[-1].strip().lower() for e in emails if "@" in e}
        self.domains |= {k.rsplit("@", 1)[-1] for k in self.email_keys}
        self.phones = {re.sub(r"\D", "", p) for p in found.get("phone", set())}
        self.phones.discard("")
        self.long_texts = {t for t in self.texts if len(t) >= MIN_TEXT_MATCH}

    def cell(self, value: Any) -> bool:
        text = str(value).strip().lower()
        if not text:
            return False
        if text in self.texts:
            return True
        if "@" in text and text.rsplit("@", 1)[-1] in self.domains:
            return email_match_key(text) in self.email_keys
        if self.phones and any(ch.isdigit() for ch in text[:3]):
            digits = re.sub(r"\D", "", text).lstrip("0")
            if len(digits) >= MIN_PHONE_DIGITS:
                return any(p == digits or p.endswith(digits) for p in self.phones)
        return False

    def in_text(self, text: str) -> bool:
        low = text.lower()
        return any(t in low for t in self.long_texts)


def _file_mentions(job: Any, who: Identifiers) -> bool:
    from patron.imports.readers import ImportFileError, info_from_job, iter_rows

    with contextlib.suppress(ImportFileError, OSError, ValueError):
        for _, cells, _problem in iter_rows(job.file_path, info_from_job(job)):
            if any(who.cell(c) for c in cells):
                return True
    return False


def _journal_mentions(job_id: int, ids: set[int]) -> bool:
    from patron.imports.models import ImportChunk

    for created in ImportChunk.objects.filter(job_id=job_id).values_list("created", flat=True):
        if any(len(pair) == 2 and pair[1] in ids for pair in created or ()):
            return True
    return False


def _scrub_preview(preview: Any, ids: set[int], who: Identifiers) -> tuple[Any, int]:
    if not isinstance(preview, dict):
        return preview, 0
    out = dict(preview)
    removed = 0
    changes = preview.get("changes")
    if isinstance(changes, list):
        kept = [c for c in changes if not (isinstance(c, dict) and c.get("contact_id") in ids)]
        removed += len(changes) - len(kept)
        out["changes"] = kept
    issues = preview.get("issues")
    if isinstance(issues, list) and who.long_texts:
        kept = [i for i in issues if not (isinstance(i, dict) and who.in_text(str(i)))]
        removed += len(issues) - len(kept)
        out["issues"] = kept
    return out, removed


@dataclass
class UploadsPlan:
    """What erasure will change in imports: found by ``import_uploads_scan`` (reads only),
    done by ``import_uploads_erase``."""

    previews: dict[int, Any] = field(default_factory=dict)  # job id -> scrubbed preview
    entries: int = 0
    files: list[Path] = field(default_factory=list)
    idle_jobs: dict[int, str] = field(default_factory=dict)  # job id -> its status
    # Uploads past retention (ADR 0088): deleted as the purge would, without being read.
    expired: list[Any] = field(default_factory=list)
    retention_days: int | None = None


def import_uploads_scan(*, contact_ids: Iterable[int], found: dict[str, set[str]]) -> UploadsPlan:
    """Which previews hold entries about the person and which stored uploads mention them.

    Only reads, so ``contact_erase`` runs it before its first write: reading large files
    then holds no write lock (SQLite takes the database's write lock at the first write).
    Call it while the person's import report rows still exist (they name the jobs).
    """
    from patron.imports.models import ImportJob, ImportRow
    from patron.imports.services.jobs import imports_dir
    from patron.privacy.services.retention import expired_jobs, upload_retention_days

    ids = {int(i) for i in contact_ids}
    who = Identifiers(found)
    plan = UploadsPlan(retention_days=upload_retention_days())
    expired = set(expired_jobs(days=plan.retention_days).values_list("id", flat=True))
    linked = set(ImportRow.objects.filter(contact_id__in=ids).values_list("job_id", flat=True))
    stored = imports_dir().resolve()
    idle = (ImportJob.Status.UPLOADED, ImportJob.Status.PREVIEWED, ImportJob.Status.FAILED)
    job_ids = list(ImportJob.objects.order_by("id").values_list("id", flat=True))
    for start in range(0, len(job_ids), 200):
        for job in ImportJob.objects.filter(id__in=job_ids[start : start + 200]).order_by("id"):
            preview, n = _scrub_preview(job.preview, ids, who)
            if n:
                plan.previews[job.pk] = preview
                plan.entries += n
            path = Path(job.file_path) if job.file_path else None
            if path is None or path.resolve().parent != stored or not path.exists():
                continue
            known = n > 0 or job.pk in linked or _journal_mentions(job.pk, ids)
            if not known and job.pk in expired:
                plan.expired.append(job)  # past retention: goes unread
                continue
            if known or _file_mentions(job, who):
                plan.files.append(path)
                if job.status in idle:
                    plan.idle_jobs[job.pk] = job.status
    return plan


def import_uploads_erase(plan: UploadsPlan) -> dict[str, int]:
    """Write the scrubbed previews and the idle jobs' error now; delete the files on commit.

    Returns ``{"import_files": n, "import_report_entries": n}``, plus
    ``"import_files_expired": n`` when uploads past retention went unread.
    """
    from patron.imports.models import ImportJob

    for job_id, preview in plan.previews.items():
        ImportJob.objects.filter(pk=job_id).update(preview=preview)
    for job_id, status in plan.idle_jobs.items():
        ImportJob.objects.filter(pk=job_id, status=status).update(error=UPLOAD_ERASED)
    expired: list[Any] = []
    if plan.expired and plan.retention_days is not None:
        from patron.privacy.services.retention import expire_uploads

        expired = expire_uploads(plan.expired, plan.retention_days)
    doomed = list(plan.files)

    def unlink() -> None:
        for p in doomed:
            p.unlink(missing_ok=True)

    if doomed:
        transaction.on_commit(unlink)
    out = {"import_files": len(doomed), "import_report_entries": plan.entries}
    if expired:
        out["import_files_expired"] = len(expired)
    return out
