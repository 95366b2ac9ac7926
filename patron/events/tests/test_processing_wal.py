"""SQLite: the processor's WAL checkpoints (``_wal.Checkpointer``). Passes beside the
batches end a batch behind, so once the log is long the processor waits for a pass
between two batches, in the ingest writers' queue, and the log restarts (ADR 0094)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from patron.events.models import Event
from patron.events.services import _wal
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending
from patron.events.tests.wal_helpers import (
    frames_in_log,
    wal_database,
    write_one,
    writers_queue_held,
)

pytestmark = pytest.mark.usefixtures("no_processing")


def _catching_up(checkpointer: _wal.Checkpointer) -> threading.Event:
    """``catch_up`` started on a thread; the event is set when it returns."""
    returned = threading.Event()

    def run() -> None:
        checkpointer.catch_up(timeout=30)
        returned.set()

    threading.Thread(target=run, daemon=True).start()
    return returned


def test_catching_up_waits_for_the_ingest_writers_and_restarts_the_log(tmp_path: Path) -> None:
    # given a database whose log holds many frames, and an ingest writer in its queue
    path = tmp_path / "events.sqlite3"
    wal_database(path, 2_000)
    checkpointer = _wal.Checkpointer(str(path))
    with writers_queue_held(path):
        # when the processor catches up between two batches
        caught_up = _catching_up(checkpointer)
        # then it waits for the writer to leave the queue
        assert not caught_up.wait(0.5)
    assert caught_up.wait(10)
    # and its pass copied the whole log, so the next write starts it again
    assert checkpointer.whole and checkpointer.frames == 0
    before = frames_in_log(path)
    write_one(path)
    assert frames_in_log(path) < min(before, 10)
    checkpointer.stop()
    assert checkpointer.lock_fd is None


def test_a_pass_reports_the_log_and_whether_it_copied_all_of_it(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    wal_database(path, 500)
    checkpointer = _wal.Checkpointer(str(path))
    try:
        assert checkpointer.frames == 0
        ticket = checkpointer.ask()
        with checkpointer._turn:
            assert checkpointer._turn.wait_for(lambda: checkpointer._answered >= ticket, 10)
        assert checkpointer.frames == frames_in_log(path) > 0
        assert checkpointer.whole
    finally:
        checkpointer.stop()


@pytest.mark.django_db(transaction=True)
def test_the_processor_catches_up_between_batches_once_the_log_is_long(
    source_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's write-ahead log only")
    # given 25 waiting events, and checkpoint passes that always find a long log
    source, _ = source_key
    events_ingest(
        source=source,
        messages=[
            {"type": "track", "userId": f"u{i % 5}", "event": "Seen", "messageId": f"m{i}"}
            for i in range(25)
        ],
    )
    caught_up: list[int] = []

    class LongLog(_wal.Checkpointer):
        @property  # type: ignore[override]
        def frames(self) -> int:
            return _wal.RESTART_FRAMES

        @frames.setter
        def frames(self, value: int) -> None:
            pass

        def catch_up(self, timeout: float = 30.0) -> None:
            caught_up.append(1)
            super().catch_up(timeout)

    monkeypatch.setattr(_wal, "Checkpointer", LongLog)
    # when they are processed in batches of 10
    assert events_process_pending(batch_size=10) == (25, False)
    # then the processor caught up after each committed batch, and processed them all
    assert len(caught_up) == 3
    assert Event.objects.filter(processed=True).count() == 25


def test_catching_up_does_not_wait_for_a_checkpointer_that_could_not_start(
    tmp_path: Path,
) -> None:
    # given a checkpointer whose database cannot be opened (its thread ends at once)
    path = tmp_path / "not-a-directory"
    path.write_text("x")
    checkpointer = _wal.Checkpointer(str(path / "events.sqlite3"))
    checkpointer.thread.join(10)
    assert not checkpointer.thread.is_alive()
    # when the processor catches up
    done = _catching_up(checkpointer)
    # then it returns at once (no lock file can be made there, nor a pass run)
    assert done.wait(5)


def test_catching_up_does_not_wait_for_a_pass_that_will_never_come(tmp_path: Path) -> None:
    # given a checkpointer that could not open its database, beside a lock file that can
    checkpointer = _wal.Checkpointer(str(tmp_path / "no-such-directory" / "x.sqlite3"))
    checkpointer.thread.join(10)
    assert not checkpointer.thread.is_alive()
    checkpointer.path = str(tmp_path / "x.sqlite3")  # (its lock file can be made here)
    # when the processor catches up
    done = _catching_up(checkpointer)
    # then it takes the queue, finds no thread to answer, and returns
    assert done.wait(5)
    checkpointer.stop()
