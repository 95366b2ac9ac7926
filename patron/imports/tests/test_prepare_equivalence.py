"""``prepare_row`` (memoised groups, email fast path, hygiene's one-field step, memoised
birthdays and touched fields) gives byte for byte what the slow path gives: one hygiene
call per row and the row logic as it was (``prepare_reference``). Compared field by field,
dict order included, over the import benchmark's generated file and over generated
hostile rows, with the memos warm from earlier rows (as in a real worker)."""

from __future__ import annotations

import csv
import datetime as dt
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.hygiene.normalize import contact_input_normalize
from patron.imports.prepare import Plan, Prepared, _birthday_cached, prepare_row, prepare_rows
from patron.imports.tests.prepare_reference import reference_prepare_row

BENCH = Path(__file__).resolve().parents[3] / "benchmarks"
BENCH_TARGETS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "city",
    "country",
    "birthday",
)


def _plan(targets: tuple[str, ...], region: str = "US", key: str = "email") -> Plan:
    return Plan(
        headers=tuple(f"col{i}" for i in range(len(targets))),
        columns=tuple(enumerate(targets)),
        key=key,
        region=region,
        stages=(("lead", "Lead"), ("customer", "Customer")),
        tags=("imported",) if region == "DE" else (),
    )


def _fields(p: Prepared) -> list[Any]:
    """Every field, dicts as item lists (order counts: it is what gets stored)."""
    out: list[Any] = []
    for name, value in vars(p).items():
        if isinstance(value, dict):
            value = [(k, list(v.items()) if isinstance(v, dict) else v) for k, v in value.items()]
        out.append((name, value))
    return out


def _same(plan: Plan, row: int, cells: list[Any]) -> None:
    got = prepare_row(plan, row, cells)
    want = reference_prepare_row(plan, row, cells)
    assert _fields(got) == _fields(want), cells


def _bench_rows(tmp: Path, rows: int) -> list[list[str]]:
    sys.path.insert(0, str(BENCH))
    try:
        import import_contacts
    finally:
        sys.path.remove(str(BENCH))
    path = tmp / "contacts.csv"
    import_contacts.generate(path, rows, seed=7)
    with path.open(newline="", encoding="utf-8") as fh:
        records = list(csv.reader(fh))[1:]
    width = len(BENCH_TARGETS)
    return [(r + [""] * width)[:width] for r in records]


@pytest.mark.parametrize("region", ["US", "DE"])
def test_benchmark_file_rows_equal_the_slow_path(tmp_path: Path, region: str) -> None:
    plan = _plan(BENCH_TARGETS, region)
    rows = _bench_rows(tmp_path, 12_000)
    for n, cells in enumerate(rows, 2):
        _same(plan, n, cells)
    # What the worker sends back survives the trip to the writing process unchanged.
    prepared = prepare_rows(plan, [(n, c, "") for n, c in enumerate(rows[:500], 2)])
    back = pickle.loads(pickle.dumps(prepared, pickle.HIGHEST_PROTOCOL))
    assert type(back) is list and all(type(p) is Prepared for p in back)
    assert [_fields(p) for p in back] == [_fields(p) for p in prepared]


NAMES = ["JOHN", "mary", " ann ", "José", "ZOË", "o'brien", "MCDONALD", "van der berg",
         "Dr. Jane Q. Public III", "李", "x" * 130, "\u200bEve", "Ann\tLee", "'=cmd",
         "1234"]  # fmt: skip
EMAILS = ["Jane.Doe@Example.com", " ann+news@gmail.com ", "JOHN@EXAMPLE.ORG", "a at b.com",
          "josé@exämple.es", "zoe@xn--bcher-kva.de", "plain@localhost", "b@example.test",
          "x@y", "'+x@example.com", "a..b@example.com", '"q"@example.com', "A@B.CO"]  # fmt: skip
PHONES = ["(212) 555-0134", "+1 212 555 0134", "212.555.0134", "1-212-555-0134",
          "+49 30 1234567", "030 1234567", "0049 30 1234567", "+49 (0)30 1234567",
          "+33 1 23 45 67 08", "0123456780", "+44 20 71234567", "020 71234567",
          "+34 91 1234567", "91 1234567", "call me maybe", "1-800-FLOWERS", "+1 212 555 0134 x12",
          "00 44 20 7946 0958", "011 44 20 7946 0958", "５５５-０１３４", "+", "0", "123",
          "+999 123", "(0)30 1234567", "+49 030 1234567", "=1+2", "'+44 20 7946 0958"]  # fmt: skip
COUNTRIES = ["US", "usa", "Deutschland", "Allemagne", "UK", "España", "ES", "fr", "FRA",
             "Narnia", "the Netherlands", "Korea, Republic of", "", "G.B.", "CA", "Philippines",
             "Canada"]  # fmt: skip
DATES = ["1990-03-05", "05.03.1980", "March 5, 1975", "31/02/2000", "1/2/03", "2099-01-01",
         "32/13/1999", "20240305", "5. März 2024", "1899-12-31", "03/05/24", "yesterday",
         "2200000000 MAR 0"]  # fmt: skip
OTHER = ["Company 1", "  ACME  ", "x" * 300, "Lead", "customer", "vip; news, vip", "Berlin"]


def _pool(values: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(st.sampled_from(values), st.text(max_size=25), st.just(""), st.none())


ALL_TARGETS = (
    "full_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "birthday",
    "postal_code",
    "company",
    "tags",
    "lifecycle_stage",
    "job_title",
    "external_id",
)
POOLS = {
    "full_name": NAMES,
    "first_name": NAMES,
    "last_name": NAMES,
    "email": EMAILS,
    "phone": PHONES,
    "country": COUNTRIES,
    "birthday": DATES,
    "postal_code": ["10115", "sw1a 1aa", "x" * 30],
}


@st.composite
def plans_and_rows(draw: st.DrawFn) -> tuple[Plan, list[Any]]:
    targets = tuple(
        draw(st.lists(st.sampled_from(ALL_TARGETS), min_size=1, max_size=9, unique=True))
    )
    key = draw(st.sampled_from([t for t in ("email", "phone", "external_id") if t in targets]
                               or ["email"]))  # fmt: skip
    plan = _plan(targets, draw(st.sampled_from(["US", "DE", "GB"])), key)
    cells = [
        draw(
            st.one_of(
                _pool(POOLS.get(t, OTHER)),
                st.dates(min_value=dt.date(1850, 1, 1)) if t == "birthday" else st.nothing(),
            )
        )
        for t in targets
    ]
    return plan, cells


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans_and_rows())
def test_generated_rows_equal_the_slow_path(plan_cells: tuple[Plan, list[Any]]) -> None:
    plan, cells = plan_cells
    _same(plan, 2, cells)
    _same(plan, 3, cells)  # again, now from the memos


@pytest.mark.parametrize("value", ["03/05/24", "05.03.2024", "13/05/24", "2099-01-01", "x"])
def test_birthday_memo_is_exact_for_every_region_of_an_order(value: str) -> None:
    """The memo is keyed by date order; each region still gets hygiene's own answer."""
    for region in ("US", "CA", "PH", "DE", "GB", "FR", "us"):
        want = contact_input_normalize(
            {"birthday": value}, default_region=region, on_invalid="flag"
        )
        ok, got = _birthday_cached(value, region)
        assert (got if ok else None) == want.values.get("birthday")
        assert (None if ok else got) == want.invalid.get("birthday")
