"""SQLite: the event processor's WAL checkpoints on a thread of their own.

In WAL mode the commit that takes the log past ``wal_autocheckpoint`` pages (1,000 by
default) copies the logged pages into the database file and syncs it, inside that
``commit()`` call. A processing batch rewrites thousands of event rows and index pages,
so nearly every batch's commit checkpointed: a third of the processor's wall time on
SQLite (docs/performance.md, processing fourth pass). While the processor runs, its
connection does not checkpoint; a second connection, on a thread, runs a PASSIVE
checkpoint after each batch (copying pages while the next batch is worked out on the
other core; sqlite3 releases the GIL while it works). A PASSIVE checkpoint takes no lock
that writers or readers wait for, and does what it can: what it leaves, the next one (or
any other connection's automatic one) does. Nothing here changes what is committed.

A pass beside a batch cannot finish the log: the batch's read began before it, and the
log restarts only at a write whose read began after a pass that copied every frame. So
the log only grew (to 424 MB while 100,000 events over 50,000 users were processed).
Once a pass finds ``RESTART_FRAMES`` or more, the processor waits between two batches
for a pass of its own (``catch_up``), inside the ingest writers' queue so that their
commits cannot leave it behind either; the next batch then writes the log from its
start (119 MB in the same run, at the same speed; ADR 0094).

Also here: the processor connection's bigger SQLite page cache (``page_cache``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError, connection

from patron.events.services.ingest_wal import queue_lock_open, queued

#: From this many frames in the log after a checkpoint pass (4 KB pages), the processor
#: waits for a pass between two batches so that the log restarts (see ``catch_up``).
RESTART_FRAMES = 16_000


class Checkpointer:
    """A thread that checkpoints the database's WAL each time it is woken."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.wake = threading.Event()
        self.done = False
        #: Frames in the log at the end of the last pass (0 before the first).
        self.frames = 0
        #: Whether the last pass copied every frame in the log.
        self.whole = False
        self._asked = self._answered = 0
        self._ended = False
        self.lock_fd: int | None = None
        self._turn = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            db: sqlite3.Connection | None = sqlite3.connect(
                self.path, timeout=0, check_same_thread=False
            )
        except sqlite3.Error:
            db = None
        try:
            while db is not None:
                self.wake.wait()
                self.wake.clear()
                if self.done:
                    break
                with self._turn:
                    serving = self._asked
                self.whole = False
                with contextlib.suppress(sqlite3.Error):  # busy: the next one catches up
                    _busy, frames, copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    self.frames, self.whole = int(frames), copied == frames
                with self._turn:
                    self._answered = serving
                    self._turn.notify_all()
        finally:
            if db is not None:
                db.close()
            with self._turn:  # nobody waits for a pass that will never come
                self._ended = True
                self._turn.notify_all()

    def ask(self) -> int:
        """Wake the thread for a pass; the ticket ``catch_up`` waits for."""
        with self._turn:
            self._asked += 1
            ticket = self._asked
        self.wake.set()
        return ticket

    def after_batch(self) -> None:
        """A batch is committed: a pass beside the next batch, or, once the log is
        ``RESTART_FRAMES`` long, one waited for before it (``catch_up``)."""
        if self.frames >= RESTART_FRAMES:
            self.catch_up()
        else:
            self.ask()

    def catch_up(self, timeout: float = 30.0) -> None:
        """A pass asked for now, waited for. Between two batches (nothing of the
        processor's is open) it copies the whole log, so the next batch's first write
        starts the log from its beginning again. Passes that run beside the batches
        always end a batch behind, and then the log only grows (to 424 MB in a
        benchmark run; ADR 0094)."""
        try:
            if self.lock_fd is None:
                self.lock_fd = queue_lock_open(self.path)
        except OSError:  # no lock file beside the database: passes stay beside the batches
            return
        # In the ingest writers' queue: their commits would leave the pass behind again.
        with queued(self.lock_fd):
            ticket = self.ask()
            with self._turn:
                self._turn.wait_for(lambda: self._ended or self._answered >= ticket, timeout)
        if self.whole:  # the next write restarts the log
            self.frames = 0

    def stop(self) -> None:
        self.done = True
        self.wake.set()
        self.thread.join(timeout=60)
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None


@contextlib.contextmanager
def page_cache(megabytes: int) -> Iterator[None]:
    """On SQLite, within the block: a page cache of ``megabytes`` on this connection
    (SQLite's default is 2 MB), restored after; elsewhere nothing. The processor reads
    and rewrites pages of the events table, its five indexes and the aggregates all
    over a batch: with 2 MB most of them were read again from the file (a system call
    and a copy each). Memory is taken as pages are used, up to the size, and given
    back when the block ends: lowering ``cache_size`` alone kept it (a 120 MB process
    stayed at 120 MB), ``shrink_memory`` frees it (24 MB). docs/performance.md,
    "Tracking → Stop 13"."""
    if connection.vendor != "sqlite" or megabytes <= 0:
        yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = -{int(megabytes) * 1024:d}")
    try:
        yield
    finally:
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous:d}")
            cursor.execute("PRAGMA shrink_memory")


@contextlib.contextmanager
def checkpoints_aside() -> Iterator[Any]:
    """On SQLite (file database), within the block: no automatic checkpoint on this
    connection, a ``Checkpointer`` instead (yielded; call ``wake.set()`` after each
    commit). Elsewhere yields None. The connection's setting is restored after."""
    path = connection.settings_dict.get("NAME")
    if connection.vendor != "sqlite" or not path or str(path).startswith(("file:", ":memory")):
        yield None
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        previous = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint = 0")
    checkpointer = Checkpointer(str(path))
    try:
        yield checkpointer
    finally:
        checkpointer.stop()
        # A connection that broke meanwhile is discarded anyway: do not hide its error.
        with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {previous:d}")
