"""SQLite: tracking ingest's WAL checkpoints on a thread of the serving process.

In WAL mode the commit that takes the log past ``wal_autocheckpoint`` pages (1,000 by
default) also checkpoints: it copies the logged pages into the database file and syncs
the log and the file (two fsyncs, 3-8 ms each on the project's machine), inside that
``commit()``. An ingest batch dirties a hundred or more pages (random message ids and
anonymous ids land all over their indexes), so every few ``/v1/batch`` requests one
waited for a checkpoint before it could answer: commit cost 46-54 µs per event in wall
time against 17.5 µs without (docs/performance.md, "Ingest (2026-12-06 pass 2)"; ADR 0074).

``checkpoints_aside`` turns the connection's automatic checkpoint off for the ingest
transaction (and restores it), and afterwards wakes this process's checkpointer: a
daemon thread with its own connection that runs a PASSIVE checkpoint, at most one every
``INTERVAL`` seconds. A PASSIVE checkpoint waits for no lock that writers or readers
hold and does what it can; what it leaves, the next one (or any other connection's
automatic checkpoint) does.

Durability is unchanged: a transaction is committed once its frames are in the log, with
or without a checkpoint (the checkpoint only copies committed pages into the database
file). With ``synchronous=NORMAL`` (patron/settings.py) the commit writes the log
without syncing it: an acknowledged event survives the crash of the process (the log
is in the operating system's hands), not a crash of the operating system or a power
loss, which can roll back the last transactions (the database stays consistent).

**The log must also restart.** SQLite writes the log from its start again only when a
checkpoint has copied every frame in it (and no reader still uses it). Under sustained
ingest, two processes' writers commit all the time, so a PASSIVE checkpoint always
finishes a few commits behind, and the log never restarted: it grew by ~165 MB a second
to over 1 GB in a 12 s benchmark, each commit appending to new file space and each page
read searching an ever longer WAL index (docs/adr/0094-sqlite-ingest-log-restarts.md).
So once the log holds ``QUEUED_PASS_FRAMES`` or more, the checkpointer runs a second
pass *in the ingest writers' queue* (the ``flock`` of ``ingest_writer``): no ingest
commit lands meanwhile, the pass copies the few frames the first one left, and the next
ingest transaction restarts the log. The first pass, outside the queue, does the bulk
of the copying, so the writers wait only for the remainder (14-22 ms at 25,000 events a
second). Under light traffic the log stays small and the writers never wait for it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator

from django.db import connection

#: Seconds between two checkpoints of one process at most (the log grows meanwhile).
INTERVAL = 0.2
#: From this many frames in the log (4 MB of 4 KB pages; SQLite's own automatic
#: checkpoint starts at 1,000), a checkpoint ends with a pass in the writers' queue.
QUEUED_PASS_FRAMES = 1_000


def queue_lock_open(path: str) -> int:
    """A new descriptor of the lock file that queues the ingest writers of the database
    at ``path`` (``flock``, one writer at a time across the serving processes)."""
    return os.open(path + "-ingest.lock", os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def queued(lock_fd: int) -> Iterator[None]:
    """Hold the writers' queue (``queue_lock_open``) for the block."""
    fcntl.flock(lock_fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(lock_fd, fcntl.LOCK_UN)


class Checkpointer:
    """A daemon thread that checkpoints one database's WAL when woken, at most once per
    ``INTERVAL``. It opens its connection for each checkpoint (a few a second at most),
    so it holds no database file open between them (only the writers' lock file, once
    it has needed it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.uri = f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=rw"
        self.wake = threading.Event()
        self.done = threading.Event()  # set after each checkpoint (for tests)
        self.lock_fd: int | None = None
        self.thread = threading.Thread(target=self._run, name="ingest-wal", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with contextlib.suppress(sqlite3.Error):  # busy or gone: the next one catches up
                # mode=rw: a database deleted meanwhile (a test database torn down) is not
                # created again, empty, by a plain connect.
                db = sqlite3.connect(self.uri, timeout=0, isolation_level=None, uri=True)
                try:
                    self._checkpoint(db)
                finally:
                    db.close()
            self.done.set()
            time.sleep(INTERVAL)

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        # (busy, frames in the log, frames copied); busy: another checkpoint is running
        # (the other serving process's), which does the work.
        busy, frames, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if busy or frames < QUEUED_PASS_FRAMES:
            return
        try:
            if self.lock_fd is None:  # opened once, after the database was found
                self.lock_fd = queue_lock_open(self.path)
        except OSError:  # no lock file beside the database: the first pass has to do
            return
        with queued(self.lock_fd):
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


_checkpointers: dict[tuple[int, str], Checkpointer] = {}
_lock = threading.Lock()


def checkpointer_for(path: str) -> Checkpointer:
    """This process's checkpointer of the database at ``path`` (a forked worker makes
    its own: threads do not survive a fork; nor does one whose thread ended: with only
    ingest writing, nothing else would checkpoint and the log would grow)."""
    key = (os.getpid(), path)
    found = _checkpointers.get(key)
    if found is None or not found.thread.is_alive():
        with _lock:
            found = _checkpointers.get(key)
            if found is None or not found.thread.is_alive():
                found = _checkpointers[key] = Checkpointer(path)
    return found


def _file_database() -> str | None:
    if connection.vendor != "sqlite":
        return None
    path = str(connection.settings_dict.get("NAME") or "")
    if not path or path.startswith(("file:", ":memory")):
        return None
    return path


@contextlib.contextmanager
def checkpoints_aside() -> Iterator[None]:
    """Around a write transaction on a SQLite database file (outside any other
    transaction): no automatic checkpoint in its commit; the process's checkpointer is
    woken after it. Elsewhere (PostgreSQL, in-memory, inside a transaction) it does
    nothing."""
    path = _file_database()
    if path is None or connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    previous = int(raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
    raw.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        # A connection that broke meanwhile is discarded by Django anyway.
        with contextlib.suppress(sqlite3.Error):
            raw.execute(f"PRAGMA wal_autocheckpoint = {previous:d}")
    checkpointer_for(path).wake.set()
