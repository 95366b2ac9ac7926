"""Auto-merge: off unless an admin turns it on, above a threshold the admin chooses.

Each auto-merge is an ordinary ``contact_merge`` (journaled with before-images, marked
``automatic``, undoable from the journal). The older contact (smaller id) survives;
field values follow the admin's survivorship rule. Dismissed pairs are never merged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.selectors import require
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.models import DuplicateCandidate, HygieneSettings, MergeRecord
from patron.hygiene.selectors import hygiene_settings_get
from patron.hygiene.services.merge import contact_merge

logger = logging.getLogger(__name__)
MAX_PER_RUN = 1000


def _require_admin(actor: User) -> None:
    require(actor, P.SETTINGS_MANAGE)
    if actor.is_restricted:
        raise PermissionDenied("Only administrators can change auto-merge.")


@transaction.atomic
def hygiene_settings_update(
    *,
    actor: User,
    auto_merge_enabled: bool,
    auto_merge_threshold: float,
    auto_merge_rule: str = MergeRecord.Rule.MOST_COMPLETE,
) -> HygieneSettings:
    """Turn auto-merge on or off and set its threshold (administrators only)."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    try:
        threshold = float(auto_merge_threshold)
    except (TypeError, ValueError):
        threshold = -1.0
    if not HygieneSettings.AUTO_MERGE_FLOOR <= threshold <= 1.0:
        errors["auto_merge_threshold"] = [
            f"Choose a threshold between {HygieneSettings.AUTO_MERGE_FLOOR} and 1."
        ]
    if auto_merge_rule not in MergeRecord.Rule.values:
        errors["auto_merge_rule"] = ["Unknown survivorship rule."]
    if errors:
        raise ValidationError(errors)
    obj, _ = HygieneSettings.objects.select_for_update().get_or_create(pk=1)
    fields = ("auto_merge_enabled", "auto_merge_threshold", "auto_merge_rule")
    before = {f: getattr(obj, f) for f in fields}
    obj.auto_merge_enabled = bool(auto_merge_enabled)
    obj.auto_merge_threshold = round(threshold, 4)
    obj.auto_merge_rule = auto_merge_rule
    obj.updated_by = actor
    obj.save(update_fields=[*fields, "updated_by", "updated_at"])
    after = {f: getattr(obj, f) for f in fields}
    activity_record(
        actor=actor,
        verb="hygiene.settings_updated",
        subject=obj,
        changes={
            "before": {k: v for k, v in before.items() if after[k] != v},
            "after": {k: v for k, v in after.items() if before[k] != v},
        },
    )
    return obj


def duplicates_auto_merge(
    *, actor: User | None = None, contact_id: int | None = None, limit: int = MAX_PER_RUN
) -> int:
    """Merge open pairs at or above the admin's threshold; returns how many were merged.

    Runs as the system (after a scan, after a contact's real-time check). Each merge is
    its own transaction; a pair whose contact is already gone is skipped.
    """
    if actor is not None:
        _require_admin(actor)
    config = hygiene_settings_get()
    if not config.auto_merge_enabled:
        return 0
    qs = DuplicateCandidate.objects.filter(
        status=DuplicateCandidate.Status.OPEN, score__gte=config.auto_merge_threshold
    )
    if contact_id is not None:
        from django.db.models import Q

        qs = qs.filter(Q(contact_a_id=contact_id) | Q(contact_b_id=contact_id))
    merged = 0
    gone: set[int] = set()
    pairs: list[Any] = list(
        qs.order_by("-score", "id").values_list("contact_a_id", "contact_b_id", "score")[:limit]
    )
    for a, b, score in pairs:
        if a in gone or b in gone:
            continue
        try:
            with transaction.atomic():
                contact_merge(
                    actor=None,
                    survivor=a,
                    merged=b,
                    rule=config.auto_merge_rule,
                    automatic=True,
                )
        except (PermissionDenied, ValidationError):
            logger.info("auto-merge: pair %s~%s skipped (changed meanwhile)", a, b)
            continue
        gone.add(b)
        merged += 1
        logger.info("auto-merge: %s into %s (score %.4f)", b, a, score)
    return merged
