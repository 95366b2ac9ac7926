"""Compile a validated rule tree into a Q over Contact, through the ORM only.

Every column and lookup comes from the catalogue's specs or from constants here: rule
values are only ever query parameters. Two modes give the same results:

- ``scoped=False`` (whole-table evaluation): aggregates become ``id IN (SELECT contact_id
  ... GROUP BY contact_id HAVING ...)``, which PostgreSQL runs as one hashed pass;
- ``scoped=True`` (a handful of contacts, the incremental path): aggregates become
  correlated subqueries that probe the per-contact indexes.

Semantics shared with the reference evaluator in tests/pyeval.py:
``neq``/``not_set`` are the negation of ``eq``/``is_set``; multi-valued sources (custom
fields, companies, events) match when any row matches; text ``contains``/``starts with``/
``ends with`` ignore case (ASCII letters on SQLite), ``=`` is exact.

Layout: ``base`` (constants, predicates, aggregate primitives), ``behaviour`` (events,
purchases, tickets, surveys), ``profile`` (structure, profile conditions, ``Compiler``).
"""

from patron.segments.compiler.base import (
    COUNTED_ORDER_STATUSES,
    OPEN_TICKET_STATUSES,
    anniversary_window,
    compare_py,
    day_start,
)
from patron.segments.compiler.profile import Compiler, compile_rules

__all__ = [
    "COUNTED_ORDER_STATUSES",
    "OPEN_TICKET_STATUSES",
    "Compiler",
    "anniversary_window",
    "compare_py",
    "compile_rules",
    "day_start",
]
