"""Daily data-quality snapshots (for trends)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.selectors import require
from patron.core.permissions import P
from patron.core.services import activity_record
from patron.hygiene.models import QualitySnapshot
from patron.hygiene.quality import quality_figures


@transaction.atomic
def quality_snapshot_take(*, actor: User | None) -> QualitySnapshot:
    """Today's workspace figures; taking it again the same day replaces them (idempotent)."""
    if actor is not None:
        require(actor, P.QUALITY_VIEW)
        require(actor, P.SETTINGS_MANAGE)
    figures = quality_figures(None)
    snap, _ = QualitySnapshot.objects.update_or_create(
        day=timezone.localdate(), defaults={"figures": figures}
    )
    activity_record(
        actor=actor,
        verb="quality.snapshot_taken",
        subject=snap,
        changes={"after": {"total": figures["total"], "day": snap.day}},
    )
    return snap
