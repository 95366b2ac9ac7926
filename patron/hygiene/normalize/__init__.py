"""Normalisation of everything that enters Patron (one place, used by every entry point)."""

from patron.hygiene.normalize.country import normalize_country
from patron.hygiene.normalize.dates import normalize_date
from patron.hygiene.normalize.email import address_match_key, email_match_key, normalize_email
from patron.hygiene.normalize.name import (
    ParsedName,
    given_name_key,
    name_key,
    name_parse,
)
from patron.hygiene.normalize.phone import normalize_phone, phone_is_valid, phone_match_key
from patron.hygiene.normalize.record import (
    Normalized,
    OnInvalid,
    contact_input_normalize,
    contact_keys_refresh,
    normalize_postal_code,
)
from patron.hygiene.normalize.text import NormalizationError, clean_text, fold

__all__ = [
    "NormalizationError",
    "Normalized",
    "OnInvalid",
    "ParsedName",
    "address_match_key",
    "clean_text",
    "contact_input_normalize",
    "contact_keys_refresh",
    "email_match_key",
    "fold",
    "given_name_key",
    "name_key",
    "name_parse",
    "normalize_country",
    "normalize_date",
    "normalize_email",
    "normalize_phone",
    "normalize_postal_code",
    "phone_is_valid",
    "phone_match_key",
]
