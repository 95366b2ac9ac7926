"""A verified fast path for the commonest email shape (plain ASCII ``local@domain.tld``).

The hygiene normaliser validates with email_validator (Unicode, IDNA, quoting, ...), which
costs ~60 µs an address, and ``email_match_key`` validates again: two thirds of an
import's normalisation time. For an address made only of RFC 5322 "atext" dot-atoms and
LDH domain labels under an alphabetic TLD, the result is fully determined (the address
as typed with the domain lower-cased; the match key by hygiene's rule), so it is
computed directly. Anything else (Unicode, IDN/punycode, quotes, comments, special-use
domains, anything invalid) returns None and goes through hygiene.

It must never disagree with hygiene: ``tests/test_fastpath.py`` compares the two on
generated addresses, and at run time every ``VERIFY_EVERY``-th address is also
normalised by hygiene; a disagreement switches the fast path off for good (and is
logged), so a future change in hygiene cannot silently diverge.
"""

from __future__ import annotations

import logging
import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from patron.hygiene.normalize import NormalizationError, email_match_key, normalize_email
from patron.hygiene.normalize.email import _DOTLESS_PROVIDERS, EMAIL_MAX

logger = logging.getLogger(__name__)
VERIFY_EVERY = 997
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SPECIAL = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_DOTTED = tuple(s for s in SPECIAL_USE_DOMAIN_NAMES if "." in s)
_state = {"enabled": True, "seen": 0}


def _direct(value: str) -> tuple[str, str] | None:
    text = value.strip()
    if not text.isascii() or not text.isprintable() or " " in text:
        return None
    local, sep, domain = text.rpartition("@")
    if not sep or "@" in local or len(local) > 64 or len(domain) > 253:
        return None
    if not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        return None
    domain = domain.lower()
    labels = domain.split(".")
    if "--" in domain and any(label[2:4] == "--" for label in labels):
        return None  # punycode (xn--) and other reserved label forms: the full path
    # A special-use name without a dot can only be the last label (the domain has a dot).
    if labels[-1] in _SPECIAL or any(
        domain.endswith("." + s) or domain == s for s in _SPECIAL_DOTTED
    ):
        return None
    address = f"{local}@{domain}"
    if len(address) > EMAIL_MAX:
        return None
    key_local = local.lower()
    if "+" in key_local.lstrip("+"):
        key_local = key_local[: key_local.index("+", 1)]
    canonical = _DOTLESS_PROVIDERS.get(domain)
    key_domain = domain
    if canonical:
        key_local, key_domain = key_local.replace(".", ""), canonical
    return address, f"{key_local}@{key_domain}"[:EMAIL_MAX]


def _by_hygiene(value: str) -> tuple[str, str] | None:
    try:
        address = normalize_email(value)
    except NormalizationError:
        return None
    return address, email_match_key(address)


def email_fast(value: str) -> tuple[str, str] | None:
    """(normalised address, match key) exactly as hygiene gives them, or None when the
    address needs hygiene's full treatment (the caller then uses hygiene)."""
    if not _state["enabled"] or not isinstance(value, str):
        return None
    result = _direct(value)
    if result is None:
        return None
    _state["seen"] += 1
    if _state["seen"] % VERIFY_EVERY == 1:
        expected = _by_hygiene(value)
        if expected != result:
            _state["enabled"] = False
            logger.warning("imports: email fast path disagreed with hygiene; switched off")
            return None
    return result
