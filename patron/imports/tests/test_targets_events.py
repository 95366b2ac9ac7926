"""Importing events (historical backfill) through the tracking API's ingest service."""

from __future__ import annotations

from typing import Any

import pytest

from patron.contacts.models import Contact
from patron.core.tests.api_client import db_state
from patron.events.models import ContactEventCount, Event, Source
from patron.events.services.processing import events_process_pending
from patron.imports.mapping import auto_map
from patron.imports.selectors import import_report_rows
from patron.imports.services import import_job_rollback
from patron.imports.targets.events import SOURCE_NAME
from patron.imports.tests.target_helpers import assert_only_import_state_changed, check, run

pytestmark = pytest.mark.django_db

HEADER = ["Type", "Event", "User ID", "Anonymous ID", "E-Mail", "Zeitstempel", "Message ID",
          "Properties", "Traits"]  # fmt: skip
ROWS = [
    HEADER,
    ["identify", "", "u1", "", "jane@example.com", "2023-01-02T10:00:00Z", "m1", "",
     '{"first_name": "Jane"}'],
    ["track", "Order Completed", "u1", "", "", "2023-01-03T10:00:00Z", "m2",
     '{"revenue": 12.5}', ""],
    ["track", "Viewed", "", "anon-9", "", "2023-01-04", "", "", ""],
    ["track", "Viewed", "", "anon-9", "", "2023-01-04", "", "", ""],  # same content: same id
    ["track", "", "u1", "", "", "2023-01-05", "m5", "", ""],  # track without event name
    ["track", "Bad", "u1", "", "", "2023-01-05", "m6", "[1, 2]", ""],  # properties not object
    ["track", "Later", "", "", "", "2023-01-05", "m7", "", ""],  # no user or anonymous id
]  # fmt: skip


def test_segment_export_headers_map() -> None:
    assert auto_map(HEADER, target="events") == {
        "Type": "type",
        "Event": "event",
        "User ID": "user_id",
        "Anonymous ID": "anonymous_id",
        "E-Mail": "email",
        "Zeitstempel": "timestamp",
        "Message ID": "message_id",
        "Properties": "properties",
        "Traits": "traits",
    }


def test_dry_run_stores_no_event(admin_user_p: Any, write_csv: Any) -> None:
    path = write_csv(ROWS)
    before = db_state()
    job = check(admin_user_p, path, "events")
    assert job.preview["counts"] == {
        "created": 3,
        "updated": 0,
        "unchanged": 1,
        "error": 3,
        "skipped": 0,
    }
    issues = {i["row"]: i for i in job.preview["issues"]}
    assert "event name" in issues[6]["reason"]
    assert issues[7]["column"] == "Properties"
    assert "userId or anonymousId" in issues[8]["reason"]
    assert not Event.objects.exists() and not Source.objects.exists()
    assert_only_import_state_changed(before, db_state())


def test_run_processes_like_tracking_then_reimport_and_rollback(
    admin_user_p: Any, write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = write_csv(ROWS)
    with django_capture_on_commit_callbacks(execute=False):
        checked, job = run(admin_user_p, path, "events")
    assert job.counts == checked.preview["counts"]
    source = Source.objects.get(name=SOURCE_NAME)
    stored = Event.objects.filter(source_id=source.pk)
    assert stored.count() == 3
    assert sorted(stored.values_list("message_id", flat=True))[:2] == ["m1", "m2"]
    m2 = stored.get(message_id="m2")
    assert m2.properties == {"revenue": 12.5} and m2.timestamp.year == 2023
    # The tracking pipeline's processor resolves them to a contact, as for live events
    events_process_pending(max_seconds=30)
    jane = Contact.objects.get(email="jane@example.com")
    assert jane.first_name == "Jane"
    assert ContactEventCount.objects.filter(contact=jane, event="Order Completed").exists()
    # Importing the same file again stores nothing twice
    with django_capture_on_commit_callbacks(execute=False):
        _, again = run(admin_user_p, path, "events")
    assert again.counts["created"] == 0 and again.counts["unchanged"] == 4
    assert Event.objects.count() == 3
    # The report lists created rows and rejected rows
    actions = [line[1] for line in import_report_rows(admin_user_p, job.pk)]
    assert actions.count("created") == 3 and actions.count("error") == 3
    # Rollback removes exactly the imported events and recomputes the aggregates
    rolled = import_job_rollback(actor=admin_user_p, job=job)
    assert rolled.rollback_report["removed"] == 3
    assert not Event.objects.exists()
    assert not ContactEventCount.objects.filter(contact=jane).exists()


def test_events_import_needs_contact_permissions(support_user_p: Any, write_csv: Any) -> None:
    from patron.core.permissions import PermissionDenied
    from patron.imports.services import import_job_create

    with pytest.raises(PermissionDenied):
        import_job_create(
            actor=support_user_p, path=write_csv(ROWS), file_name="e.csv", target="events"
        )
    assert not Event.objects.exists()
