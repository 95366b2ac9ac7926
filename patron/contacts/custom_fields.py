"""Typed custom-field values: validation on every write, storage in typed columns."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from patron.contacts.models import Company, Contact, CustomField, CustomFieldValue
from patron.contacts.normalize import clean_text

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}
_url = URLValidator(schemes=["http", "https"])


def _one(field: CustomField, raw: Any) -> dict[str, Any]:
    """The typed column values for one raw value; raises ValueError with a message."""
    t = field.type
    if t in (
        CustomField.Type.TEXT,
        CustomField.Type.URL,
        CustomField.Type.CHOICE,
        CustomField.Type.MULTI_CHOICE,
    ):
        if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
            raise ValueError("Expected text.")
        text = clean_text(raw)
        if len(text) > field.max_length:
            raise ValueError(f"Ensure this value has at most {field.max_length} characters.")
        if t == CustomField.Type.URL:
            try:
                _url(text)
            except ValidationError as exc:
                raise ValueError("Enter a valid http(s) URL.") from exc
        if t in (CustomField.Type.CHOICE, CustomField.Type.MULTI_CHOICE) and text not in (
            field.choices or []
        ):
            raise ValueError(f"{text[:60]!r} is not one of the choices.")
        return {"value_text": text}
    if t == CustomField.Type.NUMBER:
        if isinstance(raw, bool):
            raise ValueError("Expected a number.")
        try:
            num = Decimal(str(raw).strip())
        except InvalidOperation as exc:
            raise ValueError("Expected a number.") from exc
        if not num.is_finite() or abs(num) >= Decimal("1e18"):
            raise ValueError("Expected a finite number below 10^18.")
        return {"value_number": num.quantize(Decimal("0.000001"))}
    if t == CustomField.Type.DATE:
        if isinstance(raw, dt.datetime):
            return {"value_date": raw.date()}
        if isinstance(raw, dt.date):
            return {"value_date": raw}
        try:
            return {"value_date": dt.date.fromisoformat(str(raw).strip())}
        except ValueError as exc:
            raise ValueError("Expected a date (YYYY-MM-DD).") from exc
    if t == CustomField.Type.BOOLEAN:
        if isinstance(raw, bool):
            return {"value_bool": raw}
        s = str(raw).strip().lower()
        if s in _TRUE:
            return {"value_bool": True}
        if s in _FALSE:
            return {"value_bool": False}
        raise ValueError("Expected yes or no.")
    raise ValueError("Unsupported field type.")  # pragma: no cover


def _empty(raw: Any) -> bool:
    return raw is None or raw == "" or raw == []


def custom_values_clean(
    entity: str, raw: Mapping[str, Any], *, creating: bool
) -> dict[CustomField, list[dict[str, Any]]]:
    """Validate {key: raw value} for an entity; returns {field: [typed column dicts]}.

    Unknown keys, wrong types and missing required values raise one ValidationError with
    a message per field (keys prefixed ``custom.``).
    """
    if not isinstance(raw, Mapping):
        raise ValidationError({"custom": ["Expected an object of custom field values."]})
    fields = {f.key: f for f in CustomField.objects.filter(entity=entity)}
    errors: dict[str, list[str]] = {}
    out: dict[CustomField, list[dict[str, Any]]] = {}
    for key, value in raw.items():
        field = fields.get(str(key))
        if field is None:
            errors[f"custom.{str(key)[:60]}"] = ["Unknown custom field."]
            continue
        if _empty(value):
            if field.required:
                errors[f"custom.{key}"] = ["This field is required."]
            else:
                out[field] = []
            continue
        try:
            if field.type == CustomField.Type.MULTI_CHOICE:
                items = value if isinstance(value, list) else [value]
                typed = [_one(field, v) for v in dict.fromkeys(items)]
            else:
                if isinstance(value, (list, dict)):
                    raise ValueError("Expected a single value.")
                typed = [_one(field, value)]
        except ValueError as exc:
            errors[f"custom.{key}"] = [str(exc)]
            continue
        out[field] = typed
    if creating:
        for key, field in fields.items():
            if field.required and key not in raw:
                errors[f"custom.{key}"] = ["This field is required."]
    if errors:
        raise ValidationError(errors)
    return out


def custom_values_write(
    obj: Contact | Company, cleaned: Mapping[CustomField, list[dict[str, Any]]]
) -> dict[str, Any]:
    """Replace the given fields' values on obj; returns {key: (before, after)} of changes."""
    changes: dict[str, Any] = {}
    owner = {"contact": obj} if isinstance(obj, Contact) else {"company": obj}
    for field, typed_values in cleaned.items():
        existing = list(CustomFieldValue.objects.filter(field=field, **owner).order_by("id"))
        before = [str(v.value) for v in existing]
        new_rows = [CustomFieldValue(field=field, **owner, **tv) for tv in typed_values]
        after = [str(v.value) for v in new_rows]
        if before == after:
            continue
        CustomFieldValue.objects.filter(pk__in=[v.pk for v in existing]).delete()
        CustomFieldValue.objects.bulk_create(new_rows)
        single = field.type != CustomField.Type.MULTI_CHOICE
        changes[field.key] = (
            (before[0] if before else None) if single else before,
            (after[0] if after else None) if single else after,
        )
    return changes
