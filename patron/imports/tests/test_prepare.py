"""Row preparation gives exactly what hygiene's normaliser gives, faster."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patron.hygiene.normalize import (
    NormalizationError,
    contact_input_normalize,
    email_match_key,
    normalize_email,
)
from patron.imports.fastpath import _direct, email_fast
from patron.imports.prepare import Plan, prepare_row

TARGETS = ("first_name", "last_name", "email", "phone", "country", "birthday", "postal_code")
PLAN = Plan(
    headers=TARGETS,
    columns=tuple(enumerate(TARGETS)),
    key="email",
    region="US",
    stages=(),
)
MESSY = [
    ["Jane", "Doe", "Jane.Doe@Example.com", "(555) 123-4567", "usa", "1990-03-05", "10115"],
    ["JOHN", "MCDONALD", "john@example.co.uk", "+44 20 7946 0958", "UK", "05.03.1980", "sw1a 1aa"],
    ["ludwig", "van der berg", "l@b.de", "030 1234567", "Deutschland", "March 5, 1975", ""],
    ["  ann ", "o'brien", "ann+news@gmail.com", "garbage", "Narnia", "31/02/2000", "x" * 30],
    ["José", "Fernández", "josé@exämple.es", "+34 91 123 45 67", "España", "1/2/03", "28001"],
    ["Zoë", "", "zoe@xn--bcher-kva.de", "", "", "", ""],
    ["", "", "plain@localhost", "", "", "", ""],
    ["Bob", "Ng", "b@example.test", "1-800-FLOWERS", "US", "2099-01-01", ""],
]


@pytest.mark.parametrize("cells", MESSY)
def test_prepared_values_equal_one_hygiene_call_per_row(cells: list[str]) -> None:
    data = {k: v for k, v in zip(TARGETS, cells, strict=True) if v.strip()}
    expected = contact_input_normalize(data, default_region="US", on_invalid="flag")
    got = prepare_row(PLAN, 2, cells)
    values = {k: v for k, v in got.values.items() if k != "full_name"}
    if got.ok:
        assert values == expected.values
        assert got.invalid == expected.invalid
        email = expected.values.get("email", "")
        assert got.email_key == (email_match_key(email) if email else "")
    else:
        assert "email" in expected.invalid or not expected.values.get("email")


_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-."
emails = st.builds(
    lambda local, labels, tld, pad: f"{pad}{local}@{'.'.join(labels)}.{tld}{pad}",
    st.text(_ATEXT + '"() @', min_size=1, max_size=70),
    st.lists(
        st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=64),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from(["com", "COM", "de", "test", "invalid", "c1", "x", "museum", "localhost"]),
    st.sampled_from(["", " ", "\t"]),
)


def _hygiene(value: str) -> Any:
    try:
        address = normalize_email(value)
    except NormalizationError:
        return None
    return address, email_match_key(address)


@settings(max_examples=1500, deadline=None)
@given(emails)
def test_fast_path_never_disagrees_with_hygiene(value: str) -> None:
    fast = _direct(value)
    if fast is not None:
        assert fast == _hygiene(value)


@pytest.mark.parametrize(
    "value",
    ["Jane.Doe+x@GoogleMail.com", "a@b.co", "o'brien@example.ie", "x@sub.example.museum"],
)
def test_fast_path_takes_the_common_shapes(value: str) -> None:
    assert email_fast(value) == _hygiene(value) is not None
