"""An import job's journal and progress: each committed chunk's ``ImportChunk`` and the
job's checkpoint, the progress figures, the dry run's issues/changes report, the seen
fingerprints' snapshot around a failed chunk, and finishing the job. Used by
``patron.imports.engine``, which re-exports these names."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.db import transaction
from django.utils import timezone

from patron.core.services import activity_record
from patron.imports.chunk import REPORT_LIMIT, ChunkResult
from patron.imports.erased import is_erased_skip
from patron.imports.models import ImportChunk, ImportJob
from patron.imports.prepare import Prepared
from patron.imports.seen import Fingerprints
from patron.imports.writing import jsonable


class ImportStopped(Exception):
    """The run cannot go on (another runner took over, errors under "stop", file changed)."""


def note_progress(locked: ImportJob, session_rows: int, session_start: float, t0: float) -> None:
    """Save a committed chunk's progress: run time, rows per second and time left."""
    elapsed = time.monotonic() - session_start
    locked.run_seconds += time.monotonic() - t0
    locked.rate = session_rows / elapsed if elapsed > 0 else None
    if locked.total_rows and locked.rate:
        left = max(locked.total_rows - locked.rows_done, 0)
        locked.eta_seconds = left / locked.rate
    locked.save()


def finish_job(job: ImportJob, actor: Any) -> ImportJob:
    """Mark a running job done and record ``import.completed`` (one transaction)."""
    with transaction.atomic():
        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
        if locked.status != ImportJob.Status.RUNNING:
            raise ImportStopped("The import is no longer running.")
        locked.status = ImportJob.Status.DONE
        locked.finished_at = timezone.now()
        locked.eta_seconds = 0
        if locked.total_rows is None or locked.total_rows < locked.rows_done:
            locked.total_rows = locked.rows_done
        locked.save()
        activity_record(
            actor=actor,
            verb="import.completed",
            subject=locked,
            subject_label=f"Import of {locked.file_name}"[:300],
            changes={
                "file": locked.file_name,
                "target": locked.target,
                "counts": locked.counts,
                "rows": locked.rows_done,
                "options": locked.options,
            },
        )
    return locked


_COUNT_KEYS = ("created", "updated", "unchanged", "duplicate", "error", "skipped", "flagged")
_PROGRESS_FIELDS = (
    "rows_done",
    "last_row",
    "chunks_done",
    "counts",
    "rate",
    "eta_seconds",
    "run_seconds",
    "total_rows",
)


def _snapshot_seen(seen: Fingerprints) -> Any:
    seen.flush()
    return list(seen._runs)


def _restore_seen(seen: Fingerprints, runs: Any) -> None:
    seen._runs = list(runs)
    seen._fresh = set()


def _commit_chunk(job: ImportJob, result: ChunkResult, prepared: list[Prepared]) -> None:
    ImportChunk.objects.create(
        job=job,
        seq=job.chunks_done + 1,
        first_row=prepared[0].row,
        last_row=prepared[-1].row,
        created=result.created,
        created_stamp=result.created_stamp,
        created_other=result.created_other,
        seen_keys=Fingerprints.to_bytes(result.fingerprints),
        counts=dict(result.counts),
    )
    counts = Counter(job.counts or {})
    counts.update(result.counts)
    job.counts = {k: counts.get(k, 0) for k in _COUNT_KEYS}
    job.chunks_done += 1
    job.rows_done += len(prepared)
    job.last_row = prepared[-1].row
    job.heartbeat_at = timezone.now()


def _collect(
    result: ChunkResult, issues: list[dict[str, Any]], changes: list[dict[str, Any]]
) -> None:
    for o in result.outcomes:
        if (
            o.action in ("error", "duplicate")
            or (o.action == "created" and o.p.invalid)
            or is_erased_skip(o)
        ):
            if len(issues) < REPORT_LIMIT:
                reason = o.reason or "; ".join(
                    f"{k}: {v['reason']}" for k, v in sorted(o.p.invalid.items())
                )
                column = o.column or (", ".join(sorted(o.p.invalid)) if o.p.invalid else "")
                issues.append(
                    {"row": o.p.row, "action": o.action, "column": column, "reason": reason}
                )
        elif o.action == "updated" and len(changes) < 20:
            changes.append(
                {
                    "row": o.p.row,
                    "contact_id": o.contact_id,
                    "before": {k: jsonable(v) for k, v in o.changes.get("before", {}).items()},
                    "after": {k: jsonable(v) for k, v in o.changes.get("after", {}).items()},
                    "tags_added": o.changes.get("tags_added", []),
                }
            )
