"""Random test data: a small world of contacts with everything segments can look at."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from patron.accounts.models import Team, User
from patron.commerce.models import Order, OrderLine
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactList,
    ContactListMember,
    CustomField,
    CustomFieldValue,
    Tag,
)
from patron.events.models import Event
from patron.events.services.aggregates import aggregates_rebuild
from patron.privacy.models import Consent
from patron.segments.tests.strategies import CATEGORIES, DATES, EVENTS, SKUS, TAGS, WORDS
from patron.support.models import SurveyResponse, Ticket

NOW = dt.datetime(2026, 2, 15, 12, 30, tzinfo=dt.UTC)


@dataclass
class World:
    contacts: list[int] = field(default_factory=list)
    users: list[int] = field(default_factory=list)
    teams: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)


def _when(rng: random.Random, now: dt.datetime, past: int = 60, future: int = 3) -> dt.datetime:
    seconds = rng.randint(-past * 86400, future * 86400)
    # Some values exactly on day boundaries, to catch off-by-one windows.
    if rng.random() < 0.2:
        return now - dt.timedelta(days=rng.randint(0, past))
    return now + dt.timedelta(seconds=seconds)


def custom_fields() -> dict[str, CustomField]:
    specs = [
        ("plan-tier", "choice", ["gold", "silver"]),
        ("score", "number", []),
        ("renewal", "date", []),
        ("active", "boolean", []),
        ("hobbies", "multi_choice", ["golf", "chess"]),
        ("nickname", "text", []),
    ]
    out = {}
    for key, typ, choices in specs:
        out[key], _ = CustomField.objects.get_or_create(
            entity="contact", key=key, defaults={"label": key, "type": typ, "choices": choices}
        )
    return out


def build_world(seed: int, n: int = 12, now: dt.datetime = NOW) -> World:
    rng = random.Random(seed)
    world = World()
    team = Team.objects.create(name=f"team-{seed}-{rng.random()}")
    world.teams = [team.pk]
    users = [
        User.objects.create(username=f"u{seed}-{i}-{rng.random()}", team=team if i == 0 else None)
        for i in range(2)
    ]
    world.users = [u.pk for u in users]
    tags = {name: Tag.objects.get_or_create(name=name)[0] for name in TAGS}
    lists = [ContactList.objects.create(name=f"list {i}") for i in range(2)]
    world.lists = [x.pk for x in lists]
    cfs = custom_fields()
    companies = [
        Company.objects.create(
            name=rng.choice(WORDS),
            industry=rng.choice(["", "Retail", "retail", "Tech"]),
            employees=rng.choice([None, 5, 50, 250]),
        )
        for _ in range(2)
    ]

    def word() -> str:
        return rng.choice(["", "", *WORDS])

    for i in range(n):
        c = Contact.objects.create(
            first_name=word(),
            last_name=word(),
            email=rng.choice(["", f"{word()}{i}@example.com"]),
            city=word(),
            country=rng.choice(["", "DE", "US", "de"]),
            lifecycle_stage=rng.choice(["", "lead", "customer"]),
            source=word(),
            external_id=rng.choice([None, f"x{i}", f"Ann{i}"]),
            birthday=rng.choice(
                [
                    None,
                    dt.date(1990, 2, 15),
                    dt.date(1985, 2, 20),
                    dt.date(2000, 12, 31),
                    dt.date(1992, 2, 29),
                    dt.date(1970, 1, 1),
                ]
            ),
            owner=rng.choice([None, *users]),
        )
        Contact.objects.filter(pk=c.pk).update(
            created_at=_when(rng, now, 90, 0), updated_at=_when(rng, now, 10, 0)
        )
        world.contacts.append(c.pk)
        c.tags.set(rng.sample(list(tags.values()), rng.randint(0, 2)))
        for lst in lists:
            if rng.random() < 0.4:
                ContactListMember.objects.create(contact_list=lst, contact=c)
        for co in companies:
            if rng.random() < 0.4:
                ContactCompany.objects.create(contact=c, company=co)
        _custom(rng, c, cfs)
        _events(rng, c, now)
        _orders(rng, c, now)
        _support(rng, c, now)
        _consents(rng, c, now)
    aggregates_rebuild(world.contacts)
    purchase_summary_refresh(world.contacts)  # orders above are written directly
    return world


def _custom(rng: random.Random, c: Contact, cfs: dict[str, CustomField]) -> None:
    rows: list[CustomFieldValue] = []
    if rng.random() < 0.6:
        rows.append(
            CustomFieldValue(
                field=cfs["plan-tier"], contact=c, value_text=rng.choice(["gold", "silver"])
            )
        )
    if rng.random() < 0.6:
        rows.append(
            CustomFieldValue(
                field=cfs["score"],
                contact=c,
                value_number=Decimal(rng.choice([0, 12.25, 50, 99.99, 150, 300, -5])),
            )
        )
    if rng.random() < 0.6:
        rows.append(
            CustomFieldValue(
                field=cfs["renewal"],
                contact=c,
                value_date=dt.date.fromisoformat(rng.choice(DATES))
                + dt.timedelta(days=rng.randint(-3, 3)),
            )
        )
    if rng.random() < 0.5:
        rows.append(CustomFieldValue(field=cfs["active"], contact=c, value_bool=rng.random() < 0.5))
    for option in ("golf", "chess"):
        if rng.random() < 0.4:
            rows.append(CustomFieldValue(field=cfs["hobbies"], contact=c, value_text=option))
    if rng.random() < 0.5:
        rows.append(
            CustomFieldValue(field=cfs["nickname"], contact=c, value_text=rng.choice(WORDS))
        )
    CustomFieldValue.objects.bulk_create(rows)


def _props(rng: random.Random) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if rng.random() < 0.7:
        props["plan"] = rng.choice(["pro", "basic", "PRO", 10, True, None])
    if rng.random() < 0.7:
        props["amount"] = rng.choice([0, 10, 25.5, 40, "10", False])
    if rng.random() < 0.4:
        props["paid"] = rng.choice([True, False])
    return props


def _burst(rng: random.Random, now: dt.datetime) -> list[dt.datetime]:
    """Many events of one name around the windows' edges, so that counts in a window
    reach and pass the stored recent timestamps' K (8): exactly at a window's start or
    at now, just outside, in the future (up to the ingest's day of tolerance and more)."""
    out = []
    for _ in range(rng.randint(3, 13)):
        pick = rng.random()
        if pick < 0.2:
            at = now - dt.timedelta(days=rng.choice([1, 7, 30, 45]))
        elif pick < 0.25:
            at = now
        elif pick < 0.4:
            at = now + dt.timedelta(seconds=rng.randint(1, 3 * 86400))
        elif pick < 0.5:
            at = now - dt.timedelta(days=rng.choice([1, 7, 30, 45]), microseconds=1)
        else:
            at = now - dt.timedelta(seconds=rng.randint(0, 10 * 86400))
        out.append(at)
    return out


def _events(rng: random.Random, c: Contact, now: dt.datetime) -> None:
    rows = []
    kinds = ["track", "track", "track", "page"]
    named = [
        (rng.choice(kinds), rng.choice(EVENTS), _when(rng, now)) for _ in range(rng.randint(0, 6))
    ]
    if rng.random() < 0.35:
        name = rng.choice(EVENTS)
        named += [("track", name, at) for at in _burst(rng, now)]
    for kind, name, at in named:
        rows.append(
            Event(
                contact=c,
                type=kind,
                event=name,
                timestamp=at,
                received_at=at,
                properties=_props(rng),
                processed=True,
            )
        )
    Event.objects.bulk_create(rows)


def _orders(rng: random.Random, c: Contact, now: dt.datetime) -> None:
    for _ in range(rng.randint(0, 3)):
        total = Decimal(rng.choice([0, 20, 50, 100, 150, 250]))
        order = Order.objects.create(
            contact=c,
            status=rng.choice(
                ["completed", "completed", "partially_refunded", "cancelled", "pending"]
            ),
            total=total,
            refunded_amount=Decimal(rng.choice([0, 0, 20])),
            placed_at=_when(rng, now),
        )
        for _ in range(rng.randint(0, 2)):
            OrderLine.objects.create(
                order=order,
                contact=c,
                sku=rng.choice(SKUS),
                name="x",
                category=rng.choice(CATEGORIES),
            )


def _support(rng: random.Random, c: Contact, now: dt.datetime) -> None:
    for _ in range(rng.randint(0, 2)):
        Ticket.objects.create(
            contact=c,
            subject="help",
            status=rng.choice(["open", "pending", "resolved", "closed"]),
            opened_at=_when(rng, now),
        )
    same = _when(rng, now)
    for _ in range(rng.randint(0, 3)):
        kind = rng.choice(["nps", "csat"])
        SurveyResponse.objects.create(
            contact=c,
            kind=kind,
            score=rng.randint(0, 10) if kind == "nps" else rng.randint(1, 5),
            responded_at=same if rng.random() < 0.3 else _when(rng, now),
        )


def _consents(rng: random.Random, c: Contact, now: dt.datetime) -> None:
    same = _when(rng, now)
    for _ in range(rng.randint(0, 3)):
        Consent.objects.create(
            contact=c,
            purpose=rng.choice(["email_marketing", "sms_marketing"]),
            channel=rng.choice(["email", "sms"]),
            status=rng.choice(["granted", "withdrawn"]),
            lawful_basis="consent",
            source="test",
            recorded_at=same if rng.random() < 0.4 else _when(rng, now),
        )
