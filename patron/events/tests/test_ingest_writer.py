"""Ingest's SQLite writer lock: one write transaction per process at a time, never
inside an outer transaction (which may hold SQLite's lock already)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from patron.events.models import Event
from patron.events.services import ingest, source_create

pytestmark = pytest.mark.usefixtures("no_processing")


class RecordingLock:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken = 0
        self.in_transaction: list[bool] = []

    def __enter__(self) -> None:
        self.lock.acquire()
        self.taken += 1
        self.in_transaction.append(connection.in_atomic_block)

    def __exit__(self, *exc: Any) -> None:
        self.lock.release()


def _messages(prefix: str, n: int) -> list[dict[str, Any]]:
    return [
        {"type": "track", "userId": f"u{i}", "event": "Clicked", "messageId": f"{prefix}-{i}"}
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_sqlite_ingest_writes_hold_the_process_lock_around_their_transaction(monkeypatch):
    # given a recording lock in place of the writer lock
    lock = RecordingLock()
    monkeypatch.setattr(ingest, "_SQLITE_WRITER", lock)
    source, _ = source_create(actor=None, name="Website")
    # when events are ingested outside any transaction
    result = ingest.events_ingest(source=source, messages=_messages("a", 3))
    # then they are stored, and on SQLite the lock was taken before the transaction began
    assert result.accepted == 3 and Event.objects.count() == 3
    if connection.vendor == "sqlite":
        assert (lock.taken, lock.in_transaction) == (1, [False])
    else:
        assert lock.taken == 0  # PostgreSQL has row-level locks, not one writer
    # when ingest runs inside a caller's transaction, it does not wait for the lock
    with transaction.atomic():
        result = ingest.events_ingest(source=source, messages=_messages("b", 2))
    assert result.accepted == 2 and lock.taken == (1 if connection.vendor == "sqlite" else 0)
