"""Per-contact history: support tickets, NPS/CSAT answers, the consent ledger and notes."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from patron.commerce.models import Order
from patron.contacts.models import Note
from patron.core.demo import catalog as cat
from patron.core.demo.history.base import (
    HistoryBase,
    Rows,
)
from patron.core.demo.people import Person, weighted
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket


class CareHistory(HistoryBase):
    """Tickets and surveys, consent grants and withdrawals, notes."""

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
