"""Contacts, companies, notes and timeline items as API dicts, with field-level masking.

Records arrive here already fetched through the scoped selectors; this module only shapes
them (in batches, so a page costs a fixed number of queries) and masks sensitive values
for actors without ``contact.view_sensitive``.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, prefetch_related_objects

from patron.accounts.models import User
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    CustomField,
    CustomFieldValue,
    Note,
)
from patron.contacts.selectors import MASK, can_see_sensitive, companies_visible_to
from patron.contacts.timeline import TimelineItem
from patron.core.permissions import P

CONTACT_TEXT = (
    "full_name", "prefix", "first_name", "middle_name", "last_name", "suffix", "email",
    "address_line1", "address_line2", "city", "region", "postal_code", "country", "language",
    "time_zone", "job_title", "lifecycle_stage", "source",
)  # fmt: skip
COMPANY_PLAIN = (
    "name", "domain", "industry", "size", "employees", "annual_revenue", "phone", "website",
    "address_line1", "address_line2", "city", "region", "postal_code", "country",
)  # fmt: skip
#: Keys of activity ``changes`` that hold sensitive contact values.
SENSITIVE_CHANGE_KEYS = ("phone", "phones", "birthday")
#: Activity verbs (by noun) and the permission needed to see them on a timeline.
VERB_PERMISSIONS = {
    "order": P.ORDER_VIEW,
    "product": P.ORDER_VIEW,
    "ticket": P.TICKET_VIEW,
    "survey": P.TICKET_VIEW,
    "event": P.EVENT_VIEW,
    "consent": P.CONSENT_VIEW,
}


def plain(value: Any) -> Any:
    """A JSON-friendly custom-field value: numbers as numbers, dates as ISO text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def custom_values_many(
    actor: User, objs: Sequence[Contact | Company], owner: str
) -> dict[int, dict[str, Any]]:
    """``custom_values_of`` for many objects in one query: {pk: {key: value}}, masked alike."""
    sensitive_ok = can_see_sensitive(actor)
    out: dict[int, dict[str, Any]] = {obj.pk: {} for obj in objs}
    rows = (
        CustomFieldValue.objects.filter(**{f"{owner}_id__in": list(out)})
        .select_related("field")
        .order_by("field__label", "id")
    )
    for cfv in rows:
        field = cfv.field
        value = MASK if (field.sensitive and not sensitive_ok) else cfv.value
        values = out[getattr(cfv, f"{owner}_id")]
        if field.type == CustomField.Type.MULTI_CHOICE:
            values.setdefault(field.key, []).append(plain(value))
        else:
            values[field.key] = plain(value)
    return out


def _masked(value: Any, sensitive_ok: bool) -> Any:
    return value if sensitive_ok or value in ("", None) else MASK


def contacts_out(actor: User, contacts: Sequence[Contact]) -> list[dict[str, Any]]:
    """API dicts of contacts the actor may see (companies shown only when visible too)."""
    if not contacts:
        return []
    sensitive_ok = can_see_sensitive(actor)
    if actor.has_perm_code(P.COMPANY_VIEW):
        memberships = ContactCompany.objects.filter(
            company__in=companies_visible_to(actor).values("pk")
        )
    else:
        memberships = ContactCompany.objects.none()
    prefetch_related_objects(
        list(contacts),
        "tags",
        Prefetch(
            "identities",
            queryset=ContactIdentity.objects.filter(
                kind__in=(ContactIdentity.Kind.EMAIL, ContactIdentity.Kind.PHONE)
            ).order_by("kind", "value"),
            to_attr="api_identities",
        ),
        Prefetch(
            "memberships",
            queryset=memberships.select_related("company").order_by("company__name", "id"),
            to_attr="api_memberships",
        ),
    )
    custom = custom_values_many(actor, contacts, "contact")
    out = []
    for c in contacts:
        identities: list[ContactIdentity] = c.api_identities  # type: ignore[attr-defined]
        item: dict[str, Any] = {name: getattr(c, name) for name in CONTACT_TEXT}
        item.update(
            id=c.pk,
            display_name=c.display_name,
            phone=_masked(c.phone, sensitive_ok),
            birthday=_masked(c.birthday.isoformat() if c.birthday else None, sensitive_ok),
            emails=[i.value for i in identities if i.kind == ContactIdentity.Kind.EMAIL],
            phones=[
                _masked(i.value, sensitive_ok)
                for i in identities
                if i.kind == ContactIdentity.Kind.PHONE
            ],
            external_id=c.external_id,
            owner_id=c.owner_id,
            tags=sorted(t.name for t in c.tags.all()),
            companies=[
                {"id": m.company_id, "name": m.company.name, "role": m.role}
                for m in c.api_memberships  # type: ignore[attr-defined]
            ],
            custom=custom[c.pk],
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        out.append(item)
    return out


def companies_out(actor: User, companies: Sequence[Company]) -> list[dict[str, Any]]:
    if not companies:
        return []
    prefetch_related_objects(list(companies), "tags")
    custom = custom_values_many(actor, companies, "company")
    out = []
    for c in companies:
        item: dict[str, Any] = {name: getattr(c, name) for name in COMPANY_PLAIN}
        item.update(
            id=c.pk,
            external_id=c.external_id,
            owner_id=c.owner_id,
            tags=sorted(t.name for t in c.tags.all()),
            custom=custom[c.pk],
            created_at=c.created_at,
            updated_at=c.updated_at,
        )
        out.append(item)
    return out


def note_out(note: Note) -> dict[str, Any]:
    return {
        "id": note.pk,
        "contact_id": note.contact_id,
        "company_id": note.company_id,
        "body": note.body,
        "author_id": note.author_id,
        "author": str(note.author) if note.author_id else "",
        "created_at": note.created_at,
        "updated_at": note.updated_at,
    }


def _mask_changes(changes: Any, sensitive_custom: set[str]) -> Any:
    if not isinstance(changes, dict):
        return changes
    changes = copy.deepcopy(changes)
    for side in changes.values():
        if not isinstance(side, dict):
            continue
        for key in SENSITIVE_CHANGE_KEYS:
            if side.get(key) not in (None, "", []):
                side[key] = MASK
        custom = side.get("custom")
        if isinstance(custom, dict):
            for key in custom:
                if key in sensitive_custom and custom[key] not in (None, "", []):
                    custom[key] = MASK
    return changes


def timeline_out(actor: User, items: Sequence[TimelineItem]) -> list[dict[str, Any]]:
    """Timeline items, without activity the actor's role may not see, sensitive values masked."""
    sensitive_ok = can_see_sensitive(actor)
    sensitive_custom: set[str] = set()
    if not sensitive_ok:
        sensitive_custom = set(
            CustomField.objects.filter(sensitive=True).values_list("key", flat=True)
        )
    out = []
    for item in items:
        meta = item.meta
        if item.kind == "activity":
            noun = str(meta.get("verb", "")).partition(".")[0]
            needed = VERB_PERMISSIONS.get(noun)
            if needed is not None and not actor.has_perm_code(needed):
                continue
            if not sensitive_ok:
                meta = {**meta, "changes": _mask_changes(meta.get("changes"), sensitive_custom)}
        out.append(
            {"at": item.at, "kind": item.kind, "title": item.title, "detail": item.detail,
             "meta": meta}
        )  # fmt: skip
    return out
