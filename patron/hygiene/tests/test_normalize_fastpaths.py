"""The normalisers' shortcuts give exactly what their first, plain versions gave.

``clean_text`` skips the per-character control filter for printable text, ``fold`` filters
ASCII in C, and ``normalize_date`` skips ``fromisoformat`` when the text cannot start with
a year and folds each word once. The plain versions are kept here verbatim as references
and compared over generated hostile and realistic input.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.hygiene.normalize import NormalizationError, clean_text, fold, normalize_date
from patron.hygiene.normalize.dates import _MONTH_BY_NAME, _NUMERIC, _WORDS, _build, _year
from patron.hygiene.normalize.dates import MONTH_FIRST_REGIONS as _MFR

# --- references (the code before the shortcuts) -------------------------------------------

_KEEP_FORMAT = {"\u200c", "\u200d"}


def ref_clean_text(value: object, *, max_length: int | None = None, form: str = "NFC") -> str:
    if value is None:
        return ""
    text = unicodedata.normalize(form, str(value))  # type: ignore[arg-type]
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] != "C" or ch in "\t\n\r" or ch in _KEEP_FORMAT:
            out.append(ch)
    text = " ".join("".join(out).split())
    if max_length is not None and len(text) > max_length:
        raise NormalizationError(f"Ensure this value has at most {max_length} characters.")
    return text


def ref_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(
        ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)
    ).replace("ß", "ss")


def ref_normalize_date(value: object, *, region: str | None = None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = ref_clean_text(value, form="NFKC")
    if not text:
        return None
    if len(text) > 40:
        raise NormalizationError("Enter a valid date.")
    pivot = dt.date.today().year % 100
    iso = text.replace("Z", "+00:00")
    try:
        return dt.datetime.fromisoformat(iso).date()
    except ValueError:
        pass
    if re.fullmatch(r"\d{8}", text):
        return _build(int(text[:4]), int(text[4:6]), int(text[6:]))
    m = _NUMERIC.match(text)
    if m:
        a, b, c = (int(g) for g in m.groups())
        if len(m.group(1)) == 4:
            return _build(a, b, c)
        year = _year(c, pivot=pivot)
        if a > 12 or "." in text:
            return _build(year, b, a)
        if b > 12:
            return _build(year, a, b)
        if (region or "US").upper() in _MFR:
            return _build(year, a, b)
        return _build(year, b, a)
    words = _WORDS.findall(text)
    month = next(
        (_MONTH_BY_NAME[ref_fold(w)] for w in words if ref_fold(w) in _MONTH_BY_NAME), None
    )
    numbers = [int(w) for w in words if w.isdigit()]
    if month and len(numbers) == 2:
        day, year = numbers[::-1] if numbers[0] > 31 else numbers
        return _build(_year(year, pivot=pivot), month, day)
    raise NormalizationError("Enter a valid date.")


def _outcome(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return ("ok", fn(*args, **kwargs))
    except NormalizationError as exc:
        return ("error", str(exc))
    except Exception as exc:  # anything else: both must fail alike
        return ("raised", type(exc).__name__)


# --- generated input ----------------------------------------------------------------------

TRICKY = [
    "\u200b", "\u200c", "\u200d", "\u202e", "\x00", "\t", "\n", "\r", "\x0b", "\xa0", "\u2028",
    "\u3000", "ß", "İ", "ﬁ", "Ａ", "１", "٣", "é", "e\u0301", "\ufeff", "🙂", "\ud7ff", " ",
]  # fmt: skip
texts = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.one_of(st.sampled_from(TRICKY), st.text(alphabet="aZ09 -.'/,", max_size=4)),
        max_size=12,
    ).map("".join),
)
MONTHS = ["March", "MÄRZ", "mars", "Sept", "déc", "Jänner", "dic", "mayo", "Foo"]
DATE_PARTS = st.sampled_from(
    ["2024", "1999", "03", "3", "31", "13", "00", "20240305", "24", "-", "/", ".", " ", ",",
     "T", "Z", ":", "+", "10:30", "W10", "２０２４", "٢٠٢٤", "12", "1", "1900", "2099"]
)  # fmt: skip
dates = st.one_of(
    texts,
    st.lists(st.one_of(DATE_PARTS, st.sampled_from(MONTHS)), max_size=8).map("".join),
    st.lists(st.one_of(DATE_PARTS, st.sampled_from(MONTHS)), max_size=6).map(" ".join),
    st.dates(min_value=dt.date(1, 1, 1)).flatmap(
        lambda d: st.sampled_from(
            [
                d.isoformat(),
                d.strftime("%d.%m.%Y"),
                d.strftime("%B %d, %Y"),
                d.strftime("%m/%d/%Y"),
                d.strftime("%d-%m-%y"),
                d.strftime("%Y%m%d"),
                f"{d.isoformat()}T10:00:00Z",
                f" {d.day}. {d.strftime('%b')} {d.year} ",
            ]
        )
    ),
)


@settings(max_examples=3000, deadline=None)
@given(texts, st.sampled_from(["NFC", "NFKC"]))
def test_clean_text_equals_the_plain_filter(value: str, form: str) -> None:
    assert clean_text(value, form=form) == ref_clean_text(value, form=form)


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_fold_equals_the_plain_filter(value: str) -> None:
    assert fold(value) == ref_fold(value)


@settings(max_examples=4000, deadline=None)
@given(dates, st.sampled_from(["US", "DE", "gb", None]))
def test_normalize_date_equals_the_plain_version(value: str, region: str | None) -> None:
    assert _outcome(normalize_date, value, region=region) == _outcome(
        ref_normalize_date, value, region=region
    )


def test_a_huge_year_is_an_invalid_date_not_a_crash() -> None:
    with pytest.raises(NormalizationError):
        normalize_date("2200000000 MAR 0")


@pytest.mark.parametrize(
    "value",
    ["2024-03-05", "20240305", "2024-03-05T10:00:00Z", "2024-W10-1", "2024-065", "05.03.2024",
     "March 5, 2024", "5. März 2024", "32/13/1999", "03/05/24", "２０２４-０３-０５", "1999 12 31",
     "0000-01-01", "2024-02-30", "", "   ", "Z", "2024"],
)  # fmt: skip
def test_normalize_date_known_shapes(value: str) -> None:
    for region in ("US", "DE"):
        assert _outcome(normalize_date, value, region=region) == _outcome(
            ref_normalize_date, value, region=region
        )
