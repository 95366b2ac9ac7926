"""Identity keys: the kinds, the memoised normalisers of emails and phones, the contact
points of identify traits, and the tracking pipeline's actor."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from patron.contacts.models import ContactIdentity
from patron.contacts.normalize import NormalizationError
from patron.contacts.normalize import normalize_email as _normalize_email
from patron.contacts.normalize import normalize_phone as _normalize_phone
from patron.hygiene.normalize import address_match_key

USER_ID = ContactIdentity.Kind.USER_ID.value
ANON_ID = ContactIdentity.Kind.ANONYMOUS_ID.value
EMAIL = ContactIdentity.Kind.EMAIL.value
PHONE = ContactIdentity.Kind.PHONE.value
#: last_seen of an identity is written when it moves on by more than this.
LAST_SEEN_GRANULARITY = dt.timedelta(minutes=5)
_NAME_TRAITS = ("name", "firstName", "first_name", "lastName", "last_name")


class SystemActor:
    """The tracking pipeline as the actor of its writes (activity shows its label).

    A trusted, in-process principal: it is never built from request input.
    """

    pk = None
    is_authenticated = True
    is_active = True
    is_service = True
    is_superuser = False
    is_restricted = False
    role_id = None
    team_id = None

    def __init__(self, label: str) -> None:
        self.label = label

    def __str__(self) -> str:
        return self.label

    def has_perm_code(self, code: str) -> bool:
        return True


# Normalising an address validates it (email_validator, phonenumbers): ~100 µs each, and
# one identify needs it several times (look-up, resolution, profile, match key). Pure
# functions of their input, so memoised; failures are not cached (rare) and re-raise.
normalize_email = functools.lru_cache(maxsize=20_000)(_normalize_email)
normalize_phone = functools.lru_cache(maxsize=20_000)(_normalize_phone)


@functools.lru_cache(maxsize=20_000)
def email_match_key(value: str) -> str:
    """hygiene's ``email_match_key``, through the memoised ``normalize_email``: the
    address is validated once for both (hygiene's own validated it again: two
    ``validate_email`` calls a new identify email, docs/performance.md, Stop 14)."""
    try:
        address = normalize_email(value)
    except NormalizationError:
        return ""
    return address_match_key(address)


def trait_contact_points(traits: Any, region: str) -> list[tuple[str, str]]:
    """Normalised (kind, value) of the email and phone in identify traits; bad ones skipped."""
    if not isinstance(traits, dict):
        return []
    out: list[tuple[str, str]] = []
    email = traits.get("email")
    if isinstance(email, str) and email.strip():
        try:
            value = normalize_email(email)
            if value and len(value) <= 254:
                out.append((EMAIL, value))
        except NormalizationError:
            pass
    phone = traits.get("phone")
    if isinstance(phone, (str, int)) and not isinstance(phone, bool) and str(phone).strip():
        try:
            value = normalize_phone(str(phone), region)
            if value:
                out.append((PHONE, value))
        except NormalizationError:
            pass
    return out
