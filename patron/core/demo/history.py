"""Per-contact history: orders, tracking events, tickets, surveys, consents and notes.

Rows are built as unsaved model instances and collected in a :class:`Rows` batch; the
generator inserts them with ``bulk_create``. Everything is consistent with everything
else: "Order Completed" events carry the order's id and totals, CSAT answers follow
resolved tickets, withdrawals follow grants in the consent ledger.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from patron.commerce.models import Order, OrderLine, Product
from patron.contacts.models import Note
from patron.core.demo import catalog as cat
from patron.core.demo.people import Person, weighted
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket

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


class HistoryBuilder:
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

    # --- orders ---------------------------------------------------------------------------

    def plan_orders(self, p: Person, customer: bool) -> list[dt.datetime]:
        """When this person orders (empty for prospects). Decided before the contact is
        saved, because the lifecycle stage follows from it."""
        if not customer:
            return []
        r = self.rng
        n = 1
        while n < 12 and r.random() < (0.55 if p.company else 0.45):
            n += 1
        first = p.created_at + dt.timedelta(minutes=r.randint(2, 40))
        if p.source != "shop checkout":
            first = self.between(p.created_at, p.created_at + (self.latest() - p.created_at) * 0.3)
        times = [first] + [self.between(first, self.latest()) for _ in range(n - 1)]
        return sorted(t for t in times if t < self.latest()) or [self.latest()]

    def orders(self, p: Person, times: list[dt.datetime], rows: Rows) -> list[Order]:
        r = self.rng
        cur = p.country.currency
        out: list[Order] = []
        for placed in times:
            self.order_seq += 1
            n_lines = weighted(r, ((1, 45), (2, 30), (3, 17), (4, 8)))
            picks = set()
            for _ in range(n_lines * 2):
                picks.add(r.choices(range(len(self.products)), self.product_weights)[0])
                if len(picks) >= n_lines:
                    break
            lines: list[OrderLine] = []
            for i in sorted(picks):
                prod = self.products[i]
                if prod.category == "Beans":
                    qty = weighted(r, ((1, 55), (2, 30), (3, 10), (6, 5 if p.company else 1)))
                elif prod.category == "Accessories":
                    qty = weighted(r, ((1, 75), (2, 25)))
                else:
                    qty = 1
                unit = self.prices[(prod.sku, cur)]
                lines.append(
                    OrderLine(
                        product=prod,
                        sku=prod.sku,
                        name=prod.name,
                        category=prod.category,
                        quantity=Decimal(qty),
                        unit_price=unit,
                        total=money(unit * qty),
                    )
                )
            subtotal = sum((ln.total for ln in lines), Decimal("0"))
            discount = money(subtotal * Decimal("0.10")) if r.random() < 0.15 else Decimal("0")
            threshold = {"USD": 50, "GBP": 40}.get(cur, 45)
            only_subs = all(ln.category in ("Subscriptions", "Gifts") for ln in lines)
            shipping = Decimal("0")
            if subtotal - discount < threshold and not only_subs:
                shipping = {"USD": Decimal("5.95"), "GBP": Decimal("3.95")}.get(
                    cur, Decimal("4.95")
                )
            tax = money((subtotal - discount + shipping) * p.country.tax_rate)
            total = subtotal - discount + shipping + tax
            if self.now - placed < dt.timedelta(days=2) and r.random() < 0.5:
                status = Order.Status.PENDING
            else:
                status = weighted(
                    r,
                    (
                        (Order.Status.COMPLETED, 88),
                        (Order.Status.REFUNDED, 4),
                        (Order.Status.PARTIALLY_REFUNDED, 4),
                        (Order.Status.CANCELLED, 4),
                    ),
                )
            refunded = Decimal("0")
            if status == Order.Status.REFUNDED:
                refunded = total
            elif status == Order.Status.PARTIALLY_REFUNDED:
                refunded = min(total, r.choice(lines).total)
            order = Order(
                contact_id=p.pk,
                external_id=f"BB-{self.order_seq}",
                status=status,
                currency=cur,
                subtotal=subtotal,
                discount=discount,
                tax=tax,
                shipping=shipping,
                total=total,
                refunded_amount=refunded,
                placed_at=placed,
                source=weighted(r, (("web", 80), ("ios", 8), ("phone", 6), ("pos", 6))),
                created_at=placed,
                updated_at=placed,
            )
            order.demo_lines = lines  # type: ignore[attr-defined]
            order.demo_coupon = "WELCOME10" if discount else ""  # type: ignore[attr-defined]
            for ln in lines:
                ln.contact_id = p.pk
            rows.add(order)
            out.append(order)
        return out

    # --- tracking events -------------------------------------------------------------------

    def devices(self, p: Person, has_account: bool) -> list[Device]:
        r = self.rng
        locale = f"{p.language or p.country.language}-{p.country.code}"
        tz = p.time_zone or (p.city.tz if p.city else "")
        out = []
        for i in range(1 + (r.random() < 0.3) + (r.random() < 0.1)):
            if has_account and i > 0 and r.random() < 0.5:
                ctx: dict[str, Any] = {
                    "library": {"name": "analytics-swift", "version": "1.5.11"},
                    "app": {"name": "Brightbean", "version": "3.4.1", "build": "341"},
                    "device": {"manufacturer": "Apple", "model": r.choice(cat.IOS_DEVICES)},
                    "os": {"name": "iOS", "version": r.choice(("17.4", "17.5", "18.1"))},
                    "locale": locale,
                    "timezone": tz,
                }
                out.append(Device(self.uuid().upper(), "ios", ctx))
            else:
                ctx = {
                    "library": {"name": "analytics.js", "version": "5.2.0"},
                    "userAgent": r.choice(cat.WEB_AGENTS),
                    "locale": locale,
                    "timezone": tz,
                }
                out.append(Device(self.uuid(), "web", ctx))
        return out

    def _event(
        self,
        rows: Rows,
        p: Person,
        device: Device,
        ts: dt.datetime,
        type_: str,
        *,
        uid: str,
        event: str = "",
        name: str = "",
        props: dict[str, Any] | None = None,
        traits: dict[str, Any] | None = None,
    ) -> None:
        r = self.rng
        ts = min(ts, self.latest())
        sent = ts + dt.timedelta(milliseconds=r.randint(5, 400))
        if device.kind == "ios" and r.random() < 0.2:
            sent += dt.timedelta(seconds=r.randint(30, 240))  # batched while offline
        received = sent + dt.timedelta(milliseconds=r.randint(20, 900))
        web = device.kind == "web"
        source = self.sources.web if web else self.sources.ios
        rows.events.append(
            (
                p.contact_id,
                type_,
                event,
                name,
                uid,
                device.anonymous_id,
                ts,
                ts,
                sent,
                received,
                props or {},
                traits or {},
                device.context,
                source.name,
                source.pk,
                f"ajs-{r.getrandbits(128):032x}" if web else self.uuid(),
                True,
            )
        )
        if p.contact_id is not None:
            rows.aggregates[p.contact_id].append((type_, event, ts))

    def _page(self, rows: Rows, p: Person, device: Device, ts: dt.datetime, uid: str) -> int:
        path, title, _ = weighted(self.rng, [(x, x[2]) for x in cat.PAGES])
        if device.kind == "ios":
            self._event(rows, p, device, ts, "screen", uid=uid, name=self.rng.choice(cat.SCREENS))
            return 1
        props = {
            "path": path,
            "url": f"{cat.SHOP_HOST}{path}",
            "title": f"{title} – Brightbean",
            "referrer": weighted(self.rng, cat.REFERRERS),
        }
        self._event(rows, p, device, ts, "page", uid=uid, name=title, props=props)
        return 1

    def _product_props(self, prod: Product, cur: str, qty: int | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {
            "product_id": prod.sku,
            "sku": prod.sku,
            "name": prod.name,
            "category": prod.category,
            "price": float(self.prices[(prod.sku, cur)]),
            "currency": cur,
        }
        if qty is not None:
            props["quantity"] = qty
        return props

    def events(
        self,
        p: Person,
        rows: Rows,
        *,
        uid: str,
        devices: list[Device],
        orders: list[Order],
        target: int,
    ) -> None:
        r = self.rng
        web = [d for d in devices if d.kind == "web"] or devices
        main = web[0]
        cur = p.country.currency
        n = 0
        if p.source in cat.WEB_SOURCES:
            for _ in range(r.randint(0, 4)):
                ts = self.between(
                    max(self.start, p.created_at - dt.timedelta(days=7)), p.created_at
                )
                n += self._page(rows, p, main, ts, uid="")
        created = p.created_at
        if uid:
            self._event(
                rows,
                p,
                main,
                created,
                "track",
                uid=uid,
                event="Signed Up",
                props={"method": weighted(r, (("email", 70), ("google", 20), ("apple", 10)))},
            )
            n += 1
        if p.email and (uid or p.source in cat.WEB_SOURCES):
            traits: dict[str, Any] = {
                "email": p.email,
                "first_name": p.first_name,
                "last_name": p.last_name,
                "created_at": created.isoformat(),
            }
            if p.phone:
                traits["phone"] = p.phone
            if p.company is not None:
                traits["company"] = {"name": p.company.name}
            ts = created + dt.timedelta(seconds=1)
            self._event(rows, p, main, ts, "identify", uid=uid, traits=traits)
            n += 1
        for order in orders:
            n += self._order_events(rows, p, r.choice(devices), order, uid, cur)
        while n < target:
            device = r.choice(devices)
            ts = self.between(created, self.latest())
            for _ in range(
                min(target - n, weighted(r, ((1, 25), (2, 25), (3, 20), (5, 20), (8, 10))))
            ):
                ts += dt.timedelta(seconds=r.randint(8, 180))
                roll = r.random()
                if roll < 0.62:
                    n += self._page(rows, p, device, ts, uid)
                elif roll < 0.9:
                    prod = r.choices(self.products, self.product_weights)[0]
                    props = self._product_props(prod, cur)
                    self._event(
                        rows, p, device, ts, "track", uid=uid, event="Product Viewed", props=props
                    )
                    n += 1
                elif roll < 0.95:
                    props = {"query": r.choice(cat.SEARCHES)}
                    self._event(
                        rows,
                        p,
                        device,
                        ts,
                        "track",
                        uid=uid,
                        event="Products Searched",
                        props=props,
                    )
                    n += 1
                else:  # an abandoned cart
                    prod = r.choices(self.products, self.product_weights)[0]
                    props = self._product_props(prod, cur, 1)
                    props["cart_id"] = self.uuid()
                    self._event(
                        rows, p, device, ts, "track", uid=uid, event="Added to Cart", props=props
                    )
                    n += 1

    def _order_events(
        self, rows: Rows, p: Person, device: Device, order: Order, uid: str, cur: str
    ) -> int:
        r = self.rng
        lines: list[OrderLine] = order.demo_lines  # type: ignore[attr-defined]
        t = order.placed_at - dt.timedelta(minutes=r.randint(6, 25))
        cart_id = self.uuid()
        n = self._page(rows, p, device, t, uid)
        products = []
        for ln in lines:
            t += dt.timedelta(seconds=r.randint(20, 150))
            props = self._product_props(ln.product, cur)  # type: ignore[arg-type]
            self._event(rows, p, device, t, "track", uid=uid, event="Product Viewed", props=props)
            t += dt.timedelta(seconds=r.randint(10, 90))
            cart = self._product_props(ln.product, cur, int(ln.quantity))  # type: ignore[arg-type]
            cart["cart_id"] = cart_id
            self._event(rows, p, device, t, "track", uid=uid, event="Added to Cart", props=cart)
            products.append({k: v for k, v in cart.items() if k != "cart_id"})
            n += 2
        summary = {
            "order_id": order.external_id,
            "total": float(order.total),
            "subtotal": float(order.subtotal),
            "revenue": float(order.subtotal - order.discount),
            "discount": float(order.discount),
            "tax": float(order.tax),
            "shipping": float(order.shipping),
            "currency": cur,
            "products": products,
        }
        coupon = order.demo_coupon  # type: ignore[attr-defined]
        if coupon:
            summary["coupon"] = coupon
        checkout_at = order.placed_at - dt.timedelta(seconds=r.randint(40, 200))
        self._event(
            rows, p, device, checkout_at, "track", uid=uid, event="Checkout Started", props=summary
        )
        n += 1
        if order.status == Order.Status.PENDING:
            return n
        self._event(
            rows,
            p,
            device,
            order.placed_at,
            "track",
            uid=uid,
            event="Order Completed",
            props=summary,
        )
        n += 1
        if order.status in (Order.Status.REFUNDED, Order.Status.PARTIALLY_REFUNDED):
            at = self.between(
                order.placed_at + dt.timedelta(days=2), order.placed_at + dt.timedelta(days=25)
            )
            if at < self.latest():
                props = {
                    "order_id": order.external_id,
                    "total": float(order.refunded_amount),
                    "currency": cur,
                }
                self._event(
                    rows, p, device, at, "track", uid=uid, event="Order Refunded", props=props
                )
                n += 1
        elif order.status == Order.Status.CANCELLED:
            at = order.placed_at + dt.timedelta(hours=r.randint(1, 30))
            props = {"order_id": order.external_id, "currency": cur}
            self._event(rows, p, device, at, "track", uid=uid, event="Order Cancelled", props=props)
            n += 1
        return n

    def anonymous_visitor(self, rows: Rows) -> int:
        """Page views of a visitor nobody has identified (no contact)."""
        r = self.rng
        device = Device(
            self.uuid(),
            "web",
            {
                "library": {"name": "analytics.js", "version": "5.2.0"},
                "userAgent": r.choice(cat.WEB_AGENTS),
            },
        )
        ts = self.between(self.start, self.latest())
        k = r.randint(1, 4)
        ghost = Person(country=cat.COUNTRIES[0], city=None, first_name="", last_name="")
        for _ in range(k):
            ts += dt.timedelta(seconds=r.randint(5, 120))
            self._page(rows, ghost, device, ts, uid="")
        return k

    # --- support ----------------------------------------------------------------------------

    def tickets(self, p: Person, orders: list[Order], customer: bool, rows: Rows) -> None:
        r = self.rng
        if r.random() >= (0.25 if customer else 0.05):
            return
        for _ in range(1 + (r.random() < 0.3) + (r.random() < 0.1)):
            subject, body = r.choice(cat.TICKET_SUBJECTS)
            order = r.choice(orders) if orders else None
            if "{order}" in subject and order is None:
                subject, body = cat.TICKET_SUBJECTS[1]
            if order is not None and "{order}" in subject:
                opened = order.placed_at + dt.timedelta(hours=r.randint(6, 24 * 20))
            else:
                opened = self.between(p.created_at, self.latest())
            opened = min(opened, self.latest() - dt.timedelta(minutes=30))
            local = cat.TICKET_SUBJECTS_LOCAL.get(p.language)
            if local and r.random() < 0.5:
                subject = r.choice(local)
                if "{order}" in subject and order is None:
                    subject = local[1]
            ref = order.external_id if order is not None else ""
            age = self.now - opened
            if age > dt.timedelta(days=10):
                status = weighted(r, (("closed", 75), ("resolved", 23), ("open", 2)))
            elif age > dt.timedelta(days=2):
                status = weighted(
                    r, (("resolved", 40), ("pending", 30), ("open", 20), ("closed", 10))
                )
            else:
                status = weighted(r, (("open", 50), ("pending", 30), ("resolved", 20)))
            resolved_at = None
            if status in ("resolved", "closed"):
                hours = min(24 * 30, math.exp(r.gauss(math.log(6), 1.2)))
                resolved_at = min(opened + dt.timedelta(hours=hours), self.latest())
            self.ticket_seq += 1
            assignee = weighted(r, ((self.users.support, 80), (self.users.manager, 10), (None, 10)))
            ticket = Ticket(
                contact_id=p.pk,
                subject=subject.format(order=ref)[:300],
                description=body.format(order=ref),
                channel=weighted(
                    r,
                    (("email", 45), ("chat", 25), ("phone", 15), ("web", 10), ("social", 5)),
                ),
                status=status,
                priority=weighted(r, (("low", 20), ("normal", 60), ("high", 15), ("urgent", 5))),
                assignee=assignee if status != "open" or r.random() < 0.5 else None,
                external_id=f"T-{self.ticket_seq}",
                opened_at=opened,
                resolved_at=resolved_at,
                created_at=opened,
                updated_at=resolved_at or opened,
            )
            ticket.demo_surveys = []  # type: ignore[attr-defined]
            rows.add(ticket)
            if resolved_at is not None and r.random() < 0.55:
                at = resolved_at + dt.timedelta(hours=r.randint(1, 48))
                if at < self.latest():
                    slow = (resolved_at - opened) > dt.timedelta(hours=48)
                    weights = (
                        ((1, 15), (2, 15), (3, 25), (4, 25), (5, 20))
                        if slow
                        else ((1, 3), (2, 5), (3, 12), (4, 30), (5, 50))
                    )
                    score = weighted(r, weights)
                    mood = "bad" if score <= 2 else "mid" if score == 3 else "good"
                    survey = SurveyResponse(
                        contact_id=p.pk,
                        kind=SurveyResponse.Kind.CSAT,
                        score=score,
                        comment=r.choice(cat.CSAT_COMMENTS[mood]) if r.random() < 0.4 else "",
                        responded_at=at,
                    )
                    ticket.demo_surveys.append(survey)  # type: ignore[attr-defined]

    def nps(self, p: Person, customer: bool, rows: Rows) -> None:
        r = self.rng
        if r.random() >= (0.3 if customer else 0.05):
            return
        for _ in range(1 + (r.random() < 0.15)):
            score = weighted(
                r,
                [
                    (s, w)
                    for s, w in zip(range(11), (2, 1, 2, 2, 3, 4, 6, 12, 18, 22, 28), strict=True)
                ],
            )
            mood = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
            rows.add(
                SurveyResponse(
                    contact_id=p.pk,
                    kind=SurveyResponse.Kind.NPS,
                    score=score,
                    comment=r.choice(cat.NPS_COMMENTS[mood]) if r.random() < 0.45 else "",
                    responded_at=self.between(p.created_at + dt.timedelta(days=3), self.latest()),
                )
            )

    # --- consent ------------------------------------------------------------------------------

    def _consent(
        self,
        rows: Rows,
        p: Person,
        purpose: str,
        channel: str,
        status: str,
        basis: str,
        source: str,
        wording: str,
        at: dt.datetime,
        by: Any = None,
    ) -> None:
        rows.add(
            Consent(
                contact_id=p.pk,
                purpose=purpose,
                channel=channel,
                status=status,
                lawful_basis=basis,
                source=source,
                wording_version=wording,
                recorded_at=at,
                recorded_by=by,
                created_at=at,
            )
        )

    def _maybe_withdraw(
        self,
        rows: Rows,
        p: Person,
        purpose: str,
        channel: str,
        basis: str,
        at: dt.datetime,
        rate: float,
    ) -> bool:
        """Maybe withdraw (and rarely re-grant) later; True when the latest row is a grant."""
        r = self.rng
        if r.random() >= rate:
            return True
        when = self.between(at + dt.timedelta(days=3), self.latest())
        if when >= self.latest():
            return True
        source = r.choice(
            cat.WITHDRAW_SOURCES if channel in ("email", "sms") else ("cookie settings",)
        )
        if channel == "email" and source == "reply STOP":
            source = "unsubscribe link"
        if channel == "sms":
            source = "reply STOP"
        by = self.users.support if source == "support request" else None
        self._consent(rows, p, purpose, channel, "withdrawn", basis, source, "", when, by)
        if r.random() < 0.1:
            again = self.between(when + dt.timedelta(days=1), self.latest())
            if again < self.latest():
                self._consent(
                    rows,
                    p,
                    purpose,
                    channel,
                    "granted",
                    "consent",
                    "preference centre",
                    "prefs-v2",
                    again,
                )
                return True
        return False

    def consents(
        self,
        p: Person,
        owner: Any,
        customer: bool,
        first_order: dt.datetime | None,
        rows: Rows,
        web: bool,
    ) -> bool:
        """The ledger for one person; returns whether they currently get the newsletter."""
        r = self.rng
        at = p.created_at + dt.timedelta(seconds=r.randint(1, 30))
        source = cat.CONSENT_SOURCES.get(p.source, "signup form")
        newsletter = False
        if p.email:
            rate = {"newsletter signup": 1.0, "webinar": 0.8, "trade show": 0.7}.get(p.source, 0.55)
            v = "email-optin-v1" if at < self.wording_cutoff else "email-optin-v2"
            by = owner if p.source in ("trade show", "import") else None
            if r.random() < rate:
                self._consent(
                    rows, p, "email_marketing", "email", "granted", "consent", source, v, at, by
                )
                newsletter = self._maybe_withdraw(
                    rows, p, "email_marketing", "email", "consent", at, 0.14
                )
            elif customer and first_order and p.country.code != "US" and r.random() < 0.35:
                # Soft opt-in: marketing similar products to existing customers.
                self._consent(
                    rows,
                    p,
                    "email_marketing",
                    "email",
                    "granted",
                    "legitimate_interests",
                    "existing customer (soft opt-in)",
                    "checkout-notice-v1",
                    first_order,
                )
                self._maybe_withdraw(
                    rows, p, "email_marketing", "email", "legitimate_interests", first_order, 0.2
                )
        if p.phone and p.phone_is_mobile and r.random() < 0.18:
            self._consent(
                rows, p, "sms_marketing", "sms", "granted", "consent", source, "sms-optin-v1", at
            )
            self._maybe_withdraw(rows, p, "sms_marketing", "sms", "consent", at, 0.2)
        if p.phone and p.company is not None and p.source == "trade show" and r.random() < 0.3:
            self._consent(
                rows,
                p,
                "phone_marketing",
                "phone",
                "granted",
                "legitimate_interests",
                "trade show conversation",
                "",
                at,
                owner,
            )
        if web:
            banner = "cookie-banner-v3" if at >= self.wording_cutoff else "cookie-banner-v2"
            if r.random() < 0.72:
                self._consent(
                    rows, p, "analytics", "web", "granted", "consent", "cookie banner", banner, at
                )
                self._maybe_withdraw(rows, p, "analytics", "web", "consent", at, 0.05)
            if r.random() < 0.45:
                self._consent(
                    rows, p, "profiling", "any", "granted", "consent", "cookie banner", banner, at
                )
                self._maybe_withdraw(rows, p, "profiling", "any", "consent", at, 0.05)
        return newsletter

    # --- notes --------------------------------------------------------------------------------

    def notes(self, p: Person, owner: Any, plan: str, seats: int, rows: Rows) -> None:
        r = self.rng
        if owner is None or r.random() >= 0.12:
            return
        for _ in range(1 + (r.random() < 0.3)):
            at = self.between(p.created_at, self.latest())
            body = r.choice(cat.NOTES).format(
                first=p.first_name,
                plan=plan or "Team",
                seats=seats or r.randint(5, 40),
                day=r.choice(cat.WEEKDAYS),
                event=r.choice(cat.TRADE_SHOWS),
                tz=p.time_zone or "local time",
            )
            rows.add(Note(contact_id=p.pk, body=body, author=owner, created_at=at, updated_at=at))
