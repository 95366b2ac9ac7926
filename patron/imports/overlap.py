"""Classifying an import's chunks, on PostgreSQL beside the write of the chunk before.

On PostgreSQL most of a chunk's write is the server's (the ``COPY`` of the contacts),
during which the writing process only waited, while its classification of the next
chunk (look-ups and duplicate scoring, in Python) waited for the write. Here the
classification of chunk N+1 runs in a thread with its own database connection while
chunk N is written (ADR 0092); the engine (``patron.imports.engine``) orders the two.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections

from patron.imports.chunk import ChunkProcessor, ChunkResult
from patron.imports.erased import ErasedWatch
from patron.imports.journal import _restore_seen, _snapshot_seen
from patron.imports.prepare import Prepared


def overlap_enabled() -> bool:
    """Whether chunk N+1 is classified on a second connection while chunk N is written.

    Opt-in (``PATRON_IMPORT_OVERLAP=1``): on a two-core machine that also runs the
    PostgreSQL server, the cores are already busy (the normalising worker, the server's
    insert, this process), and the overlap measured slower at load ~2 (ADR 0092); it is
    meant for a server on its own machine, where the insert's time is idle time here.
    PostgreSQL only: SQLite writes in this process, and a second connection would have
    to see the first one's uncommitted rows to be exact (a test's in-memory database
    shares one cache, whose table locks forbid even that). Off inside an outer
    transaction (a second connection cannot see its rows)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    return os.environ.get("PATRON_IMPORT_OVERLAP", "0") == "1"


@dataclass
class Classified:
    """A chunk, the in-file fingerprints as they were before it was classified (to undo
    its classification), and its classification when it runs beside a write."""

    prepared: list[Prepared]
    seen_before: Any
    future: Future[tuple[int, ChunkResult]] | None = None


class Classifier:
    """Classifies chunks, with ``overlap`` in a thread with its own connection (ADR 0092).

    What a classification reads from the database is committed data only: the thread's
    connection cannot see the chunks written but not yet committed by the run's own
    transaction, and it need not. Their rows are told apart in memory: every key and
    email match key of an earlier row is in the in-file fingerprints (taken in file order,
    one classification at a time), and contacts the run created are left out of the
    duplicate scoring (``state.created``). The engine keeps the order safe: a
    classification starts only after the one before it has ended; ``state.created`` and
    the commit change only while none runs (else a commit in the middle of one would show
    it contacts it cannot yet tell apart). No lock is taken on that connection (plain
    reads), so the lock order of the run's writes (ADR 0089) is unchanged."""

    def __init__(self, processor: ChunkProcessor, erased: ErasedWatch, overlap: bool) -> None:
        self.processor = processor
        self.erased = erased
        self.pool = ThreadPoolExecutor(1, "import-classify") if overlap else None
        self.beside = 0.0  # seconds of classification in the thread
        self.server_cpu: float | None = None  # CPU seconds of the thread's server backend

    def start(self, prepared: list[Prepared]) -> Classified:
        item = Classified(prepared, _snapshot_seen(self.processor.state.seen))
        if self.pool is not None:
            item.future = self.pool.submit(self._classify, prepared)
        return item

    def _classify(self, prepared: list[Prepared]) -> tuple[int, ChunkResult]:
        t0 = time.monotonic()
        self.processor.erased = self.erased.refresh()
        generation = self.erased.generation
        result = self.processor.classify(prepared)
        self.beside += time.monotonic() - t0
        return generation, result

    def result(self, item: Classified) -> ChunkResult:
        """The chunk's classification (inside the run's transaction). One made beside is
        made again here if someone was erased since it looked (the erased-people check
        stays as fresh as in line: refreshed right before the chunk's write)."""
        if item.future is None:
            self.processor.erased = self.erased.refresh()
            return self.processor.classify(item.prepared)
        generation, result = item.future.result()
        item.future = None
        self.erased.refresh()
        if self.erased.generation != generation:
            _restore_seen(self.processor.state.seen, item.seen_before)
            self.processor.erased = self.erased.people
            result = self.processor.classify(item.prepared)
        return result

    def settle(self, item: Classified | None) -> None:
        """Wait until ``item``'s classification (if running) has ended; keep its result."""
        if item is not None and item.future is not None:
            item.future.exception()

    def close(self) -> None:
        if self.pool is not None:
            self.server_cpu = self.pool.submit(server_cpu).result()
            self.pool.submit(connections.close_all).result()  # the thread's connection
            self.pool.shutdown()


def server_cpu() -> float | None:
    """CPU seconds so far of this thread's PostgreSQL backend, when the server runs on this
    machine (read from /proc; None elsewhere): the server's share of an import, which the
    client's own CPU count leaves out."""
    if connection.vendor != "postgresql" or connection.connection is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
