"""The text syntax of rule trees: a printer and a parser that round-trip with the JSON.

    lifecycle_stage = "customer" and country in ["DE", "AT"]
    and (tag "vip" or orders total >= 500 in last 365 days)
    and performed "Viewed Product" at least 3 times in last 30 days where [category = "shoes"]
    and not consent email_marketing via email

Groups join their members with ``and`` or ``or`` (mixing them needs parentheses); ``not``
binds to the next condition or parenthesised group. A group of one or no members is
written ``all(...)`` / ``any(...)``. Strings are JSON strings; dates are "YYYY-MM-DD".
``print_rules(parse_rules(t))`` is stable and ``parse_rules(print_rules(tree)) == tree``
for every normalised tree (see tests/test_text.py).
"""

from __future__ import annotations

import json
import re
from typing import Any

from patron.segments.rules.tree import RuleError

MAX_TEXT_LENGTH = 20_000

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*")
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\w.-]))
  | (?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.]))
  | (?P<op>>=|<=|!=|=|>|<)
  | (?P<punct>[()\[\],])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_-]*)?)
    """,
    re.VERBOSE,
)
_CMP_TEXT = {"eq": "=", "neq": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_CMP_OPS = {v: k for k, v in _CMP_TEXT.items()}
_COUNT_TEXT = {"at_least": "at least", "at_most": "at most", "exactly": "exactly"}


# --- Printer ----------------------------------------------------------------------------


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_lit(v) for v in value) + "]"
    raise ValueError(f"Cannot print {value!r}")


def _days(n: int) -> str:
    return f"{n} days"


def _op_text(op: str, value: Any) -> str:
    """An operator and its value, as written after a field or measure."""
    if op in _CMP_TEXT:
        return f"{_CMP_TEXT[op]} {_lit(value)}"
    return {
        "contains": lambda: f"contains {_lit(value)}",
        "starts_with": lambda: f"starts with {_lit(value)}",
        "ends_with": lambda: f"ends with {_lit(value)}",
        "in": lambda: f"in {_lit(value)}",
        "between": lambda: f"between {_lit(value[0])} and {_lit(value[1])}",
        "is_set": lambda: "is set",
        "not_set": lambda: "is not set",
        "before": lambda: f"before {_lit(value)}",
        "after": lambda: f"after {_lit(value)}",
        "in_last_days": lambda: f"in last {_days(value)}",
        "in_next_days": lambda: f"in next {_days(value)}",
        "older_than_days": lambda: f"more than {_days(value)} ago",
        "anniversary_within_days": lambda: f"anniversary within {_days(value)}",
    }[op]()


def _window(days: int | None) -> str:
    return "" if days is None else f" in last {_days(days)}"


def _condition(c: dict[str, Any]) -> str:
    kind = c["kind"]
    if kind == "field":
        return f"{c['field']} {_op_text(c['op'], c.get('value'))}"
    if kind == "tag":
        return f"tag {_lit(c['tag'])}"
    if kind == "list":
        return f"in list {c['list']}"
    if kind == "segment":
        return f"in segment {c['segment']}"
    if kind == "consent":
        return f"consent {c['purpose']} via {c['channel']}"
    if kind == "event":
        out = f"performed {_lit(c['event'])}"
        if (c["op"], c["count"]) != ("at_least", 1):
            unit = "time" if c["count"] == 1 else "times"
            out += f" {_COUNT_TEXT[c['op']]} {c['count']} {unit}"
        out += _window(c["within_days"])
        if c["where"]:
            parts = [f"{w['property']} {_op_text(w['op'], w.get('value'))}" for w in c["where"]]
            out += " where [" + ", ".join(parts) + "]"
        return out
    if kind == "event_time":
        return f"{c['which']} performed {_lit(c['event'])} {_op_text(c['op'], c['value'])}"
    if kind == "orders":
        return f"orders {c['measure']} {_op_text(c['op'], c['value'])}{_window(c['within_days'])}"
    if kind == "bought":
        return f"bought {c['by']} {_lit(c['value'])}{_window(c['within_days'])}"
    if kind == "tickets":
        return f"open tickets {_op_text(c['op'], c['value'])}"
    if kind == "survey":
        return f"last {c['survey']} {_op_text(c['op'], c.get('value'))}"
    raise ValueError(f"Unknown condition kind {kind!r}")


def _group_op(node: dict[str, Any]) -> str | None:
    return "and" if "and" in node else "or" if "or" in node else None


def _atom(node: dict[str, Any]) -> str:
    op = _group_op(node)
    if op is None:
        if "not" in node:
            return f"not {_atom(node['not'])}"
        return _condition(node)
    children = node[op]
    if len(children) < 2:
        word = "all" if op == "and" else "any"
        return f"{word}({', '.join(_atom(c) for c in children)})"
    return "(" + f" {op} ".join(_atom(c) for c in children) + ")"


def print_rules(tree: dict[str, Any]) -> str:
    """The text form of a normalised tree (whose root is a group)."""
    op = _group_op(tree)
    if op is None:
        return _atom(tree)
    children = tree[op]
    if len(children) >= 2:
        return f" {op} ".join(_atom(c) for c in children)
    if op == "and" and len(children) == 1:
        only = children[0]
        small_group = _group_op(only) is not None and len(only[_group_op(only)]) < 2
        if not small_group:
            return _atom(only)
    return _atom(tree)  # all() / any(x) / all(all(x)): an explicit group


# --- Parser -----------------------------------------------------------------------------


class _Tok:
    __slots__ = ("kind", "text", "pos")

    def __init__(self, kind: str, text: str, pos: int) -> None:
        self.kind, self.text, self.pos = kind, text, pos

    def __repr__(self) -> str:
        return self.text


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise RuleError([f"text: unexpected character {text[pos]!r} at position {pos + 1}."])
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, ahead: int = 0) -> _Tok:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def is_word(self, *words: str, ahead: int = 0) -> bool:
        t = self.peek(ahead)
        return t.kind == "word" and t.text.lower() in words

    def next(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def fail(self, expected: str) -> RuleError:
        tok = self.peek()
        found = "the end of the text" if tok.kind == "end" else repr(tok.text)
        return RuleError([f"text: expected {expected} at position {tok.pos + 1}, found {found}."])

    def word(self, *words: str) -> str:
        if not self.is_word(*words):
            raise self.fail(" or ".join(repr(w) for w in words))
        return self.next().text.lower()

    def punct(self, ch: str) -> None:
        tok = self.peek()
        if tok.kind != "punct" or tok.text != ch:
            raise self.fail(repr(ch))
        self.i += 1

    def is_punct(self, ch: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.text == ch

    def integer(self, what: str) -> int:
        tok = self.peek()
        if tok.kind != "number" or not re.fullmatch(r"-?\d+", tok.text):
            raise self.fail(what)
        self.i += 1
        return int(tok.text)

    def ident(self, what: str) -> str:
        tok = self.peek()
        if tok.kind == "word":
            self.i += 1
            return tok.text
        if tok.kind == "string":
            self.i += 1
            return json.loads(tok.text)
        raise self.fail(what)

    def value(self) -> Any:
        tok = self.peek()
        if tok.kind == "string":
            self.i += 1
            return json.loads(tok.text)
        if tok.kind == "date":
            self.i += 1
            return tok.text
        if tok.kind == "number":
            self.i += 1
            text = tok.text
            return float(text) if any(ch in text for ch in ".eE") else int(text)
        if self.is_word("true", "false"):
            return self.next().text.lower() == "true"
        if self.is_punct("["):
            self.i += 1
            items: list[Any] = []
            if not self.is_punct("]"):
                items.append(self.value())
                while self.is_punct(","):
                    self.i += 1
                    items.append(self.value())
                    if len(items) > 10_000:
                        raise RuleError(["text: the list is too long."])
            self.punct("]")
            return items
        raise self.fail('a value (a "string", a number, a date, true/false or a [list])')

    def days(self) -> int:
        n = self.integer("a number of days")
        self.word("days", "day")
        return n

    # grammar
    def sequence(self, closing: str | None) -> tuple[str | None, list[dict[str, Any]]]:
        self.depth += 1
        if self.depth > 20:
            raise RuleError(["text: rules are nested too deeply."])
        items = [self.unary()]
        op: str | None = None
        while self.is_word("and", "or"):
            word = self.next().text.lower()
            if op is not None and word != op:
                raise RuleError(
                    [
                        "text: mixing 'and' and 'or' needs parentheses "
                        f"(at position {self.toks[self.i - 1].pos + 1})."
                    ]
                )
            op = word
            items.append(self.unary())
        self.depth -= 1
        return op, items

    def unary(self) -> dict[str, Any]:
        if self.is_word("not"):
            self.i += 1
            self.depth += 1
            if self.depth > 20:
                raise RuleError(["text: rules are nested too deeply."])
            inner = self.unary()
            self.depth -= 1
            return {"not": inner}
        return self.atom()

    def atom(self) -> dict[str, Any]:
        if self.is_punct("("):
            self.i += 1
            op, items = self.sequence(")")
            self.punct(")")
            return items[0] if op is None else {op: items}
        if self.is_word("all", "any") and self.peek(1).kind == "punct" and self.peek(1).text == "(":
            word = self.next().text.lower()
            self.i += 1
            members: list[dict[str, Any]] = []
            if not self.is_punct(")"):
                members.append(self.unary())
                while self.is_punct(","):
                    self.i += 1
                    members.append(self.unary())
            self.punct(")")
            return {"and" if word == "all" else "or": members}
        if self.is_word("tag"):
            self.i += 1
            return {"kind": "tag", "tag": self.value()}
        if self.is_word("in") and self.is_word("list", "segment", ahead=1):
            self.i += 1
            what = self.next().text.lower()
            return {"kind": what, what: self.integer(f"a {what} id")}
        if self.is_word("consent"):
            self.i += 1
            purpose = self.ident("a consent purpose")
            self.word("via")
            return {"kind": "consent", "purpose": purpose, "channel": self.ident("a channel")}
        if self.is_word("performed"):
            self.i += 1
            return self.event()
        if self.is_word("first", "last") and self.is_word("performed", ahead=1):
            which = self.next().text.lower()
            self.i += 1
            event = self.value()
            op, value = self.operator(("before", "after", "in_last_days", "older_than_days"))
            return {"kind": "event_time", "event": event, "which": which, "op": op, "value": value}
        if self.is_word("last") and self.is_word("nps", "csat", ahead=1):
            self.i += 1
            survey = self.next().text.lower()
            op, value = self.operator()
            out = {"kind": "survey", "survey": survey, "op": op}
            return out if value is _NONE else {**out, "value": value}
        if self.is_word("orders"):
            self.i += 1
            measure = self.word("count", "total", "average")
            op, value = self.operator()
            return {
                "kind": "orders",
                "measure": measure,
                "op": op,
                "value": value,
                "within_days": self.window(),
            }
        if self.is_word("bought"):
            self.i += 1
            by = self.word("product", "category")
            value = self.value()
            return {"kind": "bought", "by": by, "value": value, "within_days": self.window()}
        if self.is_word("open") and self.is_word("tickets", ahead=1):
            self.i += 2
            op, value = self.operator()
            return {"kind": "tickets", "op": op, "value": value}
        tok = self.peek()
        if tok.kind == "word" and tok.text.lower() not in _KEYWORDS:
            self.i += 1
            op, value = self.operator()
            out = {"kind": "field", "field": tok.text, "op": op}
            return out if value is _NONE else {**out, "value": value}
        raise self.fail("a condition, 'not' or '('")

    def window(self) -> int | None:
        if self.is_word("in") and self.is_word("last", ahead=1):
            self.i += 2
            return self.days()
        return None

    def event(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "event", "event": self.value()}
        out.update(op="at_least", count=1, within_days=None, where=[])
        if self.is_word("at", "exactly"):
            word = self.next().text.lower()
            op = "exactly" if word == "exactly" else "at_" + self.word("least", "most")
            out["op"], out["count"] = op, self.integer("a count")
            self.word("times", "time")
        out["within_days"] = self.window()
        if self.is_word("where"):
            self.i += 1
            self.punct("[")
            where = [self.property_filter()]
            while self.is_punct(","):
                self.i += 1
                where.append(self.property_filter())
            self.punct("]")
            out["where"] = where
        return out

    def property_filter(self) -> dict[str, Any]:
        name = self.ident("a property name")
        op, value = self.operator()
        out = {"property": name, "op": op}
        return out if value is _NONE else {**out, "value": value}

    def operator(self, only: tuple[str, ...] | None = None) -> tuple[str, Any]:
        """An operator and its value (``_NONE`` for is set / is not set)."""
        tok = self.peek()
        op: str
        value: Any = _NONE
        if tok.kind == "op":
            self.i += 1
            op, value = _CMP_OPS[tok.text], self.value()
        elif self.is_word("contains"):
            self.i += 1
            op, value = "contains", self.value()
        elif self.is_word("starts", "ends"):
            op = self.next().text.lower() + "_with"
            self.word("with")
            value = self.value()
        elif self.is_word("in"):
            self.i += 1
            if self.is_word("last", "next"):
                op = f"in_{self.next().text.lower()}_days"
                value = self.days()
            else:
                op, value = "in", self.value()
        elif self.is_word("between"):
            self.i += 1
            low = self.value()
            self.word("and")
            op, value = "between", [low, self.value()]
        elif self.is_word("is"):
            self.i += 1
            op = "not_set" if self.is_word("not") else "is_set"
            if op == "not_set":
                self.i += 1
            self.word("set")
        elif self.is_word("before", "after"):
            op, value = self.next().text.lower(), self.value()
        elif self.is_word("more"):
            self.i += 1
            self.word("than")
            op, value = "older_than_days", self.days()
            self.word("ago")
        elif self.is_word("anniversary"):
            self.i += 1
            self.word("within")
            op, value = "anniversary_within_days", self.days()
        else:
            raise self.fail("an operator")
        if only is not None and op not in only:
            raise RuleError(
                [f"text: operator {op!r} is not allowed here (at position {tok.pos + 1})."]
            )
        return op, value


_NONE = object()
_KEYWORDS = {
    "and", "or", "not", "all", "any", "tag", "in", "consent", "performed", "first", "last",
    "orders", "bought", "open", "true", "false", "where",
}  # fmt: skip


def parse_rules(text: str) -> dict[str, Any]:
    """The (not yet validated) tree of a text; validate it with ``tree.validate``."""
    if not isinstance(text, str):
        raise RuleError(["text: expected text."])
    if len(text) > MAX_TEXT_LENGTH:
        raise RuleError([f"text: too long (at most {MAX_TEXT_LENGTH:,} characters)."])
    if not text.strip():
        raise RuleError(["text: empty rules; write all() to match every contact."])
    parser = _Parser(text)
    explicit = parser.is_word("all", "any") and parser.peek(1).text == "("
    op, items = parser.sequence(None)
    if parser.peek().kind != "end":
        raise parser.fail("'and', 'or' or the end of the text")
    if op is None and explicit:
        return items[0]  # the text is one all(...)/any(...): that group is the root
    return {op or "and": items}
