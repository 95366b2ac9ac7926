"""``patron worker``: run background tasks from the database queue.

A thin layer over django-tasks-db's ``db_worker`` (every option of it passes through) with
defaults for running Patron: all queues, no auto-reload, and a worker id that says which
host and process claimed a task. Run more of them, on any machine that reaches the
database, to process more tasks in parallel (see docs/adr/0003-task-backend.md).
"""

from __future__ import annotations

import os
import socket
from argparse import ArgumentParser

from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


def default_worker_id() -> str:
    """``host-pid``: unique among live workers, and readable in the task table."""
    pid = str(os.getpid())
    host = socket.gethostname() or "worker"
    return f"{host[: 63 - len(pid)]}-{pid}"


class Command(DbWorkerCommand):
    help = (
        "Run a background task worker (all queues by default). "
        "Start more of them to process more tasks in parallel."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False, worker_id=default_worker_id())
        for action in parser._actions:
            if action.dest == "reload":
                action.help = (
                    "Restart the worker when code changes (development only; default: off)."
                )
            elif action.dest == "worker_id":
                action.help = "Unique id of this worker in the pool (default: host-pid)."
