"""Entry-point normalisation of contact points used by contact and company services.

The data-hygiene work extends this (names, countries in many languages, quality flags);
every entry point (forms, API, tracking, imports) goes through these functions.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email


class NormalizationError(ValueError):
    pass


def clean_text(value: object, *, max_length: int | None = None) -> str:
    """Unicode NFC, no control characters, collapsed whitespace."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch)[0] != "C")
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        raise NormalizationError(f"Ensure this value has at most {max_length} characters.")
    return text


def normalize_email(value: str) -> str:
    """Validated email with a lower-cased (IDNA-aware) domain. No network look-ups."""
    text = clean_text(value)
    if not text:
        return ""
    try:
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        raise NormalizationError(f"Enter a valid email address ({exc}).") from exc
    local, _, domain = result.normalized.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: str, region: str | None = None) -> str:
    """E.164 for anything phonenumbers can parse as a possible number."""
    text = clean_text(value)
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, (region or "US").upper())
    except phonenumbers.NumberParseException as exc:
        raise NormalizationError("Enter a valid phone number.") from exc
    if not phonenumbers.is_possible_number(number):
        raise NormalizationError("Enter a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_country(value: str) -> str:
    """ISO 3166-1 alpha-2 code from a code or a country name."""
    text = clean_text(value)
    if not text:
        return ""
    if len(text) == 2 and pycountry.countries.get(alpha_2=text.upper()):
        return text.upper()
    if len(text) == 3 and (c := pycountry.countries.get(alpha_3=text.upper())):
        return str(c.alpha_2)
    try:
        return str(pycountry.countries.lookup(text).alpha_2)
    except LookupError as exc:
        raise NormalizationError(f"Unknown country: {text[:60]!r}.") from exc


def search_text_for(*parts: str) -> str:
    """The lower-cased text the contact search matches against (phone digits included)."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        out.append(part.lower())
        if part.startswith("+"):
            out.append(part[1:])
    return " ".join(out)[:700]
