"""Permission-scoped reads of contacts, companies, notes and the contact timeline.

Every function takes the acting user. A view or endpoint gets records only from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.contacts.models import Company, Contact, ContactIdentity, CustomField, Note, Tag
from patron.core.models import Workspace
from patron.core.permissions import P, PermissionDenied
from patron.core.services import workspace_get


def require(actor: User, code: str) -> None:
    if not (actor and actor.is_authenticated and actor.has_perm_code(code)):
        raise PermissionDenied()


def _owner_scope(actor: User, qs: QuerySet[Any], owner_field: str = "owner") -> QuerySet[Any]:
    """Restrict a queryset by ownership when the actor's role is restricted."""
    if not actor.is_restricted:
        return qs
    visibility = workspace_get().restricted_visibility
    if visibility == Workspace.Visibility.OWN:
        return qs.filter(**{owner_field: actor})
    if visibility == Workspace.Visibility.TEAM:
        if actor.team_id is None:
            return qs.filter(**{owner_field: actor})
        return qs.filter(
            Q(**{owner_field: actor}) | Q(**{f"{owner_field}__team_id": actor.team_id})
        )
    return qs


def contacts_visible_to(actor: User) -> QuerySet[Contact]:
    require(actor, P.CONTACT_VIEW)
    return _owner_scope(actor, Contact.objects.all())


def contact_get(actor: User, contact_id: int | str) -> Contact:
    """A contact the actor may see, else Http404 (out-of-scope records do not exist)."""
    try:
        pk = int(contact_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    contact = contacts_visible_to(actor).select_related("owner").filter(pk=pk).first()
    if contact is None:
        raise Http404("No such contact.")
    return contact


def companies_visible_to(actor: User) -> QuerySet[Company]:
    require(actor, P.COMPANY_VIEW)
    return _owner_scope(actor, Company.objects.all())


def company_get(actor: User, company_id: int | str) -> Company:
    try:
        pk = int(company_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    company = companies_visible_to(actor).select_related("owner").filter(pk=pk).first()
    if company is None:
        raise Http404("No such company.")
    return company


def related_visible_to(actor: User, model: Any, permission: str) -> QuerySet[Any]:
    """Records hanging off a contact (orders, tickets, events, ...) scoped through it."""
    require(actor, permission)
    qs = model.objects.all()
    if actor.is_restricted:
        qs = qs.filter(contact__in=contacts_visible_to(actor).values("pk"))
    return qs


def notes_visible_to(actor: User) -> QuerySet[Note]:
    require(actor, P.CONTACT_VIEW)
    qs = Note.objects.select_related("author")
    if not actor.has_perm_code(P.COMPANY_VIEW):
        qs = qs.filter(company__isnull=True)
    if actor.is_restricted:
        qs = qs.filter(
            Q(contact__in=contacts_visible_to(actor).values("pk"))
            | (
                Q(company__in=companies_visible_to(actor).values("pk"))
                if actor.has_perm_code(P.COMPANY_VIEW)
                else Q(pk__in=[])
            )
        )
    return qs


# --- Search and keyset pagination -----------------------------------------------------

SORTS: dict[str, str] = {
    "name": "last_name",
    "first_name": "first_name",
    "email": "email",
    "created": "created_at",
    "updated": "updated_at",
    "stage": "lifecycle_stage",
    "country": "country",
}
_PHONEISH = re.compile(r"^[\d\s()+./-]{3,}$")


@dataclass(frozen=True)
class ContactFilters:
    q: str = ""
    tag: str = ""
    stage: str = ""
    owner: str = ""  # user id, or "me", or "none"
    country: str = ""
    email: str = ""
    external_id: str = ""
    company: int | None = None


def contacts_filter(actor: User, f: ContactFilters) -> QuerySet[Contact]:
    qs = contacts_visible_to(actor)
    q = f.q.strip()
    if q:
        if _PHONEISH.match(q) and sum(ch.isdigit() for ch in q) >= 3:
            # E.164 drops the national trunk prefix, so "030 123" must match "+4930123...".
            qs = qs.filter(search_text__contains=re.sub(r"\D", "", q).lstrip("0") or "0")
        else:
            for word in q.lower().split()[:5]:
                qs = qs.filter(search_text__contains=word)
    if f.tag:
        qs = qs.filter(tags__name=f.tag)
    if f.stage:
        qs = qs.filter(lifecycle_stage=f.stage)
    if f.owner == "me":
        qs = qs.filter(owner=actor)
    elif f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner:
        if not f.owner.isdigit():
            raise ValidationError({"owner": ["Owner must be a user id, 'me' or 'none'."]})
        qs = qs.filter(owner_id=int(f.owner))
    if f.country:
        qs = qs.filter(country=f.country.upper()[:2])
    if f.email:
        qs = qs.filter(email__iexact=f.email.strip())
    if f.external_id:
        qs = qs.filter(external_id=f.external_id)
    if f.company is not None:
        qs = qs.filter(memberships__company_id=f.company)
    return qs


def keyset(
    qs: QuerySet[Any], *, sort: str, descending: bool, after: list[Any] | None, size: int
) -> tuple[list[Any], list[Any] | None]:
    """Keyset pagination on (sort column, id): constant cost at any depth.

    Returns the rows of the page and the cursor values of the next page (or None).
    """
    if sort != "id" and sort not in SORTS:
        raise ValidationError({"sort": [f"Sort by one of: {', '.join(sorted(SORTS))}."]})
    column = "id" if sort == "id" else SORTS[sort]
    qs = qs.order_by(f"-{column}", "-id") if descending else qs.order_by(column, "id")
    if after:
        if len(after) != 2 or not isinstance(after[1], int):
            raise ValidationError({"cursor": ["Invalid cursor."]})
        value, last_id = after
        if column == "id":
            cond = Q(id__lt=last_id) if descending else Q(id__gt=last_id)
        elif descending:
            cond = Q(**{f"{column}__lt": value}) | Q(**{column: value, "id__lt": last_id})
        else:
            cond = Q(**{f"{column}__gt": value}) | Q(**{column: value, "id__gt": last_id})
        qs = qs.filter(cond)
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not (more and rows):
        return rows, None
    last = rows[-1]
    value = getattr(last, column)
    if isinstance(value, datetime):
        value = value.isoformat()
    return rows, [value, last.pk]


# --- Presentation helpers -------------------------------------------------------------

MASK = "•••"
SENSITIVE_CONTACT_FIELDS = ("phone", "birthday")


def can_see_sensitive(actor: User) -> bool:
    return actor.has_perm_code(P.CONTACT_VIEW_SENSITIVE)


def custom_fields_for(entity: str) -> QuerySet[CustomField]:
    return CustomField.objects.filter(entity=entity).order_by("label")


def custom_values_of(actor: User, obj: Contact | Company) -> dict[str, Any]:
    """{key: value} of an object's custom fields, sensitive ones masked when needed."""
    sensitive_ok = can_see_sensitive(actor)
    values: dict[str, Any] = {}
    for cfv in obj.custom_values.select_related("field").order_by("field__label", "id"):
        field = cfv.field
        value = MASK if (field.sensitive and not sensitive_ok) else cfv.value
        if field.type == CustomField.Type.MULTI_CHOICE:
            values.setdefault(field.key, []).append(value)
        else:
            values[field.key] = value
    return values


def identities_of(actor: User, contact: Contact) -> QuerySet[ContactIdentity]:
    contact_get(actor, contact.pk)
    return contact.identities.order_by("kind", "value")


def tags_all() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def owners_for_filter(actor: User) -> QuerySet[User]:
    return User.objects.filter(is_active=True, is_service=False).order_by("first_name", "username")


def lifecycle_stages() -> list[dict[str, str]]:
    from patron.contacts.models import DEFAULT_LIFECYCLE_STAGES

    return list(workspace_get().lifecycle_stages or DEFAULT_LIFECYCLE_STAGES)
