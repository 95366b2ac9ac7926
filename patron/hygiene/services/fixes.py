"""One-click fixes of the Data quality page: re-normalise flagged contacts, tag stale ones.

Both work on the contacts the actor may see and edit, record an activity entry per
contact changed, and are idempotent (running them twice changes nothing more).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact, Tag
from patron.contacts.selectors import contacts_visible_to, require
from patron.contacts.services import contact_update
from patron.contacts.services._common import _clean_tag_names
from patron.core.models import Activity
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.quality import STALE_MONTHS, stale_filter

# Fields whose kept raw value can be fed back through the normaliser. Lists of secondary
# emails/phones are not: re-sending them would replace the identities the contact has.
RENORMALISABLE = (
    "email",
    "phone",
    "country",
    "postal_code",
    "birthday",
    "full_name",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
)
MAX_PER_CLICK = 5000


@dataclass
class FixResult:
    examined: int = 0
    changed: int = 0
    remaining: int = 0
    details: dict[str, int] = field(default_factory=dict)


def contacts_renormalize(*, actor: User, limit: int = MAX_PER_CLICK) -> FixResult:
    """Run the normaliser again over contacts with values flagged invalid.

    A value that normalises now (say, after the contact's country or the workspace's
    default region was set) replaces the typed column and loses its flag; one that still
    does not stays flagged, as entered. Each contact goes through ``contact_update``
    (its own transaction and activity entry).
    """
    require(actor, P.QUALITY_VIEW)
    require(actor, P.CONTACT_EDIT)
    flagged = contacts_visible_to(actor).exclude(invalid_fields={}).order_by("pk")
    result = FixResult()
    for contact in flagged[:limit]:
        result.examined += 1
        data = {
            k: (v or {}).get("value") if isinstance(v, dict) else v
            for k, v in (contact.invalid_fields or {}).items()
            if k in RENORMALISABLE
        }
        if not data:
            continue
        before = set(contact.invalid_fields)
        try:
            updated = contact_update(actor=actor, contact=contact, data=data, on_invalid="flag")
        except (ValidationError, PermissionDenied):
            continue
        fixed = before - set(updated.invalid_fields or {})
        if fixed:
            result.changed += 1
            for key in fixed:
                result.details[key] = result.details.get(key, 0) + 1
    result.remaining = max(0, flagged.count() - result.changed) if result.examined else 0
    return result


@transaction.atomic
def contacts_stale_tag(
    *,
    actor: User,
    stale_months: int = STALE_MONTHS,
    tag_name: str = "stale",
    limit: int = 50_000,
) -> FixResult:
    """Tag every stale contact the actor may see (no update, event or order for N months)."""
    require(actor, P.QUALITY_VIEW)
    require(actor, P.CONTACT_EDIT)
    require(actor, P.TAG_MANAGE)
    names = _clean_tag_names([tag_name])
    if not names:
        raise ValidationError({"tag": ["Enter a tag name."]})
    months = max(1, min(int(stale_months), 120))
    cutoff = timezone.now() - dt.timedelta(days=round(months * 30.44))
    tag, _ = Tag.objects.get_or_create(name=names[0])
    through = Contact.tags.through
    stale = contacts_visible_to(actor).filter(stale_filter(cutoff)).exclude(tags=tag)
    ids = list(stale.order_by("pk").values_list("pk", flat=True)[:limit])
    result = FixResult(examined=len(ids))
    if not ids:
        return result
    labels = dict(Contact.objects.filter(pk__in=ids).values_list("pk", "full_name"))
    through.objects.bulk_create(
        [through(contact_id=cid, tag_id=tag.pk) for cid in ids],
        batch_size=2000,
        ignore_conflicts=True,
    )
    actor_label = str(actor)[:200]
    Activity.objects.bulk_create(
        [
            Activity(
                actor=actor,
                actor_label=actor_label,
                verb="contact.tagged",
                subject_type="contact",
                subject_id=cid,
                subject_label=(labels.get(cid) or f"Contact {cid}")[:300],
                contact_id=cid,
                changes={"after": {"tag": tag.name}, "reason": f"stale {months} months"},
            )
            for cid in ids
        ],
        batch_size=2000,
    )
    activity_record(
        actor=actor,
        verb="quality.stale_tagged",
        subject=tag,
        changes={"after": {"tag": tag.name, "contacts": len(ids), "stale_months": months}},
    )
    result.changed = len(ids)
    result.remaining = stale.count()
    return result
