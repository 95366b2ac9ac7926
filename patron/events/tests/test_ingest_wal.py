"""SQLite: ingest's commit leaves the WAL checkpoint to a thread (services.ingest_wal), and
an acknowledged event survives the process being killed right after."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection

from patron.events.models import Event, Source
from patron.events.services import ingest, ingest_wal
from patron.events.services.ingest import events_ingest
from patron.events.tests.wal_helpers import (
    frames_in_log,
    wal_database,
    write_one,
    writers_queue_held,
)


def _messages(n: int) -> list[dict[str, Any]]:
    return [
        {"type": "track", "event": "Clicked", "userId": f"u{i}", "messageId": uuid.uuid4().hex}
        for i in range(n)
    ]


def _digest(path: str) -> str:
    """The database file's hash, read by ANOTHER process.

    Opening and closing the file in this process (``Path.read_bytes``) would drop every
    POSIX lock this process's SQLite connections hold on it (fcntl locks belong to the
    process and go with any close of the file), after which SQLite's shared-memory index
    can be rebuilt under a live connection: later connections to the test database then
    fail with "disk I/O error" (seen in the SQLite pass of the suite).
    """
    code = "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"
    done = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _autocheckpoint() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_the_commit_does_not_checkpoint_the_thread_does(
    source_key: tuple[Source, str], no_processing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write-ahead log only")
    # (ingest in the request's own transaction; the group writer's commits: see
    # test_ingest_writer.py)
    monkeypatch.setattr(ingest, "GROUP_COMMIT", False)
    source, _ = source_key
    path = str(connection.settings_dict["NAME"])
    # given a connection that would checkpoint at every commit, a checkpointer that only
    # records that it was woken, and a database file up to date with the log
    woken: list[bool] = []
    idle = SimpleNamespace(wake=SimpleNamespace(set=lambda: woken.append(True)))
    monkeypatch.setattr(ingest_wal, "checkpointer_for", lambda _path: idle)
    previous = _autocheckpoint()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint = 1")
    try:
        with sqlite3.connect(path) as other:
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        before = _digest(path)
        # when a batch is ingested
        result = events_ingest(source=source, messages=_messages(50))
        # then the events are stored, the database file is untouched (they are in the
        # log), the connection's own setting is back, and the checkpointer was woken
        assert result.accepted == 50
        assert Event.objects.filter(source_id=source.pk).count() == 50
        assert _digest(path) == before
        assert _autocheckpoint() == 1
        assert woken == [True]
        # and a checkpointer copies them into the database file
        checkpointer = ingest_wal.Checkpointer(path)
        checkpointer.wake.set()
        assert checkpointer.done.wait(10)
        assert _digest(path) != before
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA wal_autocheckpoint = {previous:d}")


def test_postgresql_and_transactions_are_left_alone(
    source_key: tuple[Source, str], no_processing: None
) -> None:
    # given ingest inside a transaction (this test's), or on PostgreSQL
    source, _ = source_key
    woken_before = set(ingest_wal._checkpointers)
    before = _autocheckpoint() if connection.vendor == "sqlite" else None
    # when a batch is ingested
    result = events_ingest(source=source, messages=_messages(3))
    # then it is stored and no checkpoint setting or thread was touched
    assert result.accepted == 3
    assert set(ingest_wal._checkpointers) == woken_before
    if before is not None:
        assert _autocheckpoint() == before


KILLED_AFTER_INGEST = textwrap.dedent(
    """
    import os, signal, sys, uuid
    import django
    django.setup()
    from patron.events.services import source_create
    from patron.events.services.ingest import events_ingest
    source, _ = source_create(actor=None, name=sys.argv[1])
    messages = [
        {"type": "track", "event": "Clicked", "userId": f"u{i}", "messageId": uuid.uuid4().hex}
        for i in range(int(sys.argv[2]))
    ]
    result = events_ingest(source=source, messages=messages)
    print(result.accepted, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no clean shutdown: no close, no checkpoint
    """
)


def test_acknowledged_events_survive_the_process_being_killed(patron_site: Any) -> None:
    # given a process that ingests a batch on SQLite and is killed as soon as it is
    # acknowledged (the checkpoint left to a thread that may not have run)
    name = f"crash-{uuid.uuid4().hex[:8]}"
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_INGEST, name, "300"],
        env=patron_site.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then it was killed after acknowledging all of them
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == ["300"]
    # and a new connection finds every one (recovered from the log)
    with sqlite3.connect(patron_site.db_path) as db:
        found = db.execute("SELECT COUNT(*) FROM events_event WHERE source = ?", [name])
        (count,) = found.fetchone()
    assert count == 300


def test_a_checkpointer_whose_thread_ended_is_replaced(tmp_path: Path) -> None:
    # given this process's checkpointer of a database, whose thread has ended
    path = str(tmp_path / "x.sqlite3")
    first = ingest_wal.checkpointer_for(path)
    assert ingest_wal.checkpointer_for(path) is first
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    first.thread = ended
    # when ingest asks for it again
    second = ingest_wal.checkpointer_for(path)
    # then a new one, with a live thread, takes its place
    assert second is not first and second.thread.is_alive()


def test_a_checkpoint_after_the_database_was_deleted_does_not_create_it(tmp_path: Path) -> None:
    # given a checkpointer of a database with an odd name, which is then deleted (a test
    # database torn down between a commit and its checkpoint)
    path = tmp_path / "odd ?#% name.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL").fetchall()
        db.execute("CREATE TABLE t (x)")
    checkpointer = ingest_wal.Checkpointer(str(path))
    checkpointer.wake.set()
    assert checkpointer.done.wait(10)
    checkpointer.done.clear()
    for leftover in tmp_path.iterdir():
        leftover.unlink()
    # when it is woken again
    checkpointer.wake.set()
    assert checkpointer.done.wait(10)
    # then no empty database file appears in its place
    assert list(tmp_path.iterdir()) == []


def test_a_long_log_is_finished_in_the_writers_queue_and_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a log past the threshold, and an ingest writer holding the writers' queue
    monkeypatch.setattr(ingest_wal, "QUEUED_PASS_FRAMES", 10)
    path = tmp_path / "busy.sqlite3"
    wal_database(path, 2_000)
    with writers_queue_held(path):
        # when the checkpointer is woken
        checkpointer = ingest_wal.Checkpointer(str(path))
        checkpointer.wake.set()
        # then it waits in the queue for its second pass
        assert not checkpointer.done.wait(0.5)
    # and finishes once the writer lets go
    assert checkpointer.done.wait(10)
    # and the next write starts the log from its beginning again (a few frames, not
    # the 2,000 rows' worth plus its own)
    before = frames_in_log(path)
    write_one(path)
    assert frames_in_log(path) < min(before, 10)


def test_a_short_log_never_waits_for_the_writers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a log under the threshold (light traffic) and the writers' queue held
    monkeypatch.setattr(ingest_wal, "QUEUED_PASS_FRAMES", 1_000_000)
    path = tmp_path / "quiet.sqlite3"
    wal_database(path, 200)
    with writers_queue_held(path):
        # when the checkpointer is woken
        checkpointer = ingest_wal.Checkpointer(str(path))
        checkpointer.wake.set()
        # then it checkpoints without waiting for the queue
        assert checkpointer.done.wait(10)
    assert checkpointer.lock_fd is None
