"""SQLite: a serving process's ingest requests are committed in groups by one writer
thread (services.ingest_writer), each acknowledged only after its group's commit."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import DatabaseError, connection
from django.db.backends.signals import connection_created
from django.utils import timezone

from patron.events.models import Event, Source
from patron.events.services import ingest_wal, ingest_writer
from patron.events.services.ingest import (
    IngestResult,
    build_event,
    events_ingest,
    sqlite_execute,
    sqlite_statements,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _messages(n: int, *, prefix: str = "") -> list[dict[str, Any]]:
    return [
        {
            "type": "track",
            "event": "Clicked",
            "userId": f"u{i}",
            "messageId": prefix + uuid.uuid4().hex,
        }
        for i in range(n)
    ]


@pytest.fixture
def path() -> str:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only (PostgreSQL writes in each request's transaction)")
    return str(connection.settings_dict["NAME"])


@pytest.fixture
def fresh_writers(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's writers are its own (new threads, new connections)."""
    monkeypatch.setattr(ingest_writer, "_writers", {})


@pytest.fixture
def groups(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of requests in each group transaction the writers write."""
    sizes: list[int] = []
    write = ingest_writer.GroupWriter._write

    def recording(self: ingest_writer.GroupWriter, group: list[ingest_writer.Job]) -> None:
        sizes.append(len(group))
        write(self, group)

    monkeypatch.setattr(ingest_writer.GroupWriter, "_write", recording)
    return sizes


@pytest.fixture
def held(path: str) -> Iterator[Callable[[], None]]:
    """The writers' cross-process queue taken by this test (as the other serving process
    would hold it); call to release it."""
    fd = os.open(path + "-ingest.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            fcntl.flock(fd, fcntl.LOCK_UN)

    yield release
    release()
    os.close(fd)


def _wait_until(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_waiting_requests_are_committed_in_one_group_each_with_its_counts(
    source_key: tuple[Source, str],
    no_processing: None,
    path: str,
    fresh_writers: None,
    groups: list[int],
    held: Callable[[], None],
) -> None:
    source, _ = source_key
    # given a first request whose group waits for the write lock (the other process
    # holds it), and three more requests arriving meanwhile, two of which share a
    # message id (a client's retry racing its first try)
    shared = {"type": "track", "event": "Paid", "userId": "u", "messageId": "m-shared"}
    bodies = [_messages(5), [*_messages(10), shared], [*_messages(20), shared], _messages(1)]
    results: list[IngestResult | None] = [None] * len(bodies)

    def send(i: int) -> None:
        results[i] = events_ingest(source=source, messages=bodies[i])

    threads = [threading.Thread(target=send, args=(0,))]
    threads[0].start()
    _wait_until(lambda: groups == [1])
    writer = ingest_writer._writers[(os.getpid(), path)]
    threads += [threading.Thread(target=send, args=(i,)) for i in (1, 2, 3)]
    for thread in threads[1:]:
        thread.start()
    _wait_until(lambda: len(writer.jobs) == 3)
    # then nothing is acknowledged while the lock is held
    assert results == [None] * 4
    # when the lock is released
    held()
    for thread in threads:
        thread.join(30)
    # then the waiting three went in one group transaction after the first
    assert groups == [1, 3]
    # and each request got its own counts, the shared id stored once, for one of them
    done = [r for r in results if r is not None]
    assert [r.accepted + r.duplicates for r in done] == [5, 11, 21, 1]
    assert sum(r.duplicates for r in done) == 1
    assert sum(r.accepted for r in done) == 37
    assert Event.objects.filter(source_id=source.pk).count() == 37
    assert Event.objects.filter(message_id="m-shared").count() == 1


def test_a_failing_request_fails_alone_and_its_group_is_written_without_it(
    source_key: tuple[Source, str], path: str, held: Callable[[], None]
) -> None:
    source, _ = source_key
    writer = ingest_writer.GroupWriter(path)
    good = sqlite_statements(_rows(source, _messages(4, prefix="good-")))
    bad = sqlite_statements(_rows(source, _messages(3, prefix="bad-")))

    def failing() -> int:
        sqlite_execute(bad)  # stored, then the request fails: to be rolled back
        raise DatabaseError("disk full (in this test)")

    outcome: dict[str, Any] = {}

    def submit(name: str, write: Callable[[], int]) -> None:
        try:
            outcome[name] = writer.submit(ingest_writer.Job(write=write, events=1)).accepted
        except DatabaseError as exc:
            outcome[name] = exc

    # given a first request waiting for the lock (held meanwhile), and two requests
    # queued behind it for the next group, one of which fails
    threads = [threading.Thread(target=submit, args=("first", lambda: 0))]
    threads[0].start()
    _wait_until(lambda: "first" not in outcome and not writer.jobs)
    threads += [
        threading.Thread(target=submit, args=("good", lambda: sqlite_execute(good))),
        threading.Thread(target=submit, args=("bad", failing)),
    ]
    threads[1].start()
    threads[2].start()
    _wait_until(lambda: len(writer.jobs) == 2)
    # when the groups are written
    held()
    for thread in threads:
        thread.join(30)
    # then only the failing request sees the error, and only its rows are missing
    assert isinstance(outcome["bad"], DatabaseError)
    assert outcome["good"] == 4
    assert Event.objects.filter(message_id__startswith="good-").count() == 4
    assert not Event.objects.filter(message_id__startswith="bad-").exists()


def _rows(source: Source, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    now = timezone.now()
    return [build_event(m, source=source, received_at=now) for m in messages]


def _digest(path: str) -> str:
    """The database file's hash, read by another process (see test_ingest_wal)."""
    code = "import hashlib,sys;print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())"
    done = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_the_writers_commits_do_not_checkpoint_its_process_checkpointer_does(
    source_key: tuple[Source, str],
    no_processing: None,
    path: str,
    fresh_writers: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, _ = source_key

    # given new connections that would checkpoint at every commit, a checkpointer that
    # only records that it was woken, and a database file up to date with its log
    def eager(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.connection.execute("PRAGMA wal_autocheckpoint = 1")

    connection_created.connect(eager)
    woken: list[str] = []

    class Idle:
        class wake:  # noqa: N801 - stands in for a threading.Event
            @staticmethod
            def set() -> None:
                woken.append("woken")

    monkeypatch.setattr(ingest_writer, "checkpointer_for", lambda _path: Idle)

    # and no real checkpointer of this process (an earlier test's, woken at its end) can
    # checkpoint meanwhile: its connections fail (it swallows that, as for a busy
    # database), and one it had already opened has finished after a pause
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("checkpoints paused by the test")

    monkeypatch.setattr(
        ingest_wal, "sqlite3", SimpleNamespace(connect=refused, Error=sqlite3.Error)
    )
    time.sleep(ingest_wal.INTERVAL + 0.3)
    try:
        with sqlite3.connect(path) as other:
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        before = _digest(path)
        # when a batch is ingested (by a new writer, on a new connection)
        result = events_ingest(source=source, messages=_messages(50))
    finally:
        connection_created.disconnect(eager)
    # then it is stored, the database file is untouched (the events are in the log), and
    # the checkpointer was woken
    assert result.accepted == 50
    assert Event.objects.filter(source_id=source.pk).count() == 50
    assert _digest(path) == before
    assert woken == ["woken"]


def test_a_writer_whose_thread_ended_is_replaced(path: str, fresh_writers: None) -> None:
    # given this process's writer, whose thread has ended
    first = ingest_writer.writer_for(path)
    assert ingest_writer.writer_for(path) is first
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    first.thread = ended
    # when ingest asks for it again
    second = ingest_writer.writer_for(path)
    # then a new one, with a live thread, takes its place
    assert second is not first and second.thread.is_alive()
