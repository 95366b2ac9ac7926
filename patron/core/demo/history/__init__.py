"""Per-contact history: orders, tracking events, tickets, surveys, consents and notes.

Rows are built as unsaved model instances and collected in a :class:`Rows` batch; the
generator inserts them with ``bulk_create``. Everything is consistent with everything
else: "Order Completed" events carry the order's id and totals, CSAT answers follow
resolved tickets, withdrawals follow grants in the consent ledger.

A package (the module passed 500 lines): ``base`` holds the shared state and helpers,
and each part of a contact's history is a builder of its own, combined here.
"""

from __future__ import annotations

from patron.core.demo.history.base import (
    CENT,
    EVENT_FIELDS,
    MIN_GAP,
    Device,
    Rows,
    Sources,
    Users,
    money,
    price_in,
)
from patron.core.demo.history.care import CareHistory
from patron.core.demo.history.orders import OrderHistory
from patron.core.demo.history.tracking import TrackingHistory


class HistoryBuilder(OrderHistory, TrackingHistory, CareHistory):
    """Builds one contact's whole history (see the parts for each kind of row)."""


__all__ = [
    "CENT",
    "EVENT_FIELDS",
    "MIN_GAP",
    "Device",
    "HistoryBuilder",
    "Rows",
    "Sources",
    "Users",
    "money",
    "price_in",
]
