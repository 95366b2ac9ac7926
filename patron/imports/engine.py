"""Running an import job over its file: dry run or real run, chunk by chunk.

Rows are read in a stream, prepared (normalised) in worker processes when there are
enough of them, and classified/written by this process one chunk at a time. In a real
run each chunk commits in its own transaction together with its journal
(``ImportChunk``) and the job's checkpoint (``last_row``), so a killed run resumes after
the last committed chunk and never writes a row twice. The job row is locked at each
commit and the checkpoint compared, so two runners of one job cannot both write.
"""

from __future__ import annotations

import gc
import itertools
import logging
import multiprocessing as mp
import pickle
import resource
import signal
import time
from collections import Counter, deque
from collections.abc import Callable, Generator, Iterator
from contextlib import closing, contextmanager
from queue import Empty
from typing import Any

from django.db import connection, connections, transaction

from patron.contacts.selectors import contacts_visible_to
from patron.core import fastwrite
from patron.core.fastwrite import tune_connection
from patron.imports.chunk import REPORT_LIMIT, ChunkProcessor, ChunkState
from patron.imports.erased import ErasedWatch
from patron.imports.journal import (
    _COUNT_KEYS,
    _PROGRESS_FIELDS,
    ImportStopped,
    _collect,
    _commit_chunk,
    _restore_seen,
    _snapshot_seen,
    finish_job,
    note_progress,
)
from patron.imports.models import ImportChunk, ImportJob
from patron.imports.options import options_of
from patron.imports.prepare import Plan, Prepared, prepare_rows
from patron.imports.readers import FileInfo, ImportFileError, info_from_job, iter_rows
from patron.imports.runconfig import (
    chunk_rows,
    commit_rows,
    commit_seconds,
    custom_fields_map,
    default_workers,
    file_sha256,
    plan_for,
)

logger = logging.getLogger(__name__)
Progress = Callable[[ImportJob], None]


# --- preparation, possibly in worker processes ---------------------------------------------

_WORKER_PLAN: Plan | None = None


def _worker_init(plan: Plan) -> None:
    global _WORKER_PLAN
    _WORKER_PLAN = plan


def _worker_prepare(rows: list[tuple[int, list[Any], str]]) -> list[Prepared]:
    assert _WORKER_PLAN is not None
    prepared = prepare_rows(_WORKER_PLAN, rows)
    if not gc.isenabled():  # forked from a run that collects between chunks (_gc_by_chunk)
        gc.collect(1)
    return prepared


@contextmanager
def _gc_by_chunk() -> Iterator[Callable[[int], None]]:
    """Cyclic garbage collection between chunks instead of during them.

    A chunk allocates tens of thousands of short-lived objects, which are freed by
    reference counting; the collector, triggered every 700 allocations, kept scanning
    them and everything else alive (a profile put ~15 % of the run in whatever code was
    allocating). Long-lived objects are frozen out of the scans, automatic collection is
    paused, and the caller collects the young generations after each chunk (and fully
    every 20) so cyclic garbage stays bounded."""
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()

    def tick(seq: int) -> None:
        gc.collect(2 if seq % 20 == 0 else 1)

    try:
        yield tick
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


def _prepared_chunks(
    plan: Plan, chunks: Iterator[list[tuple[int, list[Any], str]]], workers: int
) -> Generator[list[Prepared], None, None]:
    """Prepared chunks in file order; at most ``workers + 1`` chunks in flight.

    ``workers`` processes normalise while this one classifies and writes the chunk before
    (so on 2 cores one worker overlaps the two halves); 0 prepares here, in line."""
    if workers < 1 or connection.in_atomic_block:
        for rows in chunks:
            yield prepare_rows(plan, rows)
        return
    connections.close_all()  # never hand an open database connection to a fork
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_worker_init, initargs=(plan,)) as pool:
        pending: deque[Any] = deque()
        for rows in chunks:
            pending.append(pool.apply_async(_worker_prepare, (rows,)))
            if len(pending) > workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


# One worker (the default on 2 cores) reads the file itself: the CSV reader (~2.3 µs a
# row) and pickling each chunk's cells to send them (~1.3 µs) leave the writing process,
# which is the busier of the two. Messages: ("chunk", prepared), ("end", seconds the
# worker waited for the writer), ("error", exception).
_READ_AHEAD = 1  # prepared chunks waiting in the queue (plus one in the writer's hands)
_STOP_SECONDS = 5.0  # how long a stopped worker may take to end before it is killed


def _reader_main(plan: Plan, path: str, info: FileInfo, start: int, size: int, out: Any) -> None:
    # A forked child inherits its parent's signal handlers: one that turns SIGTERM into an
    # exception (a test runner's, a server's) made ``terminate()`` land in the ``except``
    # below, whose ``put`` then blocked on the full queue for ever. The writer stops this
    # process with SIGTERM and nothing else, so SIGTERM simply ends it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    blocked = 0.0
    try:
        for rows in _batched(iter_rows(path, info, start_row=start), size):
            prepared = prepare_rows(plan, rows)
            t0 = time.monotonic()
            out.put(("chunk", prepared))
            blocked += time.monotonic() - t0
            del prepared, rows
            if not gc.isenabled():  # forked from a run that collects between chunks
                gc.collect(1)
        out.put(("end", blocked))
    except BaseException as exc:  # the writing process re-raises it (ImportFileError, ...)
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"The normalising worker failed: {exc!r}")
        out.put(("error", exc))


def _read_in_worker(
    plan: Plan, path: str, info: FileInfo, start_row: int, size: int, stats: dict[str, float]
) -> Generator[list[Prepared], None, None]:
    """Prepared chunks in file order from one worker process that reads and prepares
    them; at most ``_READ_AHEAD`` + 2 chunks in flight (memory stays flat). The process
    is stopped when the caller stops early (an error, "stop on bad rows")."""
    connections.close_all()  # never hand an open database connection to a fork
    ctx = mp.get_context("fork")
    queue = ctx.Queue(maxsize=_READ_AHEAD)
    proc = ctx.Process(
        target=_reader_main, args=(plan, path, info, start_row, size, queue), daemon=True
    )
    proc.start()
    try:
        while True:
            try:
                kind, payload = queue.get(timeout=1.0)
            except Empty:
                if not proc.is_alive():
                    raise RuntimeError(
                        f"The normalising worker stopped unexpectedly (exit code {proc.exitcode})."
                    ) from None
                continue
            if kind == "chunk":
                yield payload
            elif kind == "end":
                stats["worker_blocked"] = payload
                return
            else:
                raise payload
    finally:
        if proc.is_alive():
            proc.terminate()
        proc.join(timeout=_STOP_SECONDS)
        if proc.is_alive():  # never wait for ever on a worker that ignores SIGTERM
            proc.kill()
            proc.join()
        queue.close()


# --- the job ------------------------------------------------------------------------------


class JobRunner:
    def __init__(self, job: ImportJob, *, actor: Any, workers: int | None = None) -> None:
        self.job = job
        self.actor = actor
        self.workers = default_workers() if workers is None else workers
        self.custom = custom_fields_map()
        self.plan = plan_for(job, self.custom)
        self.options = options_of(job)
        self.info = info_from_job(job)

    def _check_file(self) -> None:
        try:
            digest = file_sha256(self.job.file_path)
        except OSError as exc:
            raise ImportStopped("The uploaded file is no longer available.") from exc
        if digest != self.job.file_sha256:
            raise ImportStopped("The uploaded file has changed since it was checked.")

    def _processor(self, state: ChunkState) -> ChunkProcessor:
        self._erased = ErasedWatch()
        visible = None
        if getattr(self.actor, "is_restricted", False):
            visible = _VisibleIds(self.actor)
        return ChunkProcessor(
            job_id=self.job.pk,
            actor=self.actor,
            options=self.options,
            custom_fields=self.custom,
            visible=visible,
            state=state,
            erased=self._erased.people,  # refreshed before each chunk
        )

    def _chunks(self, start_row: int) -> Generator[list[Prepared], None, None]:
        self.stats: dict[str, float] = {}
        if self.workers == 1 and not connection.in_atomic_block:
            return _read_in_worker(
                self.plan, self.job.file_path, self.info, start_row, chunk_rows(), self.stats
            )
        rows = iter_rows(self.job.file_path, self.info, start_row=start_row)
        return _prepared_chunks(self.plan, _batched(rows, chunk_rows()), self.workers)

    # --- dry run --------------------------------------------------------------------------

    def preview(self, progress: Progress | None = None) -> dict[str, Any]:
        """Classify every row without writing; returns (and stores) the summary."""
        self._check_file()
        state = ChunkState()
        processor = self._processor(state)
        counts: Counter[str] = Counter()
        issues: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        rows = 0
        with _gc_by_chunk() as gc_tick, closing(self._chunks(2)) as chunks:
            for seq, prepared in enumerate(chunks, 1):
                processor.erased = self._erased.refresh()
                result = processor.classify(prepared)
                counts.update(result.counts)
                rows += len(prepared)
                _collect(result, issues, changes)
                del result
                if progress is not None:
                    self.job.preview = {"rows_checked": rows}
                    progress(self.job)
                gc_tick(seq)
        summary = {
            "rows": rows,
            "counts": {k: counts.get(k, 0) for k in _COUNT_KEYS},
            "issues": issues,
            "issues_truncated": len(issues) >= REPORT_LIMIT,
            "changes": changes,
        }
        return summary

    # --- run --------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> ImportJob:
        self._check_file()
        job = self.job
        state = ChunkState()
        for chunk in ImportChunk.objects.filter(job=job).order_by("seq").iterator():
            state.seen.load(bytes(chunk.seen_keys))
            state.created.add_many(cid for _, cid in chunk.created)
        processor = self._processor(state)
        self._session_rows = 0
        self._session_start = time.monotonic()
        cpu_start, children_start = time.process_time(), _children_cpu()
        timing = dict.fromkeys(("wait", "classify", "write", "chunk", "commit"), 0.0)
        group_rows, group_seconds = commit_rows(), commit_seconds()
        waited = time.monotonic()
        with _gc_by_chunk() as gc_tick, closing(self._chunks(job.last_row + 1)) as chunks:
            # The first chunk of a transaction is taken outside it (the worker pool starts
            # on the first one, and a fork must not inherit an open transaction).
            for prepared in chunks:
                timing["wait"] += time.monotonic() - waited
                if not prepared:
                    waited = time.monotonic()
                    continue
                t0 = time.monotonic()
                stopped: ImportStopped | None = None
                seen_before = _snapshot_seen(state.seen)
                try:
                    with transaction.atomic():
                        tune_connection()
                        locked = ImportJob.objects.select_for_update().get(pk=job.pk)
                        running = locked.status == ImportJob.Status.RUNNING
                        if not running or locked.last_row != job.last_row:
                            raise ImportStopped("Another run of this import took over.")
                        rows_in_group = 0
                        while True:
                            stopped = self._chunk(processor, locked, prepared, timing)
                            if stopped is not None:
                                break
                            rows_in_group += len(prepared)
                            gc_tick(locked.chunks_done)
                            if (
                                rows_in_group >= group_rows
                                or time.monotonic() - t0 >= group_seconds
                            ):
                                break
                            waited = time.monotonic()
                            prepared = next(chunks, [])
                            timing["wait"] += time.monotonic() - waited
                            if not prepared:
                                break
                        t1 = time.monotonic()
                        note_progress(locked, self._session_rows, self._session_start, t0)
                    timing["commit"] += time.monotonic() - t1
                except BaseException:
                    _restore_seen(state.seen, seen_before)
                    raise
                job.__dict__.update(
                    {k: getattr(locked, k) for k in _PROGRESS_FIELDS}  # keep our copy in step
                )
                timing["chunk"] += time.monotonic() - t0
                if progress is not None:
                    progress(job)
                if stopped is not None:
                    raise stopped
                waited = time.monotonic()
        logger.info(
            "import %s: %s rows; seconds waiting for prepared rows %.1f, classifying %.1f, "
            "writing %.1f (inserts: %s), committing %.1f, whole chunks %.1f; CPU seconds "
            "of this process %.1f, of its normalising workers %.1f; seconds the reading "
            "worker waited for this process %s",
            job.pk,
            self._session_rows,
            timing["wait"],
            timing["classify"],
            timing["write"],
            ", ".join(f"{k} {v:.1f}" for k, v in sorted(fastwrite.SPENT.items())),
            timing["commit"],
            timing["chunk"],
            time.process_time() - cpu_start,
            _children_cpu() - children_start,
            f"{self.stats['worker_blocked']:.1f}" if "worker_blocked" in self.stats else "-",
        )
        return finish_job(job, self.actor)

    def _chunk(
        self,
        processor: ChunkProcessor,
        locked: ImportJob,
        prepared: list[Prepared],
        timing: dict[str, float],
    ) -> ImportStopped | None:
        """Classify and write one chunk and journal it, in a savepoint of the commit
        group's transaction. Bad rows under "stop": the chunk is undone (the chunks
        before it in the group stay) and the reason returned, to raise after the commit."""
        state = processor.state
        seen_before = _snapshot_seen(state.seen)
        t0 = time.monotonic()
        try:
            with transaction.atomic():
                processor.erased = self._erased.refresh()
                result = processor.classify(prepared)
                if self.options.on_error == "stop" and result.counts.get("error"):
                    first = next(o for o in result.outcomes if o.action == "error")
                    raise ImportStopped(
                        f"Row {first.p.row}: {first.reason} (bad rows stop the import)."
                    )
                t1 = time.monotonic()
                timing["classify"] += t1 - t0
                processor.write(result)
                timing["write"] += time.monotonic() - t1
                _commit_chunk(locked, result, prepared)
        except ImportStopped as exc:
            _restore_seen(state.seen, seen_before)
            return exc
        self._session_rows += len(prepared)
        return None


def _children_cpu() -> float:
    """CPU seconds of ended child processes (the normalising workers, once their pool is
    closed): with other work on the machine, CPU time says more than wall time."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _VisibleIds:
    """``cid in visible``: whether a restricted actor may change that contact."""

    def __init__(self, actor: Any) -> None:
        self.qs = contacts_visible_to(actor)

    def __contains__(self, cid: int) -> bool:
        return self.qs.filter(pk=cid).exists()


def execute(
    job: ImportJob,
    *,
    actor: Any,
    dry_run: bool,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Any:
    """Entry for services: a dry-run summary, or the finished job."""
    try:
        runner = JobRunner(job, actor=actor, workers=workers)
        return runner.preview(progress) if dry_run else runner.run(progress)
    except ImportFileError as exc:
        raise ImportStopped(str(exc)) from exc
