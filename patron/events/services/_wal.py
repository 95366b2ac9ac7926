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

Also here: the processor connection's bigger SQLite page cache (``page_cache``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

from django.db import DatabaseError, connection


class Checkpointer:
    """A thread that checkpoints the database's WAL each time it is woken."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.wake = threading.Event()
        self.done = False
        self.thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        except sqlite3.Error:
            return
        try:
            while True:
                self.wake.wait()
                self.wake.clear()
                if self.done:
                    break
                with contextlib.suppress(sqlite3.Error):  # busy: the next one catches up
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            db.close()

    def stop(self) -> None:
        self.done = True
        self.wake.set()
        self.thread.join(timeout=60)


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
