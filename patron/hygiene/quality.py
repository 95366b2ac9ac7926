"""Data quality: a score per contact with its reasons, and workspace figures (reads).

Contact score (0-100): completeness (70) + validity (30).
Workspace figures count, among the contacts the actor may see: contacts with an email /
phone, values flagged invalid, incomplete profiles, stale contacts (no update, event or
order for N months) and suspected duplicates. Daily snapshots make trends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contact_get, contacts_visible_to, require
from patron.core.permissions import P
from patron.hygiene.models import DuplicateCandidate, QualitySnapshot
from patron.hygiene.normalize import phone_is_valid

STALE_MONTHS = 12

# (code, points, test, message when the test fails)
_COMPLETENESS: list[tuple[str, int, Any, str]] = [
    ("name", 15, lambda c: bool(c.first_name or c.last_name or c.full_name), "No name."),
    ("email", 15, lambda c: bool(c.email), "No email address."),
    ("phone", 10, lambda c: bool(c.phone), "No phone number."),
    ("country", 10, lambda c: bool(c.country), "No country."),
    ("address", 10, lambda c: bool(c.city or c.postal_code), "No city or postal code."),
    ("job", 5, lambda c: bool(c.job_title) or c.memberships.exists(), "No job or company."),
    ("owner", 5, lambda c: c.owner_id is not None, "No owner."),
]


@dataclass
class ContactQuality:
    score: int
    completeness: int
    validity: int
    reasons: list[dict[str, str]] = field(default_factory=list)


def contact_quality(contact: Contact) -> ContactQuality:
    """Score and reasons for one contact (each reason has a code and a message)."""
    reasons: list[dict[str, str]] = []
    completeness = 0
    for code, points, test, message in _COMPLETENESS:
        if test(contact):
            completeness += points
        else:
            reasons.append({"code": f"missing_{code}", "message": message})
    validity = 0
    invalid = contact.invalid_fields or {}
    if contact.email and "email" not in invalid:
        validity += 10
    elif "email" in invalid:
        reasons.append({"code": "invalid_email", "message": "The email could not be validated."})
    if contact.phone and phone_is_valid(contact.phone) and "phone" not in invalid:
        validity += 10
    elif contact.phone or "phone" in invalid:
        reasons.append({"code": "invalid_phone", "message": "The phone number is not valid."})
    others = sorted(k for k in invalid if k not in ("email", "phone"))
    if not others:
        validity += 10
    for key in others:
        reasons.append({"code": "invalid_value", "message": f"{key} could not be normalised."})
    return ContactQuality(
        score=completeness + validity,
        completeness=completeness,
        validity=validity,
        reasons=reasons,
    )


def contact_quality_get(actor: User, contact_id: int) -> ContactQuality:
    return contact_quality(contact_get(actor, contact_id))


def stale_filter(cutoff: dt.datetime) -> Q:
    from patron.commerce.models import Order
    from patron.events.models import Event

    recent_event = Event.objects.filter(contact_id=OuterRef("pk"), timestamp__gte=cutoff)
    recent_order = Order.objects.filter(contact_id=OuterRef("pk"), placed_at__gte=cutoff)
    return Q(updated_at__lt=cutoff) & ~Exists(recent_event) & ~Exists(recent_order)


def quality_figures(actor: User | None, *, stale_months: int = STALE_MONTHS) -> dict[str, Any]:
    """Workspace figures over the contacts the actor may see (None: all, for snapshots)."""
    if actor is not None:
        require(actor, P.QUALITY_VIEW)
        qs = contacts_visible_to(actor)
    else:
        qs = Contact.objects.all()
    stale_months = max(1, min(int(stale_months), 120))
    cutoff = timezone.now() - dt.timedelta(days=round(stale_months * 30.44))
    incomplete = (
        Q(first_name="", last_name="", full_name="") | Q(email="", phone="") | Q(country="")
    )
    agg = qs.aggregate(
        total=Count("pk"),
        with_email=Count("pk", filter=~Q(email="")),
        with_phone=Count("pk", filter=~Q(phone="")),
        invalid_email=Count("pk", filter=Q(invalid_fields__has_key="email")),
        invalid_phone=Count("pk", filter=Q(invalid_fields__has_key="phone")),
        with_invalid_values=Count("pk", filter=~Q(invalid_fields={})),
        incomplete=Count("pk", filter=incomplete),
    )
    agg["stale"] = qs.filter(stale_filter(cutoff)).count()
    pairs = DuplicateCandidate.objects.filter(status=DuplicateCandidate.Status.OPEN)
    if actor is not None and actor.is_restricted:
        visible = qs.values("pk")
        pairs = pairs.filter(contact_a__in=visible, contact_b__in=visible)
    agg["duplicate_pairs"] = pairs.count()
    ids = set(pairs.values_list("contact_a_id", flat=True)[:100_000])
    ids |= set(pairs.values_list("contact_b_id", flat=True)[:100_000])
    agg["suspected_duplicates"] = len(ids)
    total = agg["total"] or 0

    def share(n: int) -> float:
        return round(n / total, 4) if total else 0.0

    agg["shares"] = {
        "email": share(agg["with_email"]),
        "phone": share(agg["with_phone"]),
        "invalid_email": share(agg["invalid_email"]),
        "invalid_phone": share(agg["invalid_phone"]),
        "incomplete": share(agg["incomplete"]),
        "stale": share(agg["stale"]),
        "suspected_duplicates": share(agg["suspected_duplicates"]),
    }
    agg["stale_months"] = stale_months
    # Bounces arrive with the messaging app; until then this figure is not measured.
    agg["bounced_email"] = None
    return agg


def quality_trend(actor: User, *, days: int = 90) -> list[dict[str, Any]]:
    """Daily workspace snapshots (whole workspace: not for restricted roles)."""
    require(actor, P.QUALITY_VIEW)
    if actor.is_restricted:
        return []
    since = timezone.localdate() - dt.timedelta(days=max(1, min(days, 3660)))
    return [
        {"day": s.day.isoformat(), **s.figures}
        for s in QualitySnapshot.objects.filter(day__gte=since).order_by("day")
    ]
