"""Input cleaning shared by write services: ids, choices, money, timestamps.

Each function takes the raw value and the field name, and raises a Django
``ValidationError`` keyed by that field, so every entry point (API, forms, imports)
reports the same message for the same mistake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from patron.contacts.normalize import NormalizationError, clean_text

#: The largest primary key a database column holds (signed 64-bit).
MAX_ID = 2**63 - 1


def reject_unknown(data: Mapping[str, Any], allowed: Iterable[str]) -> None:
    """One error per key that is not in ``allowed`` (no mass assignment)."""
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError({str(k)[:60]: ["Unknown field."] for k in unknown})


def clean_id(raw: Any, field: str) -> int:
    """A positive database id; bools, floats and out-of-range numbers are refused."""
    if isinstance(raw, bool):
        raise ValidationError({field: ["Expected an id."]})
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not 1 <= raw <= MAX_ID:
        raise ValidationError({field: ["Expected an id."]})
    return raw


def pk_or_404(raw: Any) -> int:
    """A path or lookup id for selectors: anything that is not a valid id is "not found"."""
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if not 1 <= pk <= MAX_ID:
        raise Http404
    return pk


def clean_str(raw: Any, field: str, *, max_length: int, required: bool = False) -> str:
    """NFC text without control characters, at most ``max_length`` characters."""
    if raw is not None and not isinstance(raw, str):
        raise ValidationError({field: ["Expected text."]})
    try:
        text = clean_text(raw, max_length=max_length)
    except NormalizationError as exc:
        raise ValidationError({field: [str(exc)]}) from exc
    if required and not text:
        raise ValidationError({field: ["This field is required."]})
    return text


def clean_body(raw: Any, field: str, *, max_length: int) -> str:
    """Multi-line text: each line cleaned, line breaks kept."""
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError({field: ["Expected text."]})
    if len(raw) > max_length:
        raise ValidationError({field: [f"Ensure this value has at most {max_length} characters."]})
    return "\n".join(clean_text(line) for line in raw.strip().splitlines())


def clean_optional_key(raw: Any, field: str, *, max_length: int = 120) -> str | None:
    """An optional external key: None when empty."""
    return clean_str(raw, field, max_length=max_length) or None


def clean_choice(raw: Any, field: str, choices: Iterable[str]) -> str:
    allowed = list(choices)
    if not isinstance(raw, str) or raw not in allowed:
        raise ValidationError({field: [f"Expected one of: {', '.join(allowed)}."]})
    return raw


def clean_decimal(
    raw: Any,
    field: str,
    *,
    places: int = 2,
    max_digits: int = 14,
    minimum: Decimal | None = Decimal("0"),
) -> Decimal:
    """A finite decimal with at most ``places`` decimal places that fits the column."""
    if isinstance(raw, bool) or raw is None:
        raise ValidationError({field: ["Expected a number."]})
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation as exc:
        raise ValidationError({field: ["Expected a number."]}) from exc
    if not value.is_finite():
        raise ValidationError({field: ["Expected a finite number."]})
    limit = Decimal(10) ** (max_digits - places)
    # Before quantize, which raises InvalidOperation past the context's 28 digits (1e400).
    if abs(value) >= limit:
        raise ValidationError({field: ["The number is too large."]})
    quantum = Decimal(1).scaleb(-places)
    if value != value.quantize(quantum, rounding="ROUND_HALF_UP"):
        raise ValidationError(
            {field: [f"Ensure that there are no more than {places} decimal places."]}
        )
    value = value.quantize(quantum)
    if minimum is not None and value < minimum:
        raise ValidationError({field: [f"Ensure this value is at least {minimum}."]})
    return value


def clean_datetime(raw: Any, field: str) -> dt.datetime:
    """An aware datetime from a datetime or an ISO 8601 string (naive = workspace time)."""
    if isinstance(raw, dt.datetime):
        value = raw
    elif isinstance(raw, str):
        try:
            value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationError({field: ["Enter a valid date and time (ISO 8601)."]}) from exc
    else:
        raise ValidationError({field: ["Enter a valid date and time (ISO 8601)."]})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value.year < 1970 or value > timezone.now() + dt.timedelta(days=366):
        raise ValidationError({field: ["Enter a date and time between 1970 and next year."]})
    return value


def collect(errors: dict[str, list[str]], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call a cleaner; on ValidationError add its messages to ``errors`` and return None."""
    try:
        return fn(*args, **kwargs)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
        return None
