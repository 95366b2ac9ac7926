"""Background tasks of privacy: the retention purge of stored import uploads (ADR 0088).

On the database task backend the purge schedules itself: each upload makes sure a purge
is pending no later than the day it could expire, and each purge schedules the next at
the earliest expiry of what it kept. With another backend (no delayed tasks), run
``patron privacy purge-uploads`` from cron (daily is enough).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

PURGE_PATH = "patron.privacy.tasks.import_uploads_purge_task"


@task()
def import_uploads_purge_task() -> int:
    """Delete stored uploads past retention; schedule the next look. Idempotent."""
    from patron.privacy.services.retention import import_uploads_purge

    result = import_uploads_purge()
    if result.next_due is not None:
        uploads_purge_schedule(result.next_due, running=True)
    return result.files


def _uses_database_backend() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db.")


def uploads_purge_schedule(at: dt.datetime | None = None, *, running: bool = False) -> None:
    """Make sure a purge runs at ``at`` (default: when an upload stored now could expire)
    or earlier. Database backend only; after commit unless called from the task itself."""
    from patron.privacy.services.retention import upload_retention_days

    if not _uses_database_backend():
        return
    try:
        days = upload_retention_days()
    except ImproperlyConfigured:
        logger.exception("privacy: the upload retention setting is invalid; no purge scheduled")
        return
    if days is None:
        return
    when = max(at or timezone.now() + dt.timedelta(days=days), timezone.now())

    def enqueue() -> None:
        from django.db.models import Q
        from django_tasks_db.models import DBTaskResult, get_date_max

        # django-tasks-db stores "no run_after" as the largest date, never NULL.
        pending = DBTaskResult.objects.filter(task_path=PURGE_PATH, status="READY").filter(
            Q(run_after=get_date_max()) | Q(run_after__lte=when)
        )
        if pending.exists():
            return
        try:
            import_uploads_purge_task.using(run_after=when).enqueue()
        except Exception:
            logger.exception("privacy: could not schedule the upload retention purge")

    if running:
        enqueue()
    else:
        transaction.on_commit(enqueue)
