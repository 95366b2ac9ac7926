"""The event processor: aggregates, crash recovery and scheduling."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from patron.contacts.models import Contact, ContactIdentity
from patron.events.models import (
    ContactEventCount,
    ContactEventSummary,
    Event,
)
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending
from patron.events.tests.processing_helpers import T0, at, run, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def test_aggregates_count_events_sessions_and_views(source_key):
    source, _ = source_key
    send(
        source,
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": at(0)},
        {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(5)},
        {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(10)},
        {"type": "screen", "userId": "u1", "name": "Cart", "timestamp": at(12)},
        # 2 hours later: a second session
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": at(130)},
    )
    run()
    send(source, {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(300)})
    run()
    contact = Contact.objects.get()
    summary = ContactEventSummary.objects.get(contact=contact)
    assert (summary.event_count, summary.page_views, summary.screen_views, summary.sessions) == (
        6,
        2,
        1,
        3,
    )
    assert summary.first_seen == T0 and summary.last_seen == T0 + dt.timedelta(minutes=300)
    row = ContactEventCount.objects.get(contact=contact, event="Added to Cart")
    assert row.count == 3 and row.last_at == T0 + dt.timedelta(minutes=300)
    assert row.first_at == T0 + dt.timedelta(minutes=5)


def test_processing_resumes_after_a_crash_half_way_without_loss_or_double_counting(
    source_key, monkeypatch
):
    # given 25 events of 5 users, processed in batches of 10
    source, _ = source_key
    messages = [
        {
            "type": "track",
            "userId": f"u{i % 5}",
            "event": "Clicked",
            "timestamp": at(i),
            "messageId": f"c{i}",
        }
        for i in range(25)
    ]
    events_ingest(source=source, messages=messages, received_at=T0 + dt.timedelta(days=1))
    from patron.events.services import processing

    real = processing.aggregates_apply
    calls = {"n": 0}

    def crash_on_second_batch(rows: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        real(rows, **kwargs)
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # after writes of batch 2, before its commit

    monkeypatch.setattr(processing, "aggregates_apply", crash_on_second_batch)
    # when the worker dies in the middle of the second batch
    with pytest.raises(SystemExit):
        events_process_pending(batch_size=10)
    # then the first batch is committed and the second left no trace
    assert Event.objects.filter(processed=True).count() == 10
    assert sum(ContactEventCount.objects.values_list("count", flat=True)) == 10
    # and a restarted worker finishes the rest exactly once
    monkeypatch.setattr(processing, "aggregates_apply", real)
    assert events_process_pending(batch_size=10) == (15, False)
    assert not Event.objects.filter(processed=False).exists()
    assert Contact.objects.count() == 5
    assert sorted(ContactEventCount.objects.values_list("count", flat=True)) == [5] * 5
    assert sorted(ContactEventSummary.objects.values_list("event_count", flat=True)) == [5] * 5
    assert ContactIdentity.objects.count() == 5


def test_tracking_request_is_processed_after_commit_with_a_task_backend(
    source_key, post, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    _, key = source_key
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post("/v1/identify", {"writeKey": key, "userId": "u1", "traits": {"name": "Bo"}})
    from patron.events.tasks import events_process_schedule

    # the request's one callback schedules processing (which adds its own, for segments)
    assert response.status_code == 200 and callbacks[0] is events_process_schedule
    event = Event.objects.get()
    assert event.processed and event.contact is not None
    assert event.contact.first_name == "Bo"


def test_schedule_enqueues_once_while_a_run_is_waiting(settings, db):
    from django_tasks_db.models import DBTaskResult

    from patron.events.tasks import TASK_PATH, events_process_schedule

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    events_process_schedule()
    events_process_schedule()
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 1


def test_batch_size_comes_from_the_setting_else_from_the_database(source_key, settings):
    from django.db import connection

    from patron.events.services.processing import (
        BATCH_SIZE_BY_VENDOR,
        default_batch_size,
        events_process_batches,
    )

    # given 10 waiting events and PATRON_PROCESSOR_BATCH_SIZE = 4
    source, _ = source_key
    send(source, *({"type": "track", "userId": f"u{i}", "event": "Clicked"} for i in range(10)))
    settings.PATRON_PROCESSOR_BATCH_SIZE = 4
    # then batches hold at most 4 events
    assert default_batch_size() == 4
    assert list(events_process_batches()) == [4, 4, 2]
    assert not Event.objects.filter(processed=False).exists()
    # and without the setting each database has its own size
    settings.PATRON_PROCESSOR_BATCH_SIZE = 0
    assert default_batch_size() == BATCH_SIZE_BY_VENDOR[connection.vendor]
