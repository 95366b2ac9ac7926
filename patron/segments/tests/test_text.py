"""The text syntax round-trips with the JSON form, and bad input gets clear messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.segments.rules import Catalogue, RuleError, parse_rules, print_rules, validate
from patron.segments.rules.schema import json_schema
from patron.segments.tests.strategies import depth, trees

CATALOGUE = Catalogue.build(
    custom=[
        (1, "plan-tier", "Plan tier", "choice", ["gold", "silver"], False),
        (2, "score", "Score", "number", [], False),
        (3, "renewal", "Renewal", "date", [], False),
        (4, "active", "Active", "boolean", [], False),
        (5, "hobbies", "Hobbies", "multi_choice", ["golf"], False),
    ],
    stages=[("lead", "Lead"), ("customer", "Customer")],
)
ROUNDTRIP = trees(CATALOGUE, pool=None, ids=[1, 7, 99], lists=[3], segments=[5]).filter(
    lambda t: depth(t) <= 8
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ROUNDTRIP)
def test_tree_to_text_to_tree_is_lossless(tree: dict) -> None:
    # Given a random valid tree (arbitrary strings included), normalised
    tree = validate(tree, CATALOGUE)
    # When it is printed and parsed back
    text = print_rules(tree)
    back = validate(parse_rules(text), CATALOGUE)
    # Then nothing was lost, and printing again gives the same text
    assert back == tree
    assert print_rules(back) == text


@settings(max_examples=200, deadline=None)
@given(ROUNDTRIP)
def test_text_to_tree_to_text_is_stable(tree: dict) -> None:
    # Given a text written with redundant spacing and case in keywords
    text = print_rules(validate(tree, CATALOGUE))
    sloppy = text.replace(" and ", "\n  AND ").replace(" or ", "   Or ")
    # When it is parsed and printed
    once = print_rules(validate(parse_rules(sloppy), CATALOGUE))
    # Then the canonical text is reached and stays put
    assert print_rules(validate(parse_rules(once), CATALOGUE)) == once


@pytest.mark.parametrize(
    "text",
    [
        'email contains "@gmail.com" and (tag "vip" or not in list 3)',
        'lifecycle_stage in ["lead", "customer"] and birthday anniversary within 7 days',
        'performed "Order Completed" at least 3 times in last 30 days where [plan = "pro"]',
        "orders total between 100 and 500.5 in last 90 days",
        'first performed "signup" before "2024-01-01" or last nps >= 9',
        "not consent email_marketing via email and open tickets > 0",
        'custom.plan-tier = "gold" and company.employees >= 50',
        "created_at more than 30 days ago",
        "all()",
        'any(tag "x")',
        '(tag "a" or tag "b")',
        'all(all(tag "a"))',
    ],
)
def test_examples_round_trip(text: str) -> None:
    tree = validate(parse_rules(text), CATALOGUE)
    assert print_rules(tree) == text
    assert validate(parse_rules(print_rules(tree)), CATALOGUE) == tree


def test_defaults_are_filled_and_omitted() -> None:
    tree = validate(parse_rules('performed "signup"'), CATALOGUE)
    assert tree == {
        "and": [
            {
                "kind": "event",
                "event": "signup",
                "op": "at_least",
                "count": 1,
                "within_days": None,
                "where": [],
            }
        ]
    }
    assert print_rules(tree) == 'performed "signup"'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('tag "a" and tag "b" or tag "c"', "mixing 'and' and 'or' needs parentheses"),
        ("email ~ 1", "unexpected character '~'"),
        ("email contains", "expected a value"),
        ('orders count >= 2 in last "x" days', "expected a number of days"),
        ("email; DROP TABLE x", "unexpected character ';'"),
        ("", "empty rules"),
        ("(" * 50 + 'tag "a"' + ")" * 50, "nested too deeply"),
    ],
)
def test_parse_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(RuleError) as info:
        validate(parse_rules(text), CATALOGUE)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            {"kind": "field", "field": "password", "op": "eq", "value": "x"},
            "Unknown field 'password'",
        ),
        (
            {"kind": "field", "field": "email__startswith", "op": "eq", "value": "x"},
            "Unknown field",
        ),
        ({"kind": "field", "field": "search_text", "op": "eq", "value": "x"}, "Unknown field"),
        ({"kind": "field", "field": "email", "op": "gt", "value": 3}, "does not apply to email"),
        ({"kind": "field", "field": "created_at", "op": "eq", "value": 3}, "does not apply"),
        ({"kind": "field", "field": "birthday", "op": "before", "value": "soon"}, "YYYY-MM-DD"),
        (
            {"kind": "field", "field": "custom.score", "op": "gt", "value": "1; --"},
            "must be a number",
        ),
        ({"kind": "field", "field": "email", "op": "in", "value": ["a"] * 501}, "list is too long"),
        ({"kind": "field", "field": "email", "op": "eq", "value": "a\x00b"}, "not allowed"),
        ({"kind": "field", "field": "email", "op": "eq", "value": ""}, "must not be empty"),
        ({"kind": "field", "field": "email", "op": "is_set", "value": "x"}, "takes no value"),
        (
            {"kind": "field", "field": "email", "op": "eq", "value": "x", "_connector": "OR"},
            "Unknown key",
        ),
        ({"kind": "raw_sql", "sql": "1=1"}, "Unknown condition kind 'raw_sql'"),
        (
            {
                "kind": "event",
                "event": "x",
                "where": [{"property": "a__b' --", "op": "eq", "value": 1}],
            },
            "Invalid property name",
        ),
        (
            {"kind": "orders", "measure": "count", "op": "between", "value": [5, 1]},
            "low value first",
        ),
        ({"kind": "consent", "purpose": "spam", "channel": "email"}, "Unknown consent purpose"),
        ({"kind": "event", "event": "x", "count": 1.5}, "whole number"),
        (
            {"kind": "field", "field": "custom.score", "op": "gt", "value": float("inf")},
            "out of range",
        ),
    ],
)
def test_validation_errors_are_clear(rules: dict, message: str) -> None:
    with pytest.raises(RuleError) as info:
        validate(rules, CATALOGUE)
    assert message in str(info.value)


def test_too_deep_and_too_many() -> None:
    tree: dict = {"kind": "tag", "tag": "a"}
    for _ in range(10):
        tree = {"not": tree}
    with pytest.raises(RuleError, match="nested too deeply"):
        validate({"and": [tree]}, CATALOGUE)
    many = {"or": [{"kind": "tag", "tag": str(i)} for i in range(101)]}
    with pytest.raises(RuleError, match="Too many conditions"):
        validate(many, CATALOGUE)


def test_forbidden_fields_for_an_actor_without_the_permission() -> None:
    class Actor:
        def __init__(self, codes: set[str]) -> None:
            self.codes = codes

        def has_perm_code(self, code: str) -> bool:
            return code in self.codes

    marketing = Actor({"contact.view", "order.view"})
    with pytest.raises(RuleError, match="sensitive field"):
        validate({"kind": "field", "field": "birthday", "op": "is_set"}, CATALOGUE, marketing)
    with pytest.raises(RuleError, match="may not filter on tickets"):
        validate({"kind": "tickets", "op": "gt", "value": 0}, CATALOGUE, marketing)
    assert validate(
        {"kind": "orders", "measure": "count", "op": "gt", "value": 0}, CATALOGUE, marketing
    )


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_any_text_parses_or_fails_with_rule_error(text: str) -> None:
    try:
        validate(parse_rules(text), CATALOGUE)
    except RuleError as exc:
        assert exc.errors and all(isinstance(e, str) for e in exc.errors)


def test_published_schema_matches_docs() -> None:
    path = Path(__file__).resolve().parents[3] / "docs" / "segments-rules.schema.json"
    assert json.loads(path.read_text()) == json_schema()
