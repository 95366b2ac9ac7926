"""The duplicate review queue: refreshed after contact writes, reviewed by people."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.core.permissions import PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.matching import POSSIBLE, Match
from patron.hygiene.models import DuplicateCandidate
from patron.hygiene.selectors import duplicate_candidates_find
from patron.hygiene.services._scope import require_merge, scope


def candidate_upsert(
    a: int, b: int, match: Match, *, source: str = DuplicateCandidate.Source.REALTIME
) -> DuplicateCandidate:
    """Store or update one pair; a pair already dismissed or merged keeps its status."""
    lo, hi = sorted((a, b))
    obj, created = DuplicateCandidate.objects.get_or_create(
        contact_a_id=lo,
        contact_b_id=hi,
        defaults={"score": match.score, "explanation": match.explanation, "source": source},
    )
    if not created and (obj.score, obj.explanation) != (match.score, match.explanation):
        obj.score, obj.explanation = match.score, match.explanation
        obj.save(update_fields=["score", "explanation", "updated_at"])
    return obj


@transaction.atomic
def duplicate_candidates_refresh(*, actor: User | None = None, contact_id: int) -> int:
    """Recompute the open queue entries of one contact (idempotent; tasks call it).

    Queue bookkeeping, not a change to anyone's data: no activity entry.
    """
    contact = scope(actor).filter(pk=contact_id).first()
    if contact is None:
        return 0
    found = duplicate_candidates_find(contact, within=scope(actor), min_score=POSSIBLE)
    keep = set()
    for other, match in found:
        keep.add(candidate_upsert(contact.pk, other, match).pk)
    DuplicateCandidate.objects.filter(
        Q(contact_a_id=contact.pk) | Q(contact_b_id=contact.pk),
        status=DuplicateCandidate.Status.OPEN,
        source=DuplicateCandidate.Source.REALTIME,
    ).exclude(pk__in=keep).delete()
    if actor is None and keep:
        from patron.hygiene.services.automerge import duplicates_auto_merge

        duplicates_auto_merge(contact_id=contact.pk)
    return len(found)


@transaction.atomic
def duplicate_dismiss(
    *, actor: User | None, candidate: DuplicateCandidate | int
) -> DuplicateCandidate:
    """Mark a pair as "not a duplicate": it stays out of the queue for good."""
    require_merge(actor)
    pk = candidate.pk if isinstance(candidate, DuplicateCandidate) else int(candidate)
    obj = DuplicateCandidate.objects.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise PermissionDenied("No such candidate.")
    if scope(actor).filter(pk__in=[obj.contact_a_id, obj.contact_b_id]).count() != 2:
        raise PermissionDenied("No such candidate.")
    before = obj.status
    obj.status = DuplicateCandidate.Status.DISMISSED
    obj.reviewed_by = actor if getattr(actor, "pk", None) else None
    obj.reviewed_at = timezone.now()
    obj.save(update_fields=["status", "reviewed_by", "reviewed_at", "updated_at"])
    for cid in (obj.contact_a_id, obj.contact_b_id):
        activity_record(
            actor=actor,
            verb="contact.duplicate_dismissed",
            subject_type="contact",
            subject_id=cid,
            subject_label=str(Contact.objects.filter(pk=cid).first() or cid),
            contact_id=cid,
            changes={
                "before": {"status": before},
                "after": {"status": obj.status},
                "pair": [obj.contact_a_id, obj.contact_b_id],
            },
        )
    return obj
