"""A task for testing the worker commands: it calls a service, as real tasks do."""

from __future__ import annotations

from django_tasks import task

from patron.core.services import activity_record


@task()
def record_ping(label: str) -> str:
    activity_record(actor=None, verb="test.ping", subject_type="test", subject_label=label)
    return label
