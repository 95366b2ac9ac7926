"""Shared helpers of the contact and company services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from patron.accounts.models import User
from patron.contacts.models import (
    Company,
    Contact,
    ContactIdentity,
    Tag,
)
from patron.contacts.normalize import (
    NormalizationError,
    clean_text,
    search_text_for,
)
from patron.contacts.selectors import (
    contacts_visible_to,
    lifecycle_stages,
)
from patron.core.permissions import PermissionDenied
from patron.core.services import workspace_get
from patron.hygiene.normalize import (
    Normalized,
    OnInvalid,
    contact_input_normalize,
    contact_keys_refresh,
)

CONTACT_FIELDS = (
    "full_name",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "language",
    "time_zone",
    "birthday",
    "job_title",
    "lifecycle_stage",
    "source",
    "external_id",
)
CONTACT_EXTRA_KEYS = ("owner_id", "tags", "custom", "emails", "phones")
COMPANY_FIELDS = (
    "name",
    "domain",
    "industry",
    "size",
    "employees",
    "annual_revenue",
    "phone",
    "website",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "external_id",
)
COMPANY_EXTRA_KEYS = ("owner_id", "tags", "custom")


# --- helpers --------------------------------------------------------------------------


def _reject_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({k[:60]: ["Unknown field."] for k in unknown})


def _text_fields(model: type, data: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Clean plain text fields; errors collected per field."""
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in names:
        if name not in data:
            continue
        raw = data[name]
        field = model._meta.get_field(name)  # type: ignore[attr-defined]
        if raw is not None and not isinstance(raw, (str, int, float, dt.date)):
            errors[name] = ["Expected text."]
            continue
        try:
            out[name] = clean_text(raw, max_length=getattr(field, "max_length", None))
        except NormalizationError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return out


def _owner_for(actor: User, data: Mapping[str, Any], current: User | None) -> User | None:
    """Resolve owner_id. Restricted roles can only own records themselves."""
    if "owner_id" not in data:
        return current
    raw = data["owner_id"]
    if raw in (None, ""):
        owner = None
    else:
        try:
            owner = User.objects.filter(pk=int(raw), is_active=True, is_service=False).first()
        except (TypeError, ValueError):
            owner = None
        if owner is None:
            raise ValidationError({"owner_id": ["No such active user."]})
    if actor.is_restricted and owner is not None and owner.pk != actor.pk:
        raise PermissionDenied("Your role can only assign records to yourself.")
    if actor.is_restricted and owner is None:
        raise PermissionDenied("Your role cannot leave records without an owner.")
    return owner


def _clean_tag_names(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = raw.split(",")
    if not isinstance(raw, (list, tuple)):
        raise ValidationError({"tags": ["Expected a list of tag names."]})
    names: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise ValidationError({"tags": ["Tag names must be text."]})
        try:
            name = clean_text(item, max_length=80)
        except NormalizationError as exc:
            raise ValidationError({"tags": [str(exc)]}) from exc
        if name and name not in names:
            names.append(name)
    return names


def _clean_list(raw: Any, key: str, normalizer: Any) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise ValidationError({key: ["Expected a list."]})
    out: list[str] = []
    errors: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            errors.append("Expected text.")
            continue
        try:
            value = normalizer(item)
        except NormalizationError as exc:
            errors.append(str(exc))
            continue
        if value and value not in out:
            out.append(value)
    if errors:
        raise ValidationError({key: errors})
    return out


HYGIENE_FIELDS = (
    "full_name",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "email",
    "phone",
    "country",
    "birthday",
    "postal_code",
)


def _contact_values(
    data: Mapping[str, Any], *, existing: Contact | None, on_invalid: OnInvalid = "error"
) -> tuple[dict[str, Any], dict[str, list[str]], Normalized]:
    """Normalised contact column values from input (partial when existing is given).

    Names, contact points, country, birthday and postal code go through the one
    normaliser (patron.hygiene.normalize); ``on_invalid="flag"`` keeps unnormalisable
    values in ``invalid_fields`` instead of failing.
    """
    errors: dict[str, list[str]] = {}
    plain = [f for f in CONTACT_FIELDS if f not in (*HYGIENE_FIELDS, "external_id")]
    try:
        values = _text_fields(Contact, data, plain)
    except ValidationError as exc:
        errors.update({k: [str(m) for m in v] for k, v in exc.message_dict.items()})
        values = {}
    norm = contact_input_normalize(
        data,
        existing_country=existing.country if existing else "",
        default_region=workspace_get().default_region,
        on_invalid=on_invalid,
    )
    values.update({k: v for k, v in norm.values.items() if k not in ("emails", "phones")})
    errors.update(norm.errors)
    if "external_id" in data:
        raw = data["external_id"]
        ext = clean_text(raw) if raw not in (None, "") else None
        if ext is not None and len(ext) > 120:
            errors["external_id"] = ["Ensure this value has at most 120 characters."]
        values["external_id"] = ext or None
    stage = values.get("lifecycle_stage")
    if stage and stage not in {s["key"] for s in lifecycle_stages()}:
        errors["lifecycle_stage"] = [f"Unknown lifecycle stage {stage[:40]!r}."]
    invalid = norm.invalid_fields_after(existing.invalid_fields if existing else {})
    if invalid != (existing.invalid_fields if existing else {}):
        values["invalid_fields"] = invalid
    return values, errors, norm


def _refresh_search_text(contact: Contact) -> None:
    contact.search_text = search_text_for(
        contact.first_name,
        contact.middle_name,
        contact.last_name,
        contact.full_name,
        contact.email,
        contact.phone,
        contact.external_id or "",
    )
    contact_keys_refresh(contact)


def _set_tags(obj: Contact | Company, names: list[str]) -> tuple[list[str], list[str]]:
    before = sorted(obj.tags.values_list("name", flat=True))
    tags = [Tag.objects.get_or_create(name=n)[0] for n in names]
    obj.tags.set(tags)
    return before, sorted(names)


def _set_extra_identities(
    contact: Contact, kind: str, values: list[str]
) -> tuple[list[str], list[str]]:
    qs = contact.identities.filter(kind=kind)
    before = sorted(qs.values_list("value", flat=True))
    qs.exclude(value__in=values).delete()
    for v in values:
        ContactIdentity.objects.get_or_create(
            contact=contact,
            kind=kind,
            value=v,
            defaults={"match_key": ContactIdentity.match_key_for(kind, v)},
        )
    return before, sorted(values)


def _lock_contact(actor: User, contact: Contact | int) -> Contact:
    pk = contact.pk if isinstance(contact, Contact) else int(contact)
    locked = contacts_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise PermissionDenied("You cannot change this contact.")
    return locked


def _full_clean_unique(obj: Contact | Company, label: str) -> None:
    """The external id is unique when set: a field error, not a constraint name."""
    ext = obj.external_id
    if ext and type(obj).objects.filter(external_id=ext).exclude(pk=obj.pk).exists():
        raise ValidationError({"external_id": [f"A {label} with this external id already exists."]})


def _validate_and_save(obj: Contact | Company, label: str) -> None:
    """Model validation, then save; a duplicate external id is a field error either way."""
    _full_clean_unique(obj, label)
    exclude = ["owner", "tags", "companies"] if isinstance(obj, Contact) else ["owner", "tags"]
    obj.full_clean(validate_constraints=False, exclude=exclude)
    try:
        with transaction.atomic():
            obj.save()
    except IntegrityError as exc:  # a concurrent write took the id in between
        raise ValidationError(
            {"external_id": [f"A {label} with this external id already exists."]}
        ) from exc


def _note_change(
    changes: dict[str, Any], key: str, before: Any, after: Any, *, group: str | None = None
) -> None:
    """Add one before/after pair to an activity diff when the value really changed."""
    if before == after:
        return
    for side, value in (("before", before), ("after", after)):
        target = changes.setdefault(side, {})
        if group is not None:
            target = target.setdefault(group, {})
        target[key] = value
