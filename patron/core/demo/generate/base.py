"""The demo generator, shared part: settings, refusal, back-dating, and the generator's
state and set-up (users, products, custom fields, lists, tracking sources)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import connection, models
from django.utils import timezone

from patron.accounts.models import Team, User
from patron.accounts.services import roles_ensure_defaults, user_create
from patron.commerce.models import Order, OrderLine, Product
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    ContactList,
    ContactListMember,
    CustomField,
    CustomFieldValue,
    Note,
    Tag,
)
from patron.core.demo import catalog as cat
from patron.core.demo.bulk import FastInsert
from patron.core.demo.history import HistoryBuilder, Sources, Users
from patron.core.demo.people import CompanySpec, PeopleFactory, Person
from patron.core.models import Activity
from patron.events.models import ContactEventCount, ContactEventSummary, Event, Source
from patron.events.services import source_create
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket

ACTOR_LABEL = "demo"
DUPLICATE_SHARE = 0.05
CUSTOMER_SHARE = 0.40
WINDOW = dt.timedelta(days=548)  # 18 months
BATCH = 1000
# Rows whose ids the generator needs back go through bulk_create; the rest (the bulk of
# the data) through FastInsert.
NEED_IDS: frozenset[type[models.Model]] = frozenset({Company, Contact, Order, Ticket, ContactList})

# Tables shown in the summary, in this order.
SUMMARY_MODELS: tuple[type[models.Model], ...] = (
    User,
    Team,
    Tag,
    CustomField,
    Product,
    Company,
    Contact,
    ContactIdentity,
    ContactCompany,
    Contact.tags.through,
    CustomFieldValue,
    ContactList,
    ContactListMember,
    Note,
    Order,
    OrderLine,
    Source,
    Event,
    ContactEventSummary,
    ContactEventCount,
    Ticket,
    SurveyResponse,
    Consent,
    Activity,
)
# Models whose auto_now / auto_now_add timestamps the generator sets itself (history).
BACKDATED: tuple[type[models.Model], ...] = (
    Company,
    Contact,
    ContactIdentity,
    ContactCompany,
    ContactList,
    ContactListMember,
    Note,
    Activity,
    Product,
    Order,
    Ticket,
    Consent,
)
CUSTOM_FIELDS: tuple[tuple[str, str, str, str, list[str]], ...] = (
    ("contact", "plan", "Plan", "choice", ["Starter", "Team", "Business", "Enterprise"]),
    ("contact", "seats", "Seats", "number", []),
    ("contact", "renewal_date", "Renewal date", "date", []),
    ("contact", "newsletter", "Newsletter", "boolean", []),
    ("company", "account_tier", "Account tier", "choice", ["Strategic", "Growth", "Standard"]),
)
LISTS = (
    ("Trade show leads", "People met at trade shows, to follow up."),
    ("Beta testers", "Testing the new app before release."),
    ("Newsletter – DACH", "German-speaking newsletter subscribers."),
)


class DemoRefused(Exception):
    """The database already holds data and --force was not given."""


@dataclass
class DemoResult:
    seed: int
    contacts: int
    seconds: float
    counts: dict[str, int]  # model label -> rows created by this run
    duplicates: int
    duplicates_path: Path


def _refusal(contacts: int, companies: int) -> str:
    return (
        f"The database already holds data ({contacts:,} contacts, {companies:,} companies). "
        "The demo generates a complete data set "
        "and is meant for an empty database: running it again would mix two data sets, "
        "add look-alike people that are not listed as planted duplicates (so the dedupe "
        "ground truth in demo_duplicates.csv would be wrong), and cannot be undone in one "
        "step. Use a fresh database, or pass --force to add another batch anyway."
    )


@contextmanager
def _backdating(model_classes: tuple[type[models.Model], ...]) -> Iterator[None]:
    """Let the generator set auto_now/auto_now_add timestamps (a past history).

    Process-wide while it lasts: only for the demo command, never in a web process.
    """
    saved = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))  # type: ignore[attr-defined]
                f.auto_now = f.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            setattr(f, "auto_now", auto_now)  # noqa: B010
            setattr(f, "auto_now_add", auto_now_add)  # noqa: B010


@contextmanager
def _sqlite_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """A bigger SQLite page cache while generating: inserting into indexes of random
    ids (anonymous ids, message ids) otherwise goes to disk once they outgrow 2 MB."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        cursor.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(before)}")


class GeneratorBase:
    """The generator's state and its set-up: users, reference data, tracking sources."""

    # Set by the main loop (``Generator.run``) once the set-up has made them.
    users: Users
    history: HistoryBuilder

    def __init__(self, *, contacts: int, seed: int, progress: bool, batch: int) -> None:
        self.n = contacts
        self.seed = seed
        self.progress = progress
        self.batch = max(1, batch)
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(microsecond=0)
        self.start = self.now - WINDOW
        self.counts: Counter[str] = Counter()
        self.pairs: list[tuple[int, int, str]] = []
        self.people = PeopleFactory(self.rng, seed)
        self.originals: list[Person] = []
        self._fast: dict[type[models.Model], FastInsert] = {}
        self._event_insert: FastInsert | None = None

    # --- set-up ----------------------------------------------------------------------

    def _insert(self, objs: list[Any]) -> list[Any]:
        if objs:
            model = type(objs[0])
            if model in NEED_IDS:
                model._default_manager.bulk_create(objs, batch_size=BATCH)
            else:
                fast = self._fast.get(model)
                if fast is None:
                    fast = self._fast[model] = FastInsert.for_model(model)
                fast.insert(fast.rows_from(objs))
            self.counts[model._meta.label] += len(objs)
        return objs

    def _users(self) -> Users:
        roles_ensure_defaults()
        teams: dict[str, Team] = {}
        for name in (cat.TEAM_AMERICAS, cat.TEAM_EUROPE):
            teams[name], created = Team.objects.get_or_create(name=name)
            self.counts[Team._meta.label] += created
        by_name: dict[str, User] = {}
        for username, first, last, role, team in cat.USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = user_create(
                    actor=None,
                    username=username,
                    password=None,  # unusable: nobody can log in as a demo user
                    role_key=role,
                    email=f"{username}@brightbean.example",
                    first_name=first,
                    last_name=last,
                    team=teams[team] if team else None,
                )
                User.objects.filter(pk=user.pk).update(
                    date_joined=self.start - dt.timedelta(days=30)
                )
                self.counts[User._meta.label] += 1
            by_name[username] = user
        americas = [u for u in by_name.values() if u.team_id == teams[cat.TEAM_AMERICAS].pk]
        europe = [u for u in by_name.values() if u.team_id == teams[cat.TEAM_EUROPE].pk]
        reps = {c.code: (americas if c.code == "US" else europe) for c in cat.COUNTRIES}
        self.sources = Sources(
            web=self._source("Brightbean website"), ios=self._source("Brightbean iOS app")
        )
        return Users(
            reps=reps,
            manager=by_name["maya.okafor"],
            marketer=by_name["chloe.martin"],
            support=by_name["diego.santos"],
        )

    def _source(self, name: str) -> Source:
        source = Source.objects.filter(name=name).first()
        if source is None:
            # The write key is not shown: `patron source rotate` issues one when needed.
            source, _ = source_create(actor=None, name=name)
            self.counts[Source._meta.label] += 1
        return source

    def _reference_data(self) -> None:
        before = self.start - dt.timedelta(days=60)
        self.tags: dict[str, Tag] = {}
        for name, color in cat.TAGS:
            self.tags[name], created = Tag.objects.get_or_create(
                name=name, defaults={"color": color}
            )
            self.counts[Tag._meta.label] += created
        self.fields: dict[str, CustomField | None] = {}
        for entity, key, label, type_, choices in CUSTOM_FIELDS:
            cf, created = CustomField.objects.get_or_create(
                entity=entity, key=key, defaults={"label": label, "type": type_, "choices": choices}
            )
            self.counts[CustomField._meta.label] += created
            # An existing field of another type or other choices is left alone (not filled).
            usable = cf.type == type_ and set(choices) <= set(cf.choices or [])
            self.fields[key] = cf if usable else None
        products = []
        for sku, name, category, price in cat.PRODUCTS:
            prod, created = Product.objects.get_or_create(
                sku=sku,
                defaults={
                    "name": name,
                    "category": category,
                    "price": Decimal(price),
                    "currency": "USD",
                    "created_at": before,
                },
            )
            self.counts[Product._meta.label] += created
            products.append(prod)
        self.products = products
        self.lists: list[ContactList] = []
        for name, description in LISTS:
            lst = ContactList(
                name=name, description=description, owner=self.users.marketer, created_at=before
            )
            self.lists.append(lst)
        self._insert(self.lists)
        # Companies are planned now and inserted when their first contact arrives.
        n_companies = max(3, round(self.n * 0.45 / 4))
        self.company_specs = [self.people.company() for _ in range(n_companies)]
        self.companies_by_country: dict[str, list[CompanySpec]] = {}
        for spec in self.company_specs:
            self.companies_by_country.setdefault(spec.country.code, []).append(spec)
