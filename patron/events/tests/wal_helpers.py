"""Shared by the SQLite write-ahead-log tests (test_ingest_wal, test_processing_wal): a
database with a long log, the log's length, and the ingest writers' queue held."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

from patron.events.services import ingest_wal


def wal_database(path: Path, rows: int) -> None:
    """A WAL database at ``path`` whose log holds ``rows`` rows' worth of frames, none
    copied into the database file yet."""
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL").fetchall()
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute("CREATE TABLE t (x TEXT)")
        db.execute("CREATE INDEX t_x ON t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [(uuid.uuid4().hex * 8,) for _ in range(rows)])


def frames_in_log(path: Path) -> int:
    with sqlite3.connect(path, isolation_level=None) as db:
        return int(db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])


def write_one(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("INSERT INTO t VALUES ('one more')")


@contextlib.contextmanager
def writers_queue_held(path: Path) -> Iterator[None]:
    """As an ingest writer in the middle of its transaction: the queue's lock held."""
    held = ingest_wal.queue_lock_open(str(path))
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
