"""Imported contacts move in and out of live segments once their chunk commits."""

from __future__ import annotations

from typing import Any

import pytest

from patron.contacts.services import contact_create
from patron.imports.services import import_job_create, import_job_run, import_job_start
from patron.imports.services.rollback import import_job_rollback
from patron.segments.models import SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _members(seg: Any) -> set[str]:
    return set(
        SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True).values_list(
            "contact__email", flat=True
        )
    )


def test_import_and_rollback_reach_live_segments(
    admin_user_p: Any, write_csv: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a live segment of people in Berlin, and Bob, who lives in Rome
    with django_capture_on_commit_callbacks(execute=True):
        contact_create(
            actor=admin_user_p,
            data={"first_name": "Bob", "email": "bob@example.com", "city": "Rome"},
        )
    seg = segment_create(actor=admin_user_p, data={"name": "Berlin", "text": 'city = "Berlin"'})
    segment_build(segment_id=seg.pk)
    assert _members(seg) == set()
    path = write_csv(
        [
            ["First name", "Email", "City"],
            ["Ada", "ada@example.com", "Berlin"],
            ["Bob", "bob@example.com", "Berlin"],
        ]
    )
    # When a file creates Ada and moves Bob to Berlin
    job = import_job_create(actor=admin_user_p, path=path, file_name="people.csv")
    with django_capture_on_commit_callbacks(execute=True):
        import_job_start(actor=admin_user_p, job=job, enqueue=False)
        import_job_run(job_id=job.pk, workers=0)
    # Then both entered the segment
    assert _members(seg) == {"ada@example.com", "bob@example.com"}
    # And rolling the import back removes Ada and takes Bob (back in Rome) out again
    with django_capture_on_commit_callbacks(execute=True):
        import_job_rollback(actor=admin_user_p, job=job.pk)
    assert _members(seg) == set()
    bob_stay = SegmentMembership.objects.get(segment=seg, contact__email="bob@example.com")
    assert bob_stay.exited_at is not None
