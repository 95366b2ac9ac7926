"""Scoped reads the web UI needs beyond ``patron.contacts.selectors``.

Every function takes the acting user and returns only what that user may see. Most could
move into their domain app's ``selectors.py`` once its owners want them there.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from patron.accounts.models import User
from patron.contacts.models import Company, Contact, ContactCompany, Note
from patron.contacts.selectors import (
    companies_visible_to,
    company_get,
    contact_get,
    contacts_visible_to,
    notes_visible_to,
    require,
)
from patron.core.models import Activity
from patron.core.permissions import P


def contact_memberships(actor: User, contact: Contact) -> QuerySet[ContactCompany]:
    """The contact's companies (with role) that the actor may also see."""
    contact_get(actor, contact.pk)
    return (
        ContactCompany.objects.filter(
            contact_id=contact.pk, company__in=companies_visible_to(actor).values("pk")
        )
        .select_related("company")
        .order_by("-is_primary", "company__name", "id")
    )


def contact_consents(actor: User, contact: Contact) -> list[Any]:
    """The latest consent entry per (purpose, channel) of one contact.

    The ledger is append-only and per contact small, so the newest entry per pair is
    picked in Python: the same on SQLite and PostgreSQL.
    """
    from patron.privacy.models import Consent

    require(actor, P.CONSENT_VIEW)
    contact_get(actor, contact.pk)
    latest: dict[tuple[str, str], Consent] = {}
    for entry in Consent.objects.filter(contact_id=contact.pk).order_by("-recorded_at", "-id"):
        latest.setdefault((entry.purpose, entry.channel), entry)
    return sorted(latest.values(), key=lambda c: (c.get_purpose_display(), c.channel))


def companies_search(actor: User, q: str = "") -> QuerySet[Company]:
    """Companies the actor may see whose name or domain contains every word of ``q``."""
    qs = companies_visible_to(actor)
    for word in q.strip().split()[:5]:
        qs = qs.filter(Q(name__icontains=word) | Q(domain__icontains=word))
    return qs


def companies_page(
    qs: QuerySet[Company], *, after: list[Any] | None, size: int
) -> tuple[list[Company], list[Any] | None]:
    """Keyset pagination on (name, id); returns the rows and the next cursor values."""
    qs = qs.order_by("name", "id")
    if after:
        if len(after) != 2 or not isinstance(after[0], str) or not isinstance(after[1], int):
            raise ValidationError({"cursor": ["Invalid cursor."]})
        name, last_id = after
        qs = qs.filter(Q(name__gt=name) | Q(name=name, id__gt=last_id))
    rows = list(qs.select_related("owner")[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, [rows[-1].name, rows[-1].pk]


def company_people(actor: User, company: Company) -> QuerySet[ContactCompany]:
    """People of a company (with their role) that the actor may see."""
    company_get(actor, company.pk)
    return (
        ContactCompany.objects.filter(
            company_id=company.pk, contact__in=contacts_visible_to(actor).values("pk")
        )
        .select_related("contact")
        .order_by("-is_primary", "contact__last_name", "contact__first_name", "id")
    )


def company_notes(actor: User, company: Company, *, limit: int = 50) -> QuerySet[Note]:
    company_get(actor, company.pk)
    return (
        notes_visible_to(actor).filter(company_id=company.pk).order_by("-created_at", "-id")[:limit]
    )


def company_activity(actor: User, company: Company, *, limit: int = 50) -> QuerySet[Activity]:
    """Activity about a company, without entries about contacts hidden from the actor."""
    company_get(actor, company.pk)
    qs = Activity.objects.filter(company_id=company.pk)
    if actor.is_restricted:
        qs = qs.filter(
            Q(contact_id__isnull=True) | Q(contact_id__in=contacts_visible_to(actor).values("pk"))
        )
    return qs.order_by("-created_at", "-id")[:limit]
