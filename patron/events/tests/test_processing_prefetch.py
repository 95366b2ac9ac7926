"""The event processor's next-batch read on a second connection (``_prefetch``): every
event processed exactly once, late-committed lower ids included; a stale guess rolls back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from patron.contacts.models import Contact
from patron.events.models import ContactEventSummary, Event
from patron.events.services import processing
from patron.events.services._prefetch import Prefetcher
from patron.events.services.ingest import events_ingest

pytestmark = pytest.mark.usefixtures("no_processing")


def _backlog(source: Any, n: int, users: int = 3) -> list[int]:
    events_ingest(
        source=source,
        messages=[
            {"type": "track", "userId": f"u{i % users}", "event": "Clicked", "messageId": f"m{i}"}
            for i in range(n)
        ],
    )
    return list(Event.objects.order_by("id").values_list("id", flat=True))


def _prefetcher(limit: int) -> Prefetcher:
    return Prefetcher(
        read_sql=processing.unprocessed_sql(after=True),
        late_sql=processing._late_sql(),
        decode=processing._events_from_rows,
        limit=limit,
    )


def _counted() -> int:
    return int(ContactEventSummary.objects.aggregate(n=Sum("event_count"))["n"] or 0)


@pytest.mark.django_db(transaction=True)
def test_the_guess_is_the_next_batch_unless_a_lower_id_came_late(source_key):
    # Given 25 waiting events of which one with a low id is not visible yet (as an
    # ingest transaction that commits late), and a batch of the first 10 being done
    source, _ = source_key
    ids = _backlog(source, 25)
    late = ids[3]
    Event.objects.filter(pk=late).update(processed=True)
    batch = [pk for pk in ids[:11] if pk != late]
    prefetcher = _prefetcher(limit=10)
    try:
        # When the next batch is read on the second connection
        prefetcher.start(batch)
        guess = prefetcher.take()
        # Then it is the 10 events after the batch, oldest first
        assert guess is not None
        assert [e.pk for e in guess] == ids[11:21]
        assert {e.user_id for e in guess} == {"u0", "u1", "u2"}
        assert all(e.timestamp is not None and e.timestamp.tzinfo for e in guess)
        # And once the late event is committed (visible, unprocessed), the guess is
        # dropped: the next batch reads afresh, oldest first
        Event.objects.filter(pk=late).update(processed=False)
        prefetcher.start(batch)
        assert prefetcher.take() is None
        assert (prefetcher.used, prefetcher.dropped) == (1, 1)
    finally:
        prefetcher.close()


@pytest.mark.django_db(transaction=True)
def test_a_late_committed_lower_id_is_processed_exactly_once(source_key, monkeypatch):
    # Given 45 waiting events, one with a low id committed only after the first batch
    source, _ = source_key
    ids = _backlog(source, 45)
    late = ids[2]
    Event.objects.filter(pk=late).update(processed=True)
    taken: list[bool] = []
    original_take = Prefetcher.take

    def take(self: Prefetcher) -> list[Event] | None:
        guess = original_take(self)
        taken.append(guess is not None)
        if len(taken) == 1:
            Event.objects.filter(pk=late).update(processed=False)  # the late commit
        return guess

    monkeypatch.setattr(Prefetcher, "take", take)
    # When the processor works the backlog off in batches of 10
    total = sum(processing.events_process_batches(batch_size=10, prefetch_sqlite=True))
    # Then every event is processed once, the late one included, and counted once
    assert total == 45
    assert not Event.objects.filter(processed=False).exists()
    assert Event.objects.filter(contact__isnull=True).count() == 0
    assert _counted() == 45
    assert Contact.objects.count() == 3
    # And the prefetch ran (a file or server database; on SQLite only when asked for):
    # guesses used, one dropped
    assert True in taken and False in taken


@pytest.mark.django_db
@pytest.mark.django_db(transaction=True)
def test_sqlite_processes_without_the_prefetch_unless_asked(source_key, monkeypatch):
    source, _ = source_key
    _backlog(source, 25)
    taken: list[Any] = []
    monkeypatch.setattr(Prefetcher, "take", lambda self: taken.append(1))
    assert sum(processing.events_process_batches(batch_size=10)) == 25
    assert bool(taken) == (connection.vendor == "postgresql")
    assert _counted() == 25


@pytest.mark.django_db
def test_a_stale_guess_rolls_the_batch_back(source_key):
    # Given a guessed batch one of whose events another processor did meanwhile
    source, _ = source_key
    _backlog(source, 6)
    guess = processing._oldest_unprocessed(6)
    Event.objects.filter(pk=guess[0].pk).update(processed=True)
    # When a batch is processed from the guess
    with pytest.raises(processing.StaleBatch):
        processing.events_process_batch(batch_size=6, prefetched=guess)
    # Then nothing of it stays: no contact, no aggregates, the other events unprocessed
    assert not Contact.objects.exists()
    assert _counted() == 0
    assert Event.objects.filter(processed=False).count() == 5
    # And the processor, reading afresh, does the 5 that are left once
    assert processing.events_process_pending() == (5, False)
    assert _counted() == 5


@pytest.mark.django_db
def test_the_command_runs_the_checkpoint_thread_and_the_shared_loop(source_key, monkeypatch):
    from io import StringIO

    from django.core.management import call_command

    source, _ = source_key
    _backlog(source, 7)
    entered: list[str] = []
    inner = processing.checkpoints_aside

    @contextlib.contextmanager
    def spy() -> Iterator[Any]:
        entered.append("checkpoints")
        with inner() as checkpointer:
            yield checkpointer

    monkeypatch.setattr(processing, "checkpoints_aside", spy)
    out = StringIO()
    call_command("events", "process", "--no-progress", "--batch-size", "3", stdout=out)
    assert entered == ["checkpoints"]
    assert "Processed 7 events" in out.getvalue()
    assert _counted() == 7


@pytest.mark.django_db(transaction=True)
def test_only_a_full_batch_starts_the_next_read(source_key, monkeypatch):
    # Given 25 waiting events, worked in batches of 10
    source, _ = source_key
    _backlog(source, 25)
    started: list[int] = []
    original_start = Prefetcher.start

    def start(self: Prefetcher, batch_ids: Any) -> None:
        started.append(len(batch_ids))
        original_start(self, batch_ids)

    monkeypatch.setattr(Prefetcher, "start", start)
    assert list(processing.events_process_batches(batch_size=10, prefetch_sqlite=True)) == [
        10,
        10,
        5,
    ]
    # Then the two full batches started a read of what follows, the last (partial) one not
    assert started == [10, 10]
    # And a run that finds a partial batch opens no second connection at all
    result = events_ingest(
        source=source,
        messages=[{"type": "track", "userId": "u1", "event": "Clicked", "messageId": "x1"}],
    )
    assert result.accepted == 1
    assert list(processing.events_process_batches(batch_size=10, prefetch_sqlite=True)) == [1]
    assert started == [10, 10]
    assert _counted() == 26
