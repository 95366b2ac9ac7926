"""Write services for companies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.custom_fields import custom_values_clean, custom_values_write
from patron.contacts.models import (
    Company,
    ContactCompany,
)
from patron.contacts.normalize import (
    NormalizationError,
    clean_text,
    normalize_country,
    normalize_phone,
)
from patron.contacts.selectors import (
    companies_visible_to,
    require,
)
from patron.contacts.services._common import (
    COMPANY_EXTRA_KEYS,
    COMPANY_FIELDS,
    _clean_tag_names,
    _note_change,
    _owner_for,
    _reject_unknown,
    _set_tags,
    _text_fields,
    _validate_and_save,
)
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record, diff, snapshot, workspace_get
from patron.segments.tasks import contacts_changed

# --- companies -----------------------------------------------------------------------

COMPANY_TRACKED = (*COMPANY_FIELDS, "owner")


def _company_values(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    text = [
        f
        for f in COMPANY_FIELDS
        if f not in ("employees", "annual_revenue", "country", "external_id", "phone")
    ]
    values: dict[str, Any] = {}
    try:
        values = _text_fields(Company, data, text)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "domain" in values:
        values["domain"] = values["domain"].lower().removeprefix("www.")
    if "country" in data:
        try:
            values["country"] = normalize_country(data["country"] or "")
        except NormalizationError as exc:
            errors["country"] = [str(exc)]
    if "phone" in data:
        try:
            values["phone"] = normalize_phone(
                data["phone"] or "", values.get("country") or workspace_get().default_region
            )
        except NormalizationError as exc:
            errors["phone"] = [str(exc)]
    if "external_id" in data:
        raw = data["external_id"]
        values["external_id"] = clean_text(raw) or None if raw is not None else None
    for key in ("employees", "annual_revenue"):
        if key in data:
            raw = data[key]
            values[key] = None if raw in (None, "") else raw
    return values, errors


@transaction.atomic
def company_create(*, actor: User, data: Mapping[str, Any]) -> Company:
    require(actor, P.COMPANY_CREATE)
    _reject_unknown(data, (*COMPANY_FIELDS, *COMPANY_EXTRA_KEYS))
    values, errors = _company_values(data)
    owner = None
    try:
        owner = _owner_for(actor, data, None if actor.is_service else actor)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    custom: dict[Any, Any] = {}
    try:
        custom = custom_values_clean("company", data.get("custom") or {}, creating=True)
        tags = _clean_tag_names(data.get("tags"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not errors and not values.get("name"):
        errors["name"] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    company = Company(owner=owner, **values)
    _validate_and_save(company, "company")
    after = snapshot(company, COMPANY_TRACKED)
    if tags:
        after["tags"] = _set_tags(company, tags)[1]
    if custom:
        after["custom"] = {k: v[1] for k, v in custom_values_write(company, custom).items()}
    activity_record(
        actor=actor,
        verb="company.created",
        subject=company,
        company_id=company.pk,
        changes={"after": {k: v for k, v in after.items() if v not in ("", None, [])}},
    )
    return company


@transaction.atomic
def company_update(*, actor: User, company: Company | int, data: Mapping[str, Any]) -> Company:
    require(actor, P.COMPANY_EDIT)
    _reject_unknown(data, (*COMPANY_FIELDS, *COMPANY_EXTRA_KEYS))
    pk = company.pk if isinstance(company, Company) else int(company)
    locked = companies_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise PermissionDenied("You cannot change this company.")
    company = locked
    values, errors = _company_values(data)
    owner = company.owner
    custom: dict[Any, Any] = {}
    try:
        owner = _owner_for(actor, data, company.owner)
        if "custom" in data:
            custom = custom_values_clean("company", data.get("custom") or {}, creating=False)
        tags = _clean_tag_names(data["tags"]) if "tags" in data else None
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if "name" in values and not values["name"]:
        errors["name"] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    before = snapshot(company, COMPANY_TRACKED)
    for key, value in values.items():
        setattr(company, key, value)
    company.owner = owner
    _validate_and_save(company, "company")
    changes = diff(before, snapshot(company, COMPANY_TRACKED))
    if tags is not None:
        _note_change(changes, "tags", *_set_tags(company, tags))
    if custom:
        for key, (b, a) in custom_values_write(company, custom).items():
            _note_change(changes, key, b, a, group="custom")
    if changes["after"] or changes["before"]:
        activity_record(
            actor=actor,
            verb="company.updated",
            subject=company,
            company_id=company.pk,
            changes=changes,
        )
        # Live segments with company-field rules: re-evaluate the company's contacts.
        contacts_changed(_member_ids(company.pk), what={"company"})
    return company


def _member_ids(company_id: int) -> list[int]:
    return list(
        ContactCompany.objects.filter(company_id=company_id).values_list("contact_id", flat=True)
    )


@transaction.atomic
def company_delete(*, actor: User, company: Company | int) -> None:
    require(actor, P.COMPANY_DELETE)
    pk = company.pk if isinstance(company, Company) else int(company)
    locked = companies_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise PermissionDenied("You cannot delete this company.")
    label = str(locked)
    members = _member_ids(pk)
    locked.delete()
    contacts_changed(members, what={"company"})
    activity_record(
        actor=actor,
        verb="company.deleted",
        subject_type="company",
        subject_id=pk,
        subject_label=label,
        company_id=pk,
    )
