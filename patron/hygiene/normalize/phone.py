"""Phone numbers to E.164 with ``phonenumbers``.

Region: the contact's country, else the workspace default. ``00`` and ``011`` international
prefixes, vanity letters and extensions are understood; an extension is kept in the
RFC 3966 form ``+4930123456;ext=12`` so nothing the person entered is lost.
"""

from __future__ import annotations

import phonenumbers

from patron.hygiene.normalize.text import NormalizationError, clean_text

PHONE_MAX = 32


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber:
    candidates = [text]
    digits_first = text.lstrip("(")
    if digits_first.startswith("00") and not text.startswith("+"):
        candidates.append("+" + digits_first[2:])
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return number
    raise NormalizationError("Enter a valid phone number.")


def normalize_phone(value: object, region: str | None = None) -> str:
    """E.164 (plus ``;ext=N``) for anything that parses as a possible number."""
    text = clean_text(value, form="NFKC")
    if not text:
        return ""
    if len(text) > 64 or not any(ch.isdigit() for ch in text):
        raise NormalizationError("Enter a valid phone number.")
    number = _parse(text, (region or "US").upper())
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        e164 = f"{e164};ext={number.extension}"
    if len(e164) > PHONE_MAX:
        raise NormalizationError("Enter a valid phone number.")
    return e164


def phone_match_key(value: str) -> str:
    """The E.164 part without extension: what matching compares."""
    return value.split(";", 1)[0] if value else ""


def phone_is_valid(value: str) -> bool:
    """Stricter than normalisation: the number is assigned in its country's plan."""
    if not value:
        return False
    try:
        number = phonenumbers.parse(phone_match_key(value), None)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))
