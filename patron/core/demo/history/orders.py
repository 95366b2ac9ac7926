"""Per-contact history: orders and their lines, priced in the contact's currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from patron.commerce.models import Order, OrderLine
from patron.core.demo.history.base import (
    HistoryBase,
    Rows,
    money,
)
from patron.core.demo.people import Person, weighted


class OrderHistory(HistoryBase):
    """Orders with lines, and when a customer orders."""

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
