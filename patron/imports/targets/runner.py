"""Running an import of companies, orders, tickets or events: dry run or real run.

Simpler than the contacts fast path, with the same guarantees:

- **Dry run = the real run, rolled back.** Each chunk makes exactly the service calls
  the run would make, inside a transaction that is always rolled back (after-commit
  hooks never fire), so the counts and errors it shows are those the run will give,
  including rows that depend on earlier rows of the same file.
- **Checkpointed run.** Each chunk commits its writes, its journal (``ImportChunk``:
  created ids; ``ImportRow``: updated rows with their previous values, rejected rows
  with column and reason) and the job's checkpoint in one transaction. The job row is
  locked and its checkpoint compared at each commit, so a killed run resumes after the
  last committed chunk and two runners cannot both write.
- Each row (or an order's group of rows) runs in its own savepoint: a refused row
  leaves nothing behind and is reported.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from django.db import transaction
from django.utils import timezone

from patron.imports.engine import ImportStopped, file_sha256, finish_job, note_progress
from patron.imports.erased import ErasedWatch
from patron.imports.models import ImportChunk, ImportJob, ImportRow
from patron.imports.options import options_of
from patron.imports.readers import ImportFileError, info_from_job, iter_rows
from patron.imports.targets import target_for
from patron.imports.targets.base import Context, Outcome, Row, Target, jsonable

CHUNK_ROWS = 500
REPORT_LIMIT = 1000
COUNT_KEYS = ("created", "updated", "unchanged", "error", "skipped")
Progress = Callable[[ImportJob], None]


class TargetRunner:
    def __init__(self, job: ImportJob, *, actor: Any) -> None:
        self.job = job
        self.actor = actor
        self.target: Target = target_for(job.target)
        self.options = options_of(job)
        self.info = info_from_job(job)
        headers = list(job.headers)
        self.columns = [
            (headers.index(h), field)
            for h, field in (job.mapping or {}).items()
            if field and h in headers
        ]
        self.header_of = {field: h for h, field in (job.mapping or {}).items() if field}

    # --- reading ------------------------------------------------------------------------

    def _check_file(self) -> None:
        try:
            digest = file_sha256(self.job.file_path)
        except OSError as exc:
            raise ImportStopped("The uploaded file is no longer available.") from exc
        if digest != self.job.file_sha256:
            raise ImportStopped("The uploaded file has changed since it was checked.")

    def _rows(self, start_row: int) -> Iterator[tuple[Row, str]]:
        for number, cells, problem in iter_rows(self.job.file_path, self.info, start_row=start_row):
            values = {f: (cells[i] if i < len(cells) else "") for i, f in self.columns}
            yield (number, values), problem

    def _chunks(self, start_row: int) -> Iterator[list[tuple[Row, str]]]:
        """Chunks of about CHUNK_ROWS rows; a group (an order's lines) is never split."""
        rows = self._rows(start_row)
        key = getattr(self.target, "group_key", None)
        pending: list[tuple[Row, str]] = []
        for item in rows:
            if len(pending) >= CHUNK_ROWS and (
                key is None or key(item[0][1]) != key(pending[-1][0][1])
            ):
                yield pending
                pending = []
            pending.append(item)
        if pending:
            yield pending

    def _outcomes(self, ctx: Context, chunk: list[tuple[Row, str]]) -> list[Outcome]:
        bad = [Outcome(row=r[0], action="error", reason=p) for r, p in chunk if p]
        good = [r for r, p in chunk if not p]
        ctx.erased = self._erased.refresh()  # someone erased meanwhile: seen from now on
        return sorted(bad + self.target.process_chunk(ctx, good), key=lambda o: o.row)

    def _context(self, dry_run: bool) -> Context:
        self._erased = ErasedWatch()
        return Context(
            actor=self.actor,
            options=self.options,
            job_id=self.job.pk,
            dry_run=dry_run,
            erased=self._erased.people,  # refreshed before each chunk (_outcomes)
        )

    def _issue(self, o: Outcome) -> dict[str, Any]:
        return {
            "row": o.row,
            "action": o.action,
            "column": self.header_of.get(o.field, o.field),
            "reason": o.reason,
        }

    # --- dry run --------------------------------------------------------------------------

    def preview(self, progress: Progress | None = None) -> dict[str, Any]:
        self._check_file()
        ctx = self._context(dry_run=True)
        counts: Counter[str] = Counter()
        issues: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        rows = 0
        seen: set[str] = set()
        for chunk in self._chunks(2):
            with transaction.atomic():
                outcomes = self._outcomes(ctx, chunk)
                transaction.set_rollback(True)  # a dry run writes nothing
            ctx.contacts.clear()
            rows += len(chunk)
            for o in outcomes:
                if o.key and o.key in seen and o.action == "created":
                    # An earlier chunk's writes were rolled back, so this row could not
                    # see the record an earlier row creates; the run applies it to that.
                    o.action = "unchanged"
                    o.reason = "Repeats the key of an earlier row."
            seen.update(o.key for o in outcomes if o.key and o.action == "created")
            for o in outcomes:
                counts[o.action] += 1
                if o.action in ("error", "skipped") and len(issues) < REPORT_LIMIT:
                    issues.append(self._issue(o))
                elif o.action == "updated" and len(changes) < 20:
                    changes.append(
                        {"row": o.row, "id": o.object_id, "before": o.before, "after": o.after}
                    )
            if progress is not None:
                self.job.preview = {"rows_checked": rows}
                progress(self.job)
        return {
            "rows": rows,
            "counts": {k: counts.get(k, 0) for k in COUNT_KEYS},
            "issues": issues,
            "issues_truncated": len(issues) >= REPORT_LIMIT,
            "changes": changes,
        }

    # --- run ------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> ImportJob:
        self._check_file()
        job = self.job
        ctx = self._context(dry_run=False)
        session_rows, session_start = 0, time.monotonic()
        for chunk in self._chunks(job.last_row + 1):
            t0 = time.monotonic()
            with transaction.atomic():
                locked = ImportJob.objects.select_for_update().get(pk=job.pk)
                if locked.status != ImportJob.Status.RUNNING or locked.last_row != job.last_row:
                    raise ImportStopped("Another run of this import took over.")
                outcomes = self._outcomes(ctx, chunk)
                errors = [o for o in outcomes if o.action == "error"]
                if errors and self.options.on_error == "stop":
                    raise ImportStopped(
                        f"Row {errors[0].row}: {errors[0].reason} (bad rows stop the import)."
                    )
                self._journal(locked, chunk, outcomes)
                session_rows += len(chunk)
                note_progress(locked, session_rows, session_start, t0)
            ctx.contacts.clear()  # a rolled-back or concurrent change must not linger
            for name in ("rows_done", "last_row", "chunks_done", "counts", "rate", "eta_seconds"):
                setattr(job, name, getattr(locked, name))
            if progress is not None:
                progress(job)
        return finish_job(job, self.actor)

    def _journal(
        self, job: ImportJob, chunk: list[tuple[Row, str]], outcomes: list[Outcome]
    ) -> None:
        created = [[o.row, o.object_id] for o in outcomes if o.action == "created"]
        other: dict[str, list[Any]] = {}
        for o in outcomes:
            for key, ids in o.created_other.items():
                other.setdefault(key, []).extend(ids)
            if o.message_id and o.action == "created":
                other.setdefault("events", []).append(o.message_id)
        counts = Counter(o.action for o in outcomes)
        ImportChunk.objects.create(
            job=job,
            seq=job.chunks_done + 1,
            first_row=chunk[0][0][0],
            last_row=chunk[-1][0][0],
            created=created,
            created_other=other,
            counts=dict(counts),
        )
        ImportRow.objects.bulk_create(
            [
                ImportRow(
                    job=job,
                    row=o.row,
                    action=o.action,
                    contact_id=o.object_id,
                    column=self.header_of.get(o.field, o.field)[:255],
                    reason=o.reason,
                    changes=(
                        {
                            "before": {k: jsonable(v) for k, v in o.before.items()},
                            "after": {k: jsonable(v) for k, v in o.after.items()},
                        }
                        if o.action == "updated"
                        else {}
                    ),
                )
                for o in outcomes
                if o.action in ("updated", "error", "skipped")
            ],
            batch_size=500,
        )
        total = Counter(job.counts or {})
        total.update(counts)
        job.counts = {k: total.get(k, 0) for k in COUNT_KEYS}
        job.chunks_done += 1
        job.rows_done += len(chunk)
        job.last_row = chunk[-1][0][0]
        job.heartbeat_at = timezone.now()


def execute(
    job: ImportJob,
    *,
    actor: Any,
    dry_run: bool,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """Entry for services (same shape as ``engine.execute``); ``workers`` is unused."""
    del workers
    try:
        runner = TargetRunner(job, actor=actor)
        return runner.preview(progress) if dry_run else runner.run(progress)
    except ImportFileError as exc:
        raise ImportStopped(str(exc)) from exc
