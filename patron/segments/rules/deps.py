"""Dependency analysis: what kinds of change can move a contact in or out of a segment.

Topics: ``profile`` (contact fields, custom fields, tags, company links and fields, owner),
``company`` (company fields only: an edit of a company re-evaluates its contacts just
for segments with company-field rules),
``lists``, ``consent``, ``events``, ``orders``, ``tickets`` (tickets and surveys),
``scores``, ``segment:<id>`` (membership of another segment) and ``time`` (the rules hold
a relative window, so the passing of time alone can change the answer).

A change reported by ``contacts_changed(what=...)`` re-evaluates a segment only when the
change's topics meet the segment's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from patron.segments.rules.catalogue import RELATIVE_OPS, Catalogue
from patron.segments.rules.tree import conditions

TOPICS = ("profile", "company", "lists", "consent", "events", "orders", "tickets", "scores")
#: What callers may report, and the topics each covers.
CHANGE_KINDS: dict[str, frozenset[str]] = {
    "profile": frozenset({"profile"}),
    "company": frozenset({"company"}),
    "lists": frozenset({"lists"}),
    "consent": frozenset({"consent"}),
    "events": frozenset({"events"}),
    "orders": frozenset({"orders"}),
    "tickets": frozenset({"tickets"}),
    "scores": frozenset({"scores"}),
    # A merge or an import can change anything about a contact.
    "merge": frozenset(TOPICS),
    "import": frozenset(TOPICS),
    "delete": frozenset(TOPICS),
}
_KIND_TOPIC = {
    "tag": "profile",
    "list": "lists",
    "consent": "consent",
    "event": "events",
    "event_time": "events",
    "orders": "orders",
    "bought": "orders",
    "tickets": "tickets",
    "survey": "tickets",
}
_SOURCE_TOPIC = {
    "contact": "profile",
    "owner_team": "profile",
    "company": "profile",
    "custom": "profile",
    "summary": "events",
    "score": "scores",
}


def is_time_condition(c: dict[str, Any]) -> bool:
    if c["kind"] == "field":
        return c["op"] in RELATIVE_OPS or c["op"] == "anniversary_within_days"
    if c["kind"] == "event_time":
        return c["op"] in RELATIVE_OPS
    if c["kind"] in ("event", "orders", "bought"):
        return c.get("within_days") is not None
    return False


def dependencies(tree: dict[str, Any], catalogue: Catalogue) -> set[str]:
    """The topics a (validated) tree depends on."""
    out: set[str] = set()
    for c in conditions(tree):
        if c["kind"] == "field":
            spec = catalogue.get(c["field"])
            out.add(_SOURCE_TOPIC[spec.source] if spec else "profile")
            if spec and spec.source == "company":
                out.add("company")  # the company's own edits, besides the contact's links
        elif c["kind"] == "segment":
            out.add(f"segment:{c['segment']}")
        else:
            out.add(_KIND_TOPIC[c["kind"]])
        if is_time_condition(c):
            out.add("time")
    return out


def topics_of(what: Iterable[str]) -> set[str]:
    """The topics covered by reported kinds of change (unknown kinds: everything)."""
    out: set[str] = set()
    for kind in what:
        if kind.startswith("segment:"):
            out.add(kind)
        else:
            out |= CHANGE_KINDS.get(kind, frozenset(TOPICS))
    return out
