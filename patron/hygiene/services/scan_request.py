"""Queue a whole-database scan from the web UI (it runs in a worker, not the request)."""

from __future__ import annotations

from django.db import transaction

from patron.accounts.models import User
from patron.core.services import activity_record
from patron.hygiene.services._scope import require_merge


@transaction.atomic
def duplicates_scan_request(*, actor: User) -> None:
    """Enqueue ``duplicates_scan_task`` after commit (merge permission required)."""
    require_merge(actor)
    activity_record(
        actor=actor,
        verb="duplicates.scan_requested",
        subject_type="hygiene",
        subject_label="Whole-database duplicate scan",
    )
    from patron.hygiene.tasks import enqueue_scan

    enqueue_scan(actor.pk)
