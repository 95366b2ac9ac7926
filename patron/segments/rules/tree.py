"""Rule trees: validation and normalisation of the JSON form.

A tree is a group ``{"and": [...]}`` / ``{"or": [...]}``, a negation ``{"not": node}``
or a condition ``{"kind": ..., ...}`` (see ``schema.py`` for every kind). ``validate``
checks a tree against the catalogue (and the actor's permissions, when given), fills
defaults and returns the normalised tree; every problem is reported with its path.
The root is always a group: a bare condition is wrapped in ``{"and": [...]}``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from typing import Any

from patron.core.permissions import P
from patron.segments.rules.catalogue import (
    COMPARE_OPS,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    DATE,
    DATETIME,
    NUMBER,
    PROPERTY_OPS,
    REF,
    RELATIVE_OPS,
    SET_OPS,
    Catalogue,
)

MAX_DEPTH = 8
MAX_CONDITIONS = 100
MAX_LIST = 500
MAX_TEXT = 200
MAX_DAYS = 36_500
MAX_COUNT = 1_000_000_000
MAX_NUMBER = 10**15
MAX_WHERE = 10
PROPERTY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")

KINDS = (
    "field",
    "tag",
    "list",
    "segment",
    "consent",
    "event",
    "event_time",
    "orders",
    "bought",
    "tickets",
    "survey",
)
EVENT_COUNT_OPS = ("at_least", "at_most", "exactly")
EVENT_TIME_OPS = ("before", "after", "in_last_days", "older_than_days")
ORDER_MEASURES = ("count", "total", "average")
SURVEY_KINDS = ("nps", "csat")
#: Keys of each kind (besides "kind"): required ones and those with defaults.
_KEYS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "field": (("field", "op"), {"value": None}),
    "tag": (("tag",), {}),
    "list": (("list",), {}),
    "segment": (("segment",), {}),
    "consent": (("purpose", "channel"), {}),
    "event": (("event",), {"op": "at_least", "count": 1, "within_days": None, "where": []}),
    "event_time": (("event", "which", "op", "value"), {}),
    "orders": (("measure", "op", "value"), {"within_days": None}),
    "bought": (("by", "value"), {"within_days": None}),
    "tickets": (("op", "value"), {}),
    "survey": (("survey", "op"), {"value": None}),
}
_PERMISSIONS = {
    "event": P.EVENT_VIEW,
    "event_time": P.EVENT_VIEW,
    "orders": P.ORDER_VIEW,
    "bought": P.ORDER_VIEW,
    "tickets": P.TICKET_VIEW,
    "survey": P.TICKET_VIEW,
    "consent": P.CONSENT_VIEW,
    "list": P.CONTACT_VIEW,
    "segment": "segment.view",
}


class RuleError(ValueError):
    """Invalid rules: ``errors`` lists every problem as "path: message"."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


class _Ctx:
    def __init__(self, catalogue: Catalogue, actor: Any) -> None:
        self.catalogue = catalogue
        self.actor = actor
        self.errors: list[str] = []
        self.conditions = 0

    def err(self, path: str, message: str) -> None:
        if len(self.errors) < 50:
            self.errors.append(f"{path or 'rules'}: {message}")

    def allowed(self, code: str) -> bool:
        return self.actor is None or self.actor.has_perm_code(code)


def validate(raw: Any, catalogue: Catalogue, actor: Any = None) -> dict[str, Any]:
    """The normalised tree, or RuleError listing every problem."""
    ctx = _Ctx(catalogue, actor)
    if isinstance(raw, dict) and not ({"and", "or"} & set(raw)):
        raw = {"and": [raw]}
    node = _node(raw, "", 1, ctx)
    if ctx.errors or node is None:
        raise RuleError(ctx.errors or ["rules: invalid"])
    return node


def _node(raw: Any, path: str, depth: int, ctx: _Ctx) -> dict[str, Any] | None:
    if depth > MAX_DEPTH:
        ctx.err(path, f"Rules are nested too deeply (at most {MAX_DEPTH} levels).")
        return None
    if not isinstance(raw, dict):
        ctx.err(path, "Expected an object: a group, a 'not' or a condition.")
        return None
    for op in ("and", "or"):
        if op in raw:
            if len(raw) != 1:
                ctx.err(path, f"A group has only the key '{op}'.")
                return None
            children = raw[op]
            if not isinstance(children, list):
                ctx.err(path, f"'{op}' takes a list of rules.")
                return None
            out = [
                _node(c, f"{path}.{op}[{i}]".lstrip("."), depth + 1, ctx)
                for i, c in enumerate(children)
            ]
            return {op: [c for c in out if c is not None]}
    if "not" in raw:
        if len(raw) != 1:
            ctx.err(path, "A negation has only the key 'not'.")
            return None
        inner = _node(raw["not"], f"{path}.not".lstrip("."), depth + 1, ctx)
        return None if inner is None else {"not": inner}
    return _condition(raw, path, ctx)


def _condition(raw: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any] | None:
    ctx.conditions += 1
    if ctx.conditions == MAX_CONDITIONS + 1:
        ctx.err(path, f"Too many conditions (at most {MAX_CONDITIONS}).")
    kind = raw.get("kind")
    if kind not in KINDS:
        shown = _show(kind)
        ctx.err(path, f"Unknown condition kind {shown}; expected one of: {', '.join(KINDS)}.")
        return None
    required, defaults = _KEYS[kind]
    unknown = sorted(set(raw) - {"kind", *required, *defaults})
    if unknown:
        ctx.err(path, f"Unknown key(s) in a {kind} condition: {', '.join(map(_show, unknown))}.")
        return None
    missing = [k for k in required if k not in raw]
    if missing:
        ctx.err(path, f"A {kind} condition needs: {', '.join(missing)}.")
        return None
    perm = _PERMISSIONS.get(kind)
    if perm and not ctx.allowed(perm):
        ctx.err(path, f"You may not filter on {kind.replace('_', ' ')} data.")
        return None
    cond = {"kind": kind, **defaults, **{k: raw[k] for k in raw if k != "kind"}}
    before = len(ctx.errors)
    out = getattr(_Checks, kind)(cond, path, ctx)
    return out if len(ctx.errors) == before else None


# --- Values -----------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(v: Any, path: str, ctx: _Ctx, what: str = "value") -> str | None:
    if not isinstance(v, str):
        ctx.err(path, f"The {what} must be text.")
        return None
    if not v.strip():
        ctx.err(path, f"The {what} must not be empty.")
        return None
    if len(v) > MAX_TEXT:
        ctx.err(path, f"The {what} is too long (at most {MAX_TEXT} characters).")
        return None
    if "\x00" in v or any(0xD800 <= ord(ch) <= 0xDFFF for ch in v):
        ctx.err(path, f"The {what} contains characters that are not allowed.")
        return None
    return v


def _number(v: Any, path: str, ctx: _Ctx) -> int | float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        ctx.err(path, "The value must be a number.")
        return None
    if isinstance(v, float) and not math.isfinite(v) or abs(v) > MAX_NUMBER:
        ctx.err(path, f"The number is out of range (at most {MAX_NUMBER:,} either way).")
        return None
    return v


def _whole(v: Any, path: str, ctx: _Ctx, low: int, high: int, what: str) -> int | None:
    if isinstance(v, bool) or not isinstance(v, int):
        ctx.err(path, f"The {what} must be a whole number.")
        return None
    if not low <= v <= high:
        ctx.err(path, f"The {what} must be between {low} and {high:,}.")
        return None
    return v


def _date(v: Any, path: str, ctx: _Ctx) -> str | None:
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        try:
            dt.date.fromisoformat(v)
            return v
        except ValueError:
            pass
    ctx.err(path, "The value must be a date as YYYY-MM-DD.")
    return None


def _list(v: Any, path: str, ctx: _Ctx) -> list[Any] | None:
    if not isinstance(v, list) or not v:
        ctx.err(path, "The value must be a non-empty list.")
        return None
    if len(v) > MAX_LIST:
        ctx.err(path, f"The list is too long ({len(v):,} items; at most {MAX_LIST}).")
        return None
    return v


def _scalar_for(type_: str, op: str) -> str:
    """What kind of value an operator takes on a field type."""
    if op in RELATIVE_OPS:
        return "days"
    if op == "anniversary_within_days":
        return "anniversary"
    if type_ in (DATE, DATETIME):
        return "date"
    if type_ == NUMBER:
        return "number"
    if type_ == REF:
        return "id"
    if type_ == "boolean":
        return "bool"
    return "text"


def _value(kind: str, v: Any, path: str, ctx: _Ctx) -> Any:
    if kind == "text":
        return _text(v, path, ctx)
    if kind == "number":
        return _number(v, path, ctx)
    if kind == "date":
        return _date(v, path, ctx)
    if kind == "days":
        return _whole(v, path, ctx, 0, MAX_DAYS, "number of days")
    if kind == "anniversary":
        return _whole(v, path, ctx, 0, 366, "number of days")
    if kind == "id":
        return _whole(v, path, ctx, 1, 2**63 - 1, "id")
    if kind == "count":
        return _whole(v, path, ctx, 0, MAX_COUNT, "count")
    if kind == "bool":
        if not isinstance(v, bool):
            ctx.err(path, "The value must be true or false.")
            return None
        return v
    raise AssertionError(kind)


def _op_value(op: str, v: Any, scalar: str, path: str, ctx: _Ctx) -> Any:
    """Check ``v`` for operator ``op``; returns the value (or None when it has none)."""
    vpath = f"{path}.value".lstrip(".")
    if op in SET_OPS:
        if v is not None:
            ctx.err(vpath, f"'{op}' takes no value.")
        return None
    if v is None:
        ctx.err(vpath, f"'{op}' needs a value.")
        return None
    if op == "in":
        items = _list(v, vpath, ctx)
        if items is None:
            return None
        out = [_value(scalar, x, f"{vpath}[{i}]", ctx) for i, x in enumerate(items)]
        return out
    if op == "between":
        if not (isinstance(v, list) and len(v) == 2):
            ctx.err(vpath, "'between' takes a list of two values [low, high].")
            return None
        lo, hi = (_value(scalar, x, vpath, ctx) for x in v)
        if lo is not None and hi is not None and lo > hi:
            ctx.err(vpath, "'between' needs the low value first.")
        return [lo, hi]
    return _value(scalar, v, vpath, ctx)


def _choice(v: Any, options: tuple[str, ...], path: str, ctx: _Ctx, what: str) -> Any:
    if v not in options:
        ctx.err(path, f"Unknown {what} {_show(v)}; expected one of: {', '.join(options)}.")
    return v


def _window(cond: dict[str, Any], path: str, ctx: _Ctx) -> None:
    if cond["within_days"] is not None:
        _whole(cond["within_days"], f"{path}.within_days".lstrip("."), ctx, 1, MAX_DAYS, "window")


class _Checks:
    """One checker per condition kind; each returns the normalised condition."""

    @staticmethod
    def field(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        key, op = c["field"], c["op"]
        spec = ctx.catalogue.get(key) if isinstance(key, str) else None
        if spec is None:
            ctx.err(path, f"Unknown field {_show(key)}.")
            return c
        if not ctx.allowed(spec.permission):
            ctx.err(path, f"You may not filter on {key}.")
            return c
        if spec.sensitive and not ctx.allowed(P.CONTACT_VIEW_SENSITIVE):
            ctx.err(path, f"{key} is a sensitive field: you may not filter on it.")
            return c
        if op not in spec.ops:
            ops = ", ".join(spec.ops)
            ctx.err(
                path, f"Operator {_show(op)} does not apply to {key} ({spec.type}); use: {ops}."
            )
            return c
        c["value"] = _op_value(op, c["value"], _scalar_for(spec.type, op), path, ctx)
        if op in SET_OPS:
            del c["value"]
        return c

    @staticmethod
    def tag(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _text(c["tag"], path, ctx, "tag")
        return c

    @staticmethod
    def list(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _whole(c["list"], path, ctx, 1, 2**63 - 1, "list id")
        return c

    @staticmethod
    def segment(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _whole(c["segment"], path, ctx, 1, 2**63 - 1, "segment id")
        return c

    @staticmethod
    def consent(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _choice(c["purpose"], CONSENT_PURPOSES, path, ctx, "consent purpose")
        _choice(c["channel"], CONSENT_CHANNELS, path, ctx, "consent channel")
        return c

    @staticmethod
    def event(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _text(c["event"], path, ctx, "event name")
        _choice(c["op"], EVENT_COUNT_OPS, path, ctx, "count operator")
        _whole(c["count"], path, ctx, 0, MAX_COUNT, "count")
        _window(c, path, ctx)
        where = c["where"]
        if not isinstance(where, list) or len(where) > MAX_WHERE:
            ctx.err(path, f"'where' takes a list of at most {MAX_WHERE} property filters.")
            return c
        out = []
        for i, f in enumerate(where):
            fpath = f"{path}.where[{i}]".lstrip(".")
            if (
                not isinstance(f, dict)
                or set(f) - {"property", "op", "value"}
                or not ({"property", "op"} <= set(f))
            ):
                ctx.err(fpath, 'A property filter is {"property", "op", "value"}.')
                continue
            name, op = f["property"], f["op"]
            if not (isinstance(name, str) and PROPERTY_NAME.match(name)):
                ctx.err(fpath, f"Invalid property name {_show(name)} (letters, digits, _).")
                continue
            if op not in PROPERTY_OPS:
                ctx.err(fpath, f"Unknown property operator {_show(op)}.")
                continue
            v = f.get("value")
            if op in ("gt", "gte", "lt", "lte"):
                scalar = "number"
            elif op == "contains":
                scalar = "text"
            elif isinstance(v, bool) or (
                op == "in" and isinstance(v, list) and v and isinstance(v[0], bool)
            ):
                scalar = "bool"
            elif isinstance(v, (int, float)) or (
                op == "in" and isinstance(v, list) and v and isinstance(v[0], (int, float))
            ):
                scalar = "number"
            else:
                scalar = "text"
            nv = _op_value(op, v, scalar, fpath, ctx)
            if op == "in" and isinstance(nv, list) and len({type(x) for x in nv}) > 1:
                ctx.err(fpath, "The values of 'in' must all be of one type.")
            item = {"property": name, "op": op}
            if op not in SET_OPS:
                item["value"] = nv
            out.append(item)
        c["where"] = out
        return c

    @staticmethod
    def event_time(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _text(c["event"], path, ctx, "event name")
        _choice(c["which"], ("first", "last"), path, ctx, "'which'")
        if c["op"] not in EVENT_TIME_OPS:
            _choice(c["op"], EVENT_TIME_OPS, path, ctx, "operator")
            return c
        scalar = "days" if c["op"] in RELATIVE_OPS else "date"
        c["value"] = _op_value(c["op"], c["value"], scalar, path, ctx)
        return c

    @staticmethod
    def orders(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _choice(c["measure"], ORDER_MEASURES, path, ctx, "measure")
        if c["op"] not in COMPARE_OPS:
            _choice(c["op"], COMPARE_OPS, path, ctx, "operator")
            return c
        scalar = "count" if c["measure"] == "count" else "number"
        c["value"] = _op_value(c["op"], c["value"], scalar, path, ctx)
        _window(c, path, ctx)
        return c

    @staticmethod
    def bought(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _choice(c["by"], ("product", "category"), path, ctx, "'by'")
        _text(c["value"], path, ctx)
        _window(c, path, ctx)
        return c

    @staticmethod
    def tickets(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        if c["op"] not in COMPARE_OPS:
            _choice(c["op"], COMPARE_OPS, path, ctx, "operator")
            return c
        c["value"] = _op_value(c["op"], c["value"], "count", path, ctx)
        return c

    @staticmethod
    def survey(c: dict[str, Any], path: str, ctx: _Ctx) -> dict[str, Any]:
        _choice(c["survey"], SURVEY_KINDS, path, ctx, "survey")
        if c["op"] not in (*COMPARE_OPS, *SET_OPS):
            _choice(c["op"], (*COMPARE_OPS, *SET_OPS), path, ctx, "operator")
            return c
        c["value"] = _op_value(c["op"], c["value"], "count", path, ctx)
        if c["op"] in SET_OPS:
            del c["value"]
        return c


# --- Walking ----------------------------------------------------------------------------


def conditions(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every condition of a (normalised) tree."""
    if "and" in node or "or" in node:
        for child in node.get("and", node.get("or", [])):
            yield from conditions(child)
    elif "not" in node:
        yield from conditions(node["not"])
    else:
        yield node


def referenced_segments(node: dict[str, Any]) -> set[int]:
    return {c["segment"] for c in conditions(node) if c["kind"] == "segment"}


def referenced_lists(node: dict[str, Any]) -> set[int]:
    return {c["list"] for c in conditions(node) if c["kind"] == "list"}
