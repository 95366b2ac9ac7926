"""Email addresses: validated (no network look-ups), domain lower-cased, IDN aware.

``email_match_key`` is for matching only (duplicate detection): it drops plus-tags for
every provider and the dots Gmail ignores, so ``Jane.Doe+news@googlemail.com`` and
``janedoe@gmail.com`` share a key. The stored address stays as entered (normalised).
"""

from __future__ import annotations

import contextlib

from email_validator import EmailNotValidError, validate_email

from patron.hygiene.normalize.text import NormalizationError, clean_text

# Providers that ignore dots in the local part, and their canonical domain.
_DOTLESS_PROVIDERS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
EMAIL_MAX = 254


def normalize_email(value: object) -> str:
    """A validated address with a lower-cased (Unicode) domain, or NormalizationError.

    Accepts ``Name <addr>`` and returns the address. Quoted local parts, domain
    literals and addresses without a dotted domain are refused.
    """
    text = clean_text(value, form="NFKC")
    if not text:
        return ""
    if len(text) > 2 * EMAIL_MAX:
        raise NormalizationError("Enter a valid email address (too long).")
    try:
        result = validate_email(text, check_deliverability=False, allow_display_name=True)
    except EmailNotValidError as exc:
        raise NormalizationError(f"Enter a valid email address ({exc}).") from exc
    address = f"{result.local_part}@{result.domain.lower()}"
    if len(address) > EMAIL_MAX:
        raise NormalizationError("Enter a valid email address (too long).")
    return address


def email_match_key(value: str) -> str:
    """The matching form of a (normalised) address; "" when it is not a valid address."""
    try:
        address = normalize_email(value)
    except NormalizationError:
        return ""
    return address_match_key(address)


def address_match_key(address: str) -> str:
    """``email_match_key`` of an address ``normalize_email`` returned (not validated
    again: callers that hold the normalised address skip a second validation)."""
    if not address:
        return ""
    local, _, domain = address.rpartition("@")
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    local = local.lower()
    if "+" in local.lstrip("+"):
        local = local[: local.index("+", 1)]
    canonical = _DOTLESS_PROVIDERS.get(domain)
    if canonical:
        local, domain = local.replace(".", ""), canonical
    return f"{local}@{domain}"[:EMAIL_MAX]
