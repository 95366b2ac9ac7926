"""Background tasks of the events app: processing accepted events after commit.

``events_process`` takes no ids: it works through every unprocessed event (oldest first,
in batches, each batch in one transaction) until none are left, so it is idempotent and
any run picks up whatever an interrupted run left behind.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

logger = logging.getLogger(__name__)

TASK_PATH = "patron.events.tasks.events_process"


@task()
def events_process(max_seconds: float = 60.0) -> int:
    """Process unprocessed events; returns how many. Re-enqueues itself if time ran out."""
    from patron.events.services.processing import events_process_pending

    processed, more = events_process_pending(max_seconds=max_seconds)
    if more:
        events_process.enqueue(max_seconds=max_seconds)
    return processed


def _uses_database_backend() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db.")


def events_process_schedule() -> None:
    """Enqueue processing unless a run that has not started yet is already queued.

    A queued (READY) run will see everything committed before it starts, so one is
    enough; a RUNNING one might already be past our events, so it does not count.
    """
    if _uses_database_backend():
        from django_tasks_db.models import DBTaskResult

        if DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").exists():
            return
    try:
        events_process.enqueue()
    except Exception:  # the events are stored; `patron events process` catches up
        logger.exception("events: could not enqueue processing")
