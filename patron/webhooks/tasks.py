"""Background sending of webhook deliveries (django-tasks; docs/adr/0003, 0050).

``webhooks_deliver`` takes no ids: each run sweeps every due pending delivery (those
just written, retries whose time has come, and any whose worker died), so one queued
run is enough and running it twice is harmless. When nothing is due now it schedules
itself for the earliest retry (database backend: ``run_after``); ``patron webhooks
deliver`` from cron does the same on other backends.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

TASK_PATH = "patron.webhooks.tasks.webhooks_deliver"


@task()
def webhooks_deliver(max_seconds: float = 50.0) -> int:
    from patron.webhooks.services.delivery import deliveries_send_due, next_due

    done, more = deliveries_send_due(max_seconds=max_seconds)
    if more:
        deliver_schedule()
    else:
        upcoming = next_due()
        if upcoming is not None:
            deliver_schedule(at=upcoming)
    return done


def _uses_database_backend() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db.")


def deliver_schedule(at: dt.datetime | None = None) -> None:
    """Make sure a delivery run starts at ``at`` (default now) or earlier.

    Call it after commit. A queued run that has not started yet and starts no later
    than ``at`` will see everything committed before it starts, so it is enough.
    """
    try:
        if _uses_database_backend():
            from django.db.models import Q
            from django_tasks_db.models import DBTaskResult, get_date_max

            when = at or timezone.now()
            # A task enqueued without run_after stores the largest date instead.
            queued = DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").filter(
                Q(run_after=get_date_max()) | Q(run_after__lte=when)
            )
            if queued.exists():
                return
            if at is not None and at > timezone.now():
                webhooks_deliver.using(run_after=at).enqueue()
                return
        elif at is not None and at > timezone.now():
            return  # no delayed tasks on this backend: the next run or cron picks it up
        webhooks_deliver.enqueue()
    except Exception:  # the deliveries are stored; the next run or cron sends them
        logger.exception("webhooks: could not enqueue delivery")
