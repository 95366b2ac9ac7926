"""Per-contact history, shared part: rows batches, devices, users, money, the builder's state.

Rows are built as unsaved model instances and collected in a :class:`Rows` batch; the
generator inserts them with ``bulk_create``. Everything is consistent with everything
else: "Order Completed" events carry the order's id and totals, CSAT answers follow
resolved tickets, withdrawals follow grants in the consent ledger.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from patron.commerce.models import Product
from patron.core.demo import catalog as cat

CENT = Decimal("0.01")
MIN_GAP = dt.timedelta(minutes=5)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def price_in(usd: Decimal, currency: str) -> Decimal:
    """A shop price: converted, then rounded to a .x9 / .x0 price point."""
    if currency == "USD":
        return usd
    raw = usd * cat.FX[currency]
    return max(Decimal("0.99"), money(raw.quantize(Decimal("0.1")) - Decimal("0.01")))


# Column order of the event tuples (events are the bulk of the data: no model instances).
# Demo events are stored already processed (contact resolved, orders and aggregates
# written by the generator), so the event processor does not replay them.
EVENT_FIELDS = (
    "contact",
    "type",
    "event",
    "name",
    "user_id",
    "anonymous_id",
    "timestamp",
    "original_timestamp",
    "sent_at",
    "received_at",
    "properties",
    "traits",
    "context",
    "source",
    "source_id",
    "message_id",
    "processed",
)


class Rows:
    """Unsaved rows of one batch, by model, in insertion order; events as tuples."""

    def __init__(self) -> None:
        self.by_model: dict[type, list[Any]] = defaultdict(list)
        self.events: list[tuple[Any, ...]] = []
        # contact id -> (type, event name, timestamp), for the behavioural aggregates
        self.aggregates: dict[int, list[tuple[str, str, dt.datetime]]] = defaultdict(list)

    def add(self, obj: Any) -> None:
        self.by_model[type(obj)].append(obj)


@dataclass
class Device:
    anonymous_id: str
    kind: str  # web | ios
    context: dict[str, Any]


@dataclass
class Sources:
    web: Any  # patron.events.models.Source
    ios: Any


@dataclass
class Users:
    reps: dict[str, list[Any]]  # country code -> sales reps of the territory
    manager: Any
    marketer: Any
    support: Any


class HistoryBase:
    """State and helpers shared by the history builders (the generator uses HistoryBuilder)."""

    def __init__(
        self,
        *,
        rng: random.Random,
        now: dt.datetime,
        start: dt.datetime,
        products: list[Product],
        users: Users,
        order_seq: int,
        ticket_seq: int,
        sources: Sources,
    ) -> None:
        self.rng = rng
        self.sources = sources
        self.now = now
        self.start = start
        self.users = users
        self.products = products
        self.order_seq = order_seq
        self.ticket_seq = ticket_seq
        self.prices: dict[tuple[str, str], Decimal] = {}
        for p in products:
            for cur in cat.FX:
                self.prices[(p.sku, cur)] = price_in(p.price, cur)
        weights = {"Beans": 10, "Equipment": 1.2, "Accessories": 3, "Subscriptions": 1.5}
        self.product_weights = [weights.get(p.category, 0.8) for p in products]
        self.wording_cutoff = start + (now - start) * 0.5

    # --- helpers --------------------------------------------------------------------------

    def between(self, a: dt.datetime, b: dt.datetime) -> dt.datetime:
        if b <= a:
            return a
        return a + (b - a) * self.rng.random()

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def latest(self) -> dt.datetime:
        return self.now - MIN_GAP
