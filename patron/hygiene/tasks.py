"""Background tasks of the hygiene app. They take ids, are idempotent, and call services."""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

logger = logging.getLogger(__name__)


@task()
def duplicates_refresh(contact_id: int) -> int:
    """Refresh the review-queue entries of one contact."""
    from patron.hygiene.services.duplicates import duplicate_candidates_refresh

    return duplicate_candidates_refresh(actor=None, contact_id=contact_id)


@task()
def quality_snapshot_daily() -> str:
    """Take today's data-quality snapshot (idempotent: one per day)."""
    from patron.hygiene.services.quality import quality_snapshot_take

    return quality_snapshot_take(actor=None).day.isoformat()


def _enqueue(contact_id: int) -> None:
    try:
        duplicates_refresh.enqueue(contact_id)
    except Exception:  # the queue catches up with `patron dedupe scan`
        logger.exception("hygiene: could not enqueue duplicates_refresh(%s)", contact_id)


def enqueue_duplicate_refresh(contact_id: int) -> None:
    """After commit, look for duplicates of this contact (create, update, import, merge)."""
    transaction.on_commit(lambda: _enqueue(contact_id))


@task()
def duplicates_scan_task(actor_id: int | None = None) -> int:
    """Run the whole-database scan (Splink); returns the ScanRun id."""
    from patron.accounts.models import User
    from patron.hygiene.services.scan import duplicates_scan

    actor = User.objects.filter(pk=actor_id, is_active=True).first() if actor_id else None
    if actor_id and actor is None:
        return 0
    return duplicates_scan(actor=actor).run_id or 0


def enqueue_scan(actor_id: int | None) -> None:
    def run() -> None:
        try:
            duplicates_scan_task.enqueue(actor_id)
        except Exception:
            logger.exception("hygiene: could not enqueue duplicates_scan_task")

    transaction.on_commit(run)
