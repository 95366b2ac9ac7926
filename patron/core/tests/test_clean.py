"""Field cleaners shared by the services: bad numbers give a ValidationError, never a crash."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from patron.core.clean import clean_decimal


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("1e400", "The number is too large."),
        ("-1e400", "The number is too large."),
        ("1e-400", "Ensure that there are no more than 2 decimal places."),
        ("999999999999.995", "Ensure that there are no more than 2 decimal places."),
        ("1000000000000", "The number is too large."),
        ("NaN", "Expected a finite number."),
        ("Infinity", "Expected a finite number."),
        ("ten", "Expected a number."),
        ("=1+2", "Expected a number."),
        (True, "Expected a number."),
        (None, "Expected a number."),
    ],
)
def test_clean_decimal_refuses_with_a_message(raw: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        clean_decimal(raw, "total", minimum=None)
    assert caught.value.message_dict == {"total": [message]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12.5", Decimal("12.50")), (" 3 ", Decimal("3.00")), ("999999999999.99", None), (7, None)],
)
def test_clean_decimal_accepts(raw: object, expected: Decimal | None) -> None:
    assert clean_decimal(raw, "total") == (expected if expected is not None else Decimal(raw))
