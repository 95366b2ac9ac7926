"""After commit: a contact's change reaches the receiver through the task; the database
backend gets one queued run (and a delayed one for future retries); the cron command."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from patron.contacts.services.contact import contact_create, contact_update
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build
from patron.webhooks.models import WebhookDelivery
from patron.webhooks.services import endpoint_send_test
from patron.webhooks.signing import verify
from patron.webhooks.tasks import TASK_PATH, deliver_schedule
from patron.webhooks.tests.conftest import Receiver, Reply

pytestmark = pytest.mark.django_db
DB_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_a_profile_edit_is_delivered_after_commit(
    receiver: Receiver,
    make_endpoint: Any,
    admin_user_p: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.TASKS = IMMEDIATE
    seg = segment_create(actor=admin_user_p, data={"name": "Berlin", "text": 'city = "Berlin"'})
    segment_build(segment_id=seg.pk)
    _, secret = make_endpoint(receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        contact = contact_create(actor=admin_user_p, data={"first_name": "A", "city": "Berlin"})
        assert receiver.requests == []  # nothing is sent before commit
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=admin_user_p, contact=contact, data={"city": "Rome"})
    kinds = [r.body for r in receiver.requests]
    assert len(kinds) == 2
    assert b'"segment.entered"' in kinds[0] and b'"segment.exited"' in kinds[1]
    for req in receiver.requests:
        verify(secret, req.headers, req.body)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_database_backend_gets_one_queued_run_and_a_delayed_one_for_retries(
    receiver: Receiver,
    make_endpoint: Any,
    admin_user_p: Any,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django_tasks_db.models import DBTaskResult

    settings.TASKS = DB_BACKEND
    settings.PATRON_WEBHOOKS_BACKOFF_BASE = 60.0
    endpoint, _ = make_endpoint(receiver.url())
    with django_capture_on_commit_callbacks(execute=True):
        endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
        endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    queued = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY")
    assert queued.count() == 1  # the second after-commit hook saw the first run queued
    # The worker runs it: one 503 makes a retry due in the future
    receiver.reply(Reply(503))
    from patron.webhooks.tasks import webhooks_deliver

    queued.delete()
    assert webhooks_deliver.call() == 2
    retry_at = WebhookDelivery.objects.filter(status="pending").get().next_attempt_at
    assert retry_at > timezone.now() + dt.timedelta(seconds=20)
    delayed = DBTaskResult.objects.get(task_path=TASK_PATH, status="READY")
    assert delayed.run_after is not None
    assert abs((delayed.run_after - retry_at).total_seconds()) < 1
    deliver_schedule(at=retry_at + dt.timedelta(minutes=5))  # a later one is not added
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 1


def test_the_cron_command_sends_what_is_due(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, capsys: Any
) -> None:
    endpoint, _ = make_endpoint(receiver.url())
    endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    call_command("webhooks", "deliver", "--max-seconds", "10")
    assert "1 attempt(s) made." in capsys.readouterr().out
    assert len(receiver.requests) == 1
