"""One normaliser for a contact's input, in the two modes the entry points need.

- ``on_invalid="error"`` (forms, JSON API): a value that cannot be normalised is a field
  error; nothing is written.
- ``on_invalid="flag"`` (imports, tracking): nothing is lost. The value is kept as entered
  in ``Contact.invalid_fields[field] = {"value": ..., "reason": ...}``, the typed column is
  left as it was, and the rest of the record is written.

``contact_keys_refresh`` derives the matching keys (email match key, name key) from a
contact's stored values; every write path calls it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from patron.hygiene.normalize.country import normalize_country
from patron.hygiene.normalize.dates import normalize_date
from patron.hygiene.normalize.email import email_match_key, normalize_email
from patron.hygiene.normalize.name import PART_LIMITS, name_key, name_parse
from patron.hygiene.normalize.phone import normalize_phone
from patron.hygiene.normalize.text import NormalizationError, clean_text

OnInvalid = Literal["error", "flag"]
NAME_FIELDS = ("full_name", "prefix", "first_name", "middle_name", "last_name", "suffix")
RAW_KEEP = 1000  # characters of an invalid value kept as entered


@dataclass
class Normalized:
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    invalid: dict[str, Any] = field(default_factory=dict)
    # Fields that were given in the input (a valid value clears an earlier invalid flag).
    touched: set[str] = field(default_factory=set)

    def fail(self, name: str, raw: Any, reason: str, mode: OnInvalid) -> None:
        if mode == "error":
            self.errors.setdefault(name, []).append(reason)
        else:
            self.invalid[name] = {"value": _raw(raw), "reason": reason}

    def invalid_fields_after(self, current: Mapping[str, Any] | None) -> dict[str, Any]:
        """The contact's ``invalid_fields`` once this input is applied."""
        out = {k: v for k, v in (current or {}).items() if k not in self.touched}
        out.update(self.invalid)
        return out


def _raw(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_raw(v) for v in value][:50]
    return str(value)[:RAW_KEEP] if value is not None else None


def _is_texty(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, dt.date))


def normalize_postal_code(value: object) -> str:
    text = clean_text(value, form="NFKC").upper()
    if len(text) > 20:
        raise NormalizationError("Ensure this value has at most 20 characters.")
    return text


def _names(data: Mapping[str, Any], out: Normalized, mode: OnInvalid) -> None:
    """A full name alone is parsed into parts; given parts are kept (re-cased when flat)."""
    given = [k for k in NAME_FIELDS if k in data]
    if not given:
        return
    out.touched.update(given)
    raw: dict[str, str] = {}
    for key in given:
        value = data[key]
        if not _is_texty(value):
            out.fail(key, value, "Expected text.", mode)
            continue
        text = clean_text(value)
        limit = 300 if key == "full_name" else PART_LIMITS[key]
        if len(text) > limit:
            out.fail(key, value, f"Ensure this value has at most {limit} characters.", mode)
            text = text[:limit]
        raw[key] = text
    parts_given = any(k in raw for k in NAME_FIELDS[1:])
    if "full_name" in raw and not parts_given:
        parsed = name_parse(full_name=raw["full_name"])
        out.values.update(full_name=parsed.full_name, **parsed.parts())
        return
    parsed = name_parse(**{k: v for k, v in raw.items() if k != "full_name"})
    parts = parsed.parts()
    out.values.update({k: parts[k] for k in raw if k != "full_name"})
    if "full_name" in raw:
        out.values["full_name"] = raw["full_name"]


def _one(
    data: Mapping[str, Any],
    name: str,
    fn: Callable[[Any], Any],
    out: Normalized,
    mode: OnInvalid,
) -> None:
    if name not in data:
        return
    out.touched.add(name)
    raw = data[name]
    if not _is_texty(raw):
        out.fail(name, raw, "Expected text.", mode)
        return
    try:
        out.values[name] = fn(raw if raw is not None else "")
    except NormalizationError as exc:
        out.fail(name, raw, str(exc), mode)


# The treatment of one given field, for callers that normalise a record's fields in groups
# (the import worker) and must give exactly what ``contact_input_normalize`` gives.
normalize_field = _one


def _many(
    data: Mapping[str, Any], name: str, fn: Callable[[str], str], out: Normalized, mode: OnInvalid
) -> None:
    if name not in data:
        return
    out.touched.add(name)
    raw = data[name]
    if raw is None:
        out.values[name] = []
        return
    if not isinstance(raw, (list, tuple)):
        out.fail(name, raw, "Expected a list.", mode)
        return
    good: list[str] = []
    bad: list[Any] = []
    reasons: list[str] = []
    for item in raw[:200]:
        try:
            if not isinstance(item, str):
                raise NormalizationError("Expected text.")
            value = fn(item)
        except NormalizationError as exc:
            bad.append(item)
            reasons.append(str(exc))
            continue
        if value and value not in good:
            good.append(value)
    if bad and mode == "error":
        out.errors[name] = reasons
        return
    if bad:
        out.invalid[name] = {"value": _raw(bad), "reason": "; ".join(dict.fromkeys(reasons))}
    out.values[name] = good


def contact_input_normalize(
    data: Mapping[str, Any],
    *,
    existing_country: str = "",
    default_region: str = "US",
    on_invalid: OnInvalid = "error",
) -> Normalized:
    """Normalise the hygiene-owned fields of contact input (others are left to the caller).

    Handles names, email(s), phone(s), country, birthday and postal code.
    """
    if on_invalid not in ("error", "flag"):
        raise ValueError("on_invalid must be 'error' or 'flag'.")
    out = Normalized()
    _names(data, out, on_invalid)
    _one(data, "email", normalize_email, out, on_invalid)
    _one(data, "country", normalize_country, out, on_invalid)
    _one(data, "postal_code", normalize_postal_code, out, on_invalid)
    region = out.values.get("country") or existing_country or default_region
    _one(data, "phone", lambda v: normalize_phone(v, region), out, on_invalid)
    _one(data, "birthday", lambda v: normalize_birthday(v, region), out, on_invalid)
    _many(data, "emails", normalize_email, out, on_invalid)
    _many(data, "phones", lambda v: normalize_phone(v, region), out, on_invalid)
    return out


def normalize_birthday(value: Any, region: str) -> dt.date | None:
    """A date between 1900 and today (``region`` only decides how 03/05/24 reads)."""
    date = normalize_date(value, region=region)
    if date and (date > dt.date.today() or date.year < 1900):
        raise NormalizationError("Enter a birthday between 1900 and today.")
    return date


def contact_keys_refresh(
    contact: Any, *, email_key: Callable[[str], str] = email_match_key
) -> None:
    """Set the matching keys of a contact (not saved) from its stored values.

    ``email_key`` may be a memoised ``email_match_key`` (the event processor's, which has
    usually just computed the key of the same address); it must return what it does.
    """
    contact.email_match_key = email_key(contact.email) if contact.email else ""
    contact.name_key = name_key(contact.first_name or "", contact.last_name or "")
