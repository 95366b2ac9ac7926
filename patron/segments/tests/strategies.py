"""Hypothesis strategies: random valid rule trees (over small value pools, so that they
meet the random data of the property tests) and random arbitrary-text trees (for the
text round trip)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from patron.segments.rules.catalogue import (
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    OPS_BY_TYPE,
    Catalogue,
    FieldSpec,
)

TAGS = ["vip", "newsletter", "b2b"]
EVENTS = ["signup", "purchase", "view"]
SKUS = ["SKU-1", "SKU-2", "SKU-3"]
CATEGORIES = ["shoes", "hats"]
WORDS = ["an", "Ann", "bo", "de", "x", "ma", "Berlin", "DE", "US", "customer", "lead"]
DATES = ["2025-12-01", "2026-01-15", "2026-02-20", "1990-05-04", "2026-03-01"]


def _safe_text(pool: list[str] | None) -> st.SearchStrategy[str]:
    if pool is not None:
        return st.sampled_from(pool)
    return st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        min_size=1,
        max_size=12,
    ).filter(lambda s: s.strip() != "")


def _number() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.integers(-5, 300),
        st.sampled_from([0.5, 12.25, 99.99, 150.0]),
    )


def _value_for(spec: FieldSpec, op: str, pool: list[str] | None, ids: list[int]) -> Any:
    typ = spec.type
    if op in ("in_last_days", "in_next_days", "older_than_days"):
        return st.integers(0, 90)
    if op == "anniversary_within_days":
        return st.integers(0, 366)
    if typ in ("date", "datetime"):
        one = st.sampled_from(DATES)
        if op == "between":
            return st.lists(one, min_size=2, max_size=2).map(sorted)
        return one
    if typ == "number":
        if op == "between":
            return st.lists(_number(), min_size=2, max_size=2).map(sorted)
        return _number()
    if typ == "boolean":
        return st.booleans()
    if typ == "ref":
        one = st.sampled_from(ids or [1])
        return st.lists(one, min_size=1, max_size=3) if op == "in" else one
    choices = [c[0] for c in spec.choices]
    one = st.sampled_from(choices) if choices and pool is not None else _safe_text(pool)
    return st.lists(one, min_size=1, max_size=3) if op == "in" else one


@st.composite
def field_condition(
    draw: Any, catalogue: Catalogue, pool: list[str] | None, ids: list[int]
) -> dict[str, Any]:
    spec = draw(st.sampled_from(sorted(catalogue.fields.values(), key=lambda s: s.key)))
    op = draw(st.sampled_from(OPS_BY_TYPE[spec.type]))
    out: dict[str, Any] = {"kind": "field", "field": spec.key, "op": op}
    if op not in ("is_set", "not_set"):
        out["value"] = draw(_value_for(spec, op, pool, ids))
    return out


def _window() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.sampled_from([1, 7, 30, 45]))


def _compare(count: bool) -> st.SearchStrategy[tuple[str, Any]]:
    number = st.integers(0, 6) if count else st.sampled_from([0, 20, 50.5, 100, 250])
    simple = st.tuples(st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]), number)
    between = st.tuples(st.just("between"), st.lists(number, min_size=2, max_size=2).map(sorted))
    return st.one_of(simple, between)


@st.composite
def property_filter(draw: Any, pool: list[str] | None) -> dict[str, Any]:
    name = draw(st.sampled_from(["plan", "amount", "paid"]))
    op = draw(st.sampled_from(["eq", "neq", "gt", "lte", "contains", "in", "is_set", "not_set"]))
    out: dict[str, Any] = {"property": name, "op": op}
    if op in ("is_set", "not_set"):
        return out
    if op in ("gt", "lte"):
        out["value"] = draw(st.sampled_from([0, 10, 25.5]))
    elif op == "contains":
        out["value"] = draw(st.sampled_from(["pr", "BASIC"]) if pool else _safe_text(None))
    else:
        one = st.one_of(
            st.sampled_from(["pro", "basic"]), st.sampled_from([10, 25.5]), st.booleans()
        )
        v = draw(one)
        out["value"] = [v] if op == "in" else v
    return out


@st.composite
def other_condition(
    draw: Any, pool: list[str] | None, lists: list[int], segments: list[int]
) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            [
                "tag",
                "list",
                "consent",
                "event",
                "event_time",
                "orders",
                "bought",
                "tickets",
                "survey",
            ]
            + (["segment"] if segments else [])
        )
    )
    text = (lambda p: st.sampled_from(p)) if pool is not None else (lambda p: _safe_text(None))
    if kind == "tag":
        return {"kind": "tag", "tag": draw(text(TAGS))}
    if kind == "list":
        return {"kind": "list", "list": draw(st.sampled_from(lists or [1, 2]))}
    if kind == "segment":
        return {"kind": "segment", "segment": draw(st.sampled_from(segments))}
    if kind == "consent":
        return {
            "kind": "consent",
            "purpose": draw(st.sampled_from(CONSENT_PURPOSES[:2])),
            "channel": draw(st.sampled_from(CONSENT_CHANNELS[:2])),
        }
    if kind == "event":
        return {
            "kind": "event",
            "event": draw(text(EVENTS)),
            "op": draw(st.sampled_from(["at_least", "at_most", "exactly"])),
            # Around the K (8) recent timestamps kept per contact and event (ADR 0060).
            "count": draw(st.one_of(st.integers(0, 3), st.integers(6, 9))),
            "within_days": draw(_window()),
            "where": draw(st.lists(property_filter(pool), max_size=2)),
        }
    if kind == "event_time":
        op = draw(st.sampled_from(["before", "after", "in_last_days", "older_than_days"]))
        value = draw(st.sampled_from(DATES) if op in ("before", "after") else st.integers(0, 60))
        return {
            "kind": "event_time",
            "event": draw(text(EVENTS)),
            "which": draw(st.sampled_from(["first", "last"])),
            "op": op,
            "value": value,
        }
    if kind == "orders":
        measure = draw(st.sampled_from(["count", "total", "average"]))
        op, value = draw(_compare(measure == "count"))
        return {
            "kind": "orders",
            "measure": measure,
            "op": op,
            "value": value,
            "within_days": draw(_window()),
        }
    if kind == "bought":
        by = draw(st.sampled_from(["product", "category"]))
        return {
            "kind": "bought",
            "by": by,
            "value": draw(text(SKUS if by == "product" else CATEGORIES)),
            "within_days": draw(_window()),
        }
    if kind == "tickets":
        op, value = draw(_compare(True))
        return {"kind": "tickets", "op": op, "value": value}
    op = draw(st.sampled_from(["eq", "neq", "gte", "lt", "between", "is_set", "not_set"]))
    out: dict[str, Any] = {
        "kind": "survey",
        "survey": draw(st.sampled_from(["nps", "csat"])),
        "op": op,
    }
    if op == "between":
        out["value"] = draw(st.lists(st.integers(0, 10), min_size=2, max_size=2).map(sorted))
    elif op not in ("is_set", "not_set"):
        out["value"] = draw(st.integers(0, 10))
    return out


def trees(
    catalogue: Catalogue,
    *,
    pool: list[str] | None = WORDS,
    ids: list[int] | None = None,
    lists: list[int] | None = None,
    segments: list[int] | None = None,
    max_leaves: int = 6,
) -> st.SearchStrategy[dict[str, Any]]:
    """Random normalised trees (root: a group)."""
    leaf = st.one_of(
        field_condition(catalogue, pool, ids or []),
        other_condition(pool, lists or [], segments or []),
    )

    def extend(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.builds(lambda xs: {"and": xs}, st.lists(children, max_size=3)),
            st.builds(lambda xs: {"or": xs}, st.lists(children, max_size=3)),
            st.builds(lambda x: {"not": x}, children),
        )

    node = st.recursive(leaf, extend, max_leaves=max_leaves)
    return st.builds(
        lambda op, xs: {op: xs}, st.sampled_from(["and", "or"]), st.lists(node, max_size=3)
    )


def depth(node: dict[str, Any]) -> int:
    if "and" in node or "or" in node:
        kids = node.get("and", node.get("or"))
        return 1 + max((depth(k) for k in kids), default=0)
    if "not" in node:
        return 1 + depth(node["not"])
    return 1


def small_trees(
    catalogue: Catalogue,
    *,
    ids: list[int] | None = None,
    lists: list[int] | None = None,
) -> st.SearchStrategy[dict[str, Any]]:
    """One to three conditions under one group (possibly negated): rarely all/nothing."""
    leaf = st.one_of(
        field_condition(catalogue, WORDS, ids or []),
        other_condition(WORDS, lists or [], []),
        other_condition(WORDS, lists or [], []),
    )
    maybe_not = st.one_of(leaf, leaf, st.builds(lambda x: {"not": x}, leaf))
    return st.builds(
        lambda op, xs: {op: xs},
        st.sampled_from(["and", "or"]),
        st.lists(maybe_not, min_size=1, max_size=3),
    )
