"""``patron worker``: runs queued tasks from the database."""

from __future__ import annotations

import io
import os
import socket

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from patron.core.management.commands.worker import Command, default_worker_id
from patron.core.models import Activity
from patron.core.tests.sample_tasks import record_ping


@pytest.mark.django_db(transaction=True)  # the worker commits and closes connections itself
def test_worker_runs_queued_tasks_and_records_results():
    # given two queued tasks
    first = record_ping.enqueue("one")
    second = record_ping.enqueue("two")
    assert not Activity.objects.filter(verb="test.ping").exists()
    # when a worker processes the queue in batch mode
    call_command("worker", "--batch", "--no-startup-delay", verbosity=0, stdout=io.StringIO())
    # then both tasks ran (through the service) and their results are stored
    labels = sorted(
        Activity.objects.filter(verb="test.ping").values_list("subject_label", flat=True)
    )
    assert labels == ["one", "two"]
    for result in (first, second):
        db_result = DBTaskResult.objects.get(id=result.id)
        assert db_result.status == "SUCCESSFUL"
        assert db_result.worker_ids == [default_worker_id()]


@pytest.mark.django_db(transaction=True)
def test_worker_max_tasks_leaves_the_rest_queued():
    record_ping.enqueue("a")
    record_ping.enqueue("b")
    call_command(
        "worker",
        "--batch",
        "--no-startup-delay",
        "--max-tasks",
        "1",
        verbosity=0,
        stdout=io.StringIO(),
    )
    statuses = sorted(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == ["READY", "SUCCESSFUL"]


def test_worker_defaults_suit_production():
    parser = Command().create_parser("patron", "worker")
    options = parser.parse_args([])
    assert options.queue_name == "*"  # every queue
    assert options.reload is False  # never restarts mid-task, even with DEBUG on
    assert options.worker_id == default_worker_id()


def test_default_worker_id_names_host_and_process(monkeypatch):
    assert default_worker_id() == f"{socket.gethostname()}-{os.getpid()}"[:64]
    # a long host name is cut so the id fits the 64-character limit and keeps the pid
    monkeypatch.setattr(socket, "gethostname", lambda: "h" * 100)
    worker_id = default_worker_id()
    assert len(worker_id) == 64
    assert worker_id.endswith(f"-{os.getpid()}")


def test_worker_passes_db_worker_options_through():
    parser = Command().create_parser("patron", "worker")
    options = parser.parse_args(["--queue-name", "default", "--interval", "0.5", "--reload"])
    assert (options.queue_name, options.interval, options.reload) == ("default", 0.5, True)
