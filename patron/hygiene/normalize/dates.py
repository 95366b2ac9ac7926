"""Dates from the formats people and spreadsheets use.

ISO (2024-03-05, with or without a time), compact (20240305), day-first with dots
(05.03.2024), slashes and dashes (ambiguous 03/05/2024 is month-first in the US,
Canada and the Philippines and day-first elsewhere; a part above 12 decides), and month
names in English, German, French and Spanish (5 March 2024, March 5, 2024, 5. März 2024).
"""

from __future__ import annotations

import datetime as dt
import re

from patron.hygiene.normalize.text import NormalizationError, clean_text, fold

MONTH_FIRST_REGIONS = {"US", "CA", "PH", "FM", "MH", "PW"}
_MONTHS = {
    1: ("january", "jan", "januar", "janvier", "enero", "ene", "janv", "jänner", "janner"),
    2: ("february", "feb", "februar", "fevrier", "fev", "febrero", "fevr"),
    3: ("march", "mar", "marz", "maerz", "mars", "marzo"),
    4: ("april", "apr", "avril", "avr", "abril", "abr"),
    5: ("may", "mai", "mayo"),
    6: ("june", "jun", "juni", "juin", "junio"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio"),
    8: ("august", "aug", "aout", "agosto", "ago"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre"),
    11: ("november", "nov", "novembre", "noviembre"),
    12: ("december", "dec", "dez", "dezember", "decembre", "diciembre", "dic"),
}
_MONTH_BY_NAME = {fold(name): num for num, names in _MONTHS.items() for name in names}
_NUMERIC = re.compile(r"^(\d{1,4})[./\-\s](\d{1,2})[./\-\s](\d{1,4})\.?$")
_WORDS = re.compile(r"[^\W\d_]+|\d+")
_COMPACT = re.compile(r"\d{8}")
# ``fromisoformat`` reads a four-digit (ASCII) year first: anything else cannot parse, so
# the attempt (and its exception, the dearest part of a non-ISO date) is skipped.
_ISO_YEAR = re.compile(r"[0-9]{4}")


def date_order(region: str | None) -> str:
    """How ambiguous numeric dates read in the region, "MDY" or "DMY": the only thing
    ``normalize_date`` takes from the region (so results can be memoised by it)."""
    return "MDY" if (region or "US").upper() in MONTH_FIRST_REGIONS else "DMY"


def _year(value: int, *, pivot: int) -> int:
    if value >= 100:
        return value
    return 2000 + value if value <= pivot else 1900 + value


def _build(year: int, month: int, day: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError) as exc:  # OverflowError: a year past C's int
        raise NormalizationError("Enter a valid date.") from exc


def normalize_date(value: object, *, region: str | None = None) -> dt.date | None:
    """A ``date`` from text (or a date/datetime), None for empty, else NormalizationError."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = clean_text(value, form="NFKC")
    if not text:
        return None
    if len(text) > 40:
        raise NormalizationError("Enter a valid date.")
    if _ISO_YEAR.match(text):
        try:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
        except ValueError:
            pass
    pivot = dt.date.today().year % 100
    if _COMPACT.fullmatch(text):
        return _build(int(text[:4]), int(text[4:6]), int(text[6:]))
    m = _NUMERIC.match(text)
    if m:
        a, b, c = (int(g) for g in m.groups())
        if len(m.group(1)) == 4:  # 2024/03/05
            return _build(a, b, c)
        year = _year(c, pivot=pivot)
        if a > 12 or "." in text:
            return _build(year, b, a)
        if b > 12:
            return _build(year, a, b)
        if date_order(region) == "MDY":
            return _build(year, a, b)
        return _build(year, b, a)
    words = _WORDS.findall(text)
    month = None
    for word in words:  # the first word that is a month name (each word folded once)
        month = _MONTH_BY_NAME.get(fold(word))
        if month:
            break
    numbers = [int(w) for w in words if w.isdigit()]
    if month and len(numbers) == 2:
        day, year = numbers[::-1] if numbers[0] > 31 else numbers
        return _build(_year(year, pivot=pivot), month, day)
    raise NormalizationError("Enter a valid date.")
