"""Entry-point normalisation: re-exports patron.hygiene.normalize (the one implementation).

Kept so existing imports keep working; new code imports from ``patron.hygiene.normalize``.
"""

from __future__ import annotations

from patron.hygiene.normalize import (
    NormalizationError,
    clean_text,
    contact_input_normalize,
    contact_keys_refresh,
    email_match_key,
    name_parse,
    normalize_country,
    normalize_date,
    normalize_email,
    normalize_phone,
)

__all__ = [
    "NormalizationError",
    "clean_text",
    "contact_input_normalize",
    "contact_keys_refresh",
    "email_match_key",
    "name_parse",
    "normalize_country",
    "normalize_date",
    "normalize_email",
    "normalize_phone",
    "search_text_for",
]


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
