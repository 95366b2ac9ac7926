"""Text clean-up shared by every normaliser: Unicode form, control characters, whitespace."""

from __future__ import annotations

import unicodedata

# Zero-width (non-)joiners carry meaning in Persian, Indic scripts and emoji: keep them.
_KEEP_FORMAT = {"\u200c", "\u200d"}


class NormalizationError(ValueError):
    """A value that cannot be normalised; the message is a user-facing field error."""


def _drop_controls(text: str) -> str:
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] != "C" or ch in "\t\n\r" or ch in _KEEP_FORMAT:
            out.append(ch)
    return "".join(out)


def clean_text(value: object, *, max_length: int | None = None, form: str = "NFC") -> str:
    """Unicode-normalised text without control or bidi-override characters, whitespace collapsed.

    ``form="NFKC"`` also folds compatibility characters (full-width digits and letters),
    which is right for machine values (emails, phones, codes) but not for names as entered.
    """
    if value is None:
        return ""
    text = unicodedata.normalize(form, str(value))  # type: ignore[arg-type]
    if not text.isprintable():  # printable: no C* character, nothing to drop (the usual case)
        text = _drop_controls(text)
    text = " ".join(text.split())
    if max_length is not None and len(text) > max_length:
        raise NormalizationError(f"Ensure this value has at most {max_length} characters.")
    return text


def fold(text: str) -> str:
    """Lower-case ASCII-ish letters and digits only: the key form used for matching."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():  # no combining marks, no ß: the same filter, done in C
        return "".join(filter(str.isalnum, decomposed))
    return "".join(
        ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)
    ).replace("ß", "ss")


def is_shouting_or_flat(text: str) -> bool:
    """True when cased letters are all upper or all lower (so re-capitalising is safe)."""
    letters = [ch for ch in text if ch.isalpha() and ch.lower() != ch.upper()]
    if not letters:
        return False
    return all(ch.isupper() for ch in letters) or all(ch.islower() for ch in letters)
