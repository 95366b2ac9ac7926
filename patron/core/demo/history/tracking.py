"""Per-contact history: devices and tracking events (pages, products, checkout, app)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from patron.commerce.models import Order, OrderLine, Product
from patron.core.demo import catalog as cat
from patron.core.demo.history.base import (
    Device,
    HistoryBase,
    Rows,
)
from patron.core.demo.people import Person, weighted


class TrackingHistory(HistoryBase):
    """Devices and the tracking events of visits, shopping and the app."""

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
