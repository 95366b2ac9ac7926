"""``patron events process|status``: the catch-up for unprocessed events."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from patron.contacts.models import Contact
from patron.events.models import ContactEventSummary, Event
from patron.events.services.ingest import events_ingest

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def run(*args: str) -> str:
    out = StringIO()
    call_command("events", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def backlog(source, n: int, user: str = "u1") -> None:
    events_ingest(
        source=source,
        messages=[
            {"type": "track", "userId": user, "event": "Clicked", "messageId": f"{user}-{i}"}
            for i in range(n)
        ],
    )


def test_status_says_how_many_wait(source_key):
    source, _ = source_key
    assert "No events waiting" in run("status")
    backlog(source, 3)
    assert "3 events waiting" in run("status")


def test_process_until_empty_works_off_the_whole_backlog_in_batches(source_key):
    # Given 25 unprocessed events of one user (the queue was down)
    source, _ = source_key
    backlog(source, 25)
    # When the catch-up runs with small batches
    out = run("process", "--until-empty", "--batch-size", "10", "--no-progress")
    # Then everything is processed once: one contact, 25 events counted
    assert "Processed 25 events" in out and "None waiting" in out
    assert not Event.objects.filter(processed=False).exists()
    contact = Contact.objects.get()
    assert ContactEventSummary.objects.get(contact=contact).event_count == 25
    # and a second run finds nothing to do and changes nothing
    assert "Processed 0 events" in run("process", "--until-empty", "--no-progress")
    assert ContactEventSummary.objects.get(contact=contact).event_count == 25


def test_process_stops_at_its_time_limit_and_says_what_is_left(source_key, monkeypatch):
    from patron.events.management.commands import events as command

    source, _ = source_key
    backlog(source, 30)
    clock = iter(range(0, 10_000, 100))  # every look at the clock: 100 s later
    monkeypatch.setattr(command.time, "monotonic", lambda: float(next(clock)))
    out = run("process", "--max-seconds", "150", "--batch-size", "10", "--no-progress")
    assert "Processed 10 events" in out and "20 still waiting" in out
    assert Event.objects.filter(processed=False).count() == 20


def test_process_refuses_bad_options(source_key):
    with pytest.raises(CommandError):
        run("process", "--batch-size", "0")
    with pytest.raises((CommandError, ValueError)):
        run("process", "--max-seconds", "-1")
    with pytest.raises(CommandError):
        run("frobnicate")
