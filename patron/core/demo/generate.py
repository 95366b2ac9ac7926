"""Orchestration of the demo generator: set-up, batches of contacts, bulk inserts.

Speed comes from building unsaved rows in Python (normalised through the same
functions the services use) and inserting them with ``bulk_create``, one transaction
per batch of contacts. The per-row write services are deliberately not called; the
generator writes the same ``contact.created`` activity entries they would.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from patron.accounts.models import Team, User
from patron.accounts.services import roles_ensure_defaults, user_create
from patron.commerce.models import Order, OrderLine, Product
from patron.commerce.summary import purchase_summary_refresh
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
from patron.contacts.normalize import (
    contact_input_normalize,
    contact_keys_refresh,
    normalize_email,
    search_text_for,
)
from patron.contacts.services._common import CONTACT_FIELDS
from patron.core.demo import catalog as cat
from patron.core.demo.bulk import FastInsert
from patron.core.demo.history import EVENT_FIELDS, HistoryBuilder, Rows, Sources, Users
from patron.core.demo.people import CompanySpec, PeopleFactory, Person, weighted
from patron.core.models import Activity
from patron.core.services import _jsonable
from patron.events.models import ContactEventCount, ContactEventSummary, Event, Source
from patron.events.services import source_create
from patron.events.services.aggregates import aggregates_apply
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


def demo_generate(
    *,
    contacts: int = 2000,
    seed: int = 1,
    force: bool = False,
    duplicates_path: Path | str | None = None,
    progress: bool = False,
    batch_contacts: int = 500,
) -> DemoResult:
    """Fill the database with a realistic, deterministic (per seed) demo data set.

    Refuses to run on a database that already holds contacts, companies, orders or
    events unless ``force`` is given. Planted duplicates are listed in a CSV file
    (``original_id,duplicate_id,variations``), never marked in the data itself.
    """
    if contacts < 1:
        raise ValueError("The demo needs at least one contact.")
    n_contacts, n_companies = Contact.objects.count(), Company.objects.count()
    non_empty = bool(n_contacts or n_companies or Order.objects.exists() or Event.objects.exists())
    if non_empty and not force:
        raise DemoRefused(_refusal(n_contacts, n_companies))
    path = Path(duplicates_path or settings.VAR_DIR / "demo_duplicates.csv")
    # On top of existing data (--force) a fresh stream of people: mixing in the highest
    # contact id keeps a second run with the same seed from re-creating the same people.
    offset = Contact.objects.aggregate(m=Max("id"))["m"] or 0
    run_seed = seed if not non_empty else seed * 1_000_003 + offset
    gen = _Generator(contacts=contacts, seed=run_seed, progress=progress, batch=batch_contacts)
    started = time.perf_counter()
    with _sqlite_cache():
        gen.run()
    pairs = gen.pairs
    path.parent.mkdir(parents=True, exist_ok=True)
    append = non_empty and path.exists()
    with path.open("a" if append else "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if not append:
            writer.writerow(["original_id", "duplicate_id", "variations"])
        writer.writerows(pairs)
    return DemoResult(
        seed=seed,
        contacts=contacts,
        seconds=time.perf_counter() - started,
        counts={m._meta.label: gen.counts[m._meta.label] for m in SUMMARY_MODELS},
        duplicates=len(pairs),
        duplicates_path=path,
    )


class _Generator:
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

    # --- main loop ---------------------------------------------------------------------

    def run(self) -> None:
        with transaction.atomic():
            self.users = self._users()
        with _backdating(BACKDATED):
            with transaction.atomic():
                self._reference_data()
                self.history = HistoryBuilder(
                    rng=self.rng,
                    now=self.now,
                    start=self.start,
                    products=self.products,
                    users=self.users,
                    order_seq=100000 + Order.objects.count(),
                    ticket_seq=5000 + Ticket.objects.count(),
                    sources=self.sources,
                )
            span = (self.now - dt.timedelta(hours=1) - self.start).total_seconds()
            # Growth: more sign-ups recently (density rises linearly over the window).
            self.times = sorted(
                self.start + dt.timedelta(seconds=span * math.sqrt(self.rng.random()))
                for _ in range(self.n)
            )
            k = round(self.n * DUPLICATE_SHARE) if self.n >= 10 else 0
            eligible = range(max(1, self.n // 10), self.n)
            self.dup_slots = set(self.rng.sample(eligible, min(k, len(eligible))))
            bar = tqdm(
                total=self.n,
                desc="demo",
                unit="contact",
                file=sys.stderr,
                disable=not self.progress,
                dynamic_ncols=True,
            )
            try:
                for first in range(0, self.n, self.batch):
                    slots = range(first, min(self.n, first + self.batch))
                    with transaction.atomic():
                        self._batch(slots)
                    bar.update(len(slots))
                with transaction.atomic():
                    rest = [s for s in self.company_specs if s.obj is None]
                    for spec in rest:
                        spec.created_at = self.history.between(self.start, self.now)
                    self._insert_companies(rest)
            finally:
                bar.close()

    def _insert_companies(self, specs: list[CompanySpec]) -> None:
        if not specs:
            return
        rows = Rows()
        objs = []
        for spec in specs:
            reps = self.users.reps[spec.country.code]
            at = spec.created_at or self.start
            objs.append(
                Company(
                    name=spec.name,
                    domain=spec.domain,
                    industry=spec.industry,
                    size=spec.size,
                    employees=spec.employees,
                    annual_revenue=spec.annual_revenue,
                    phone=spec.phone,
                    website=f"https://www.{spec.domain}",
                    address_line1=spec.address_line1,
                    city=spec.city.name,
                    region=spec.city.region,
                    postal_code=spec.postal_code,
                    country=spec.country.code,
                    owner=self.rng.choice(reps),
                    created_at=at,
                    updated_at=at,
                )
            )
        self._insert(objs)
        tier = self.fields.get("account_tier")
        for spec, obj in zip(specs, objs, strict=True):
            spec.obj = obj
            after = {
                "name": obj.name,
                "domain": obj.domain,
                "industry": obj.industry,
                "country": obj.country,
                "owner": obj.owner_id,
            }
            rows.add(
                Activity(
                    actor_label=ACTOR_LABEL,
                    verb="company.created",
                    subject_type="company",
                    subject_id=obj.pk,
                    subject_label=obj.name[:300],
                    company_id=obj.pk,
                    changes={"after": after},
                    created_at=obj.created_at,
                )
            )
            if tier is not None:
                rows.add(CustomFieldValue(field=tier, company_id=obj.pk, value_text=spec.tier))
            if self.rng.random() < 0.2:
                at = self.history.between(obj.created_at, self.now)
                body = self.rng.choice(cat.COMPANY_NOTES)
                rows.add(
                    Note(
                        company_id=obj.pk, body=body, author=obj.owner, created_at=at, updated_at=at
                    )
                )
        for model in (Activity, CustomFieldValue, Note):
            self._insert(rows.by_model.get(model, []))

    def _batch(self, slots: range) -> None:
        r = self.rng
        persons: list[Person] = []
        for i in slots:
            at = self.times[i]
            if i in self.dup_slots and self.originals:
                persons.append(self.people.duplicate(r.choice(self.originals), at))
            else:
                p = self.people.person(at, self.companies_by_country, self.now)
                self.originals.append(p)
                persons.append(p)
        # Companies first seen in this batch are created just before their first contact.
        new_specs = []
        for p in persons:
            spec = p.company
            if spec is not None and spec.obj is None and spec not in new_specs:
                spec.created_at = max(
                    self.start - dt.timedelta(days=90),
                    p.created_at - dt.timedelta(days=r.randint(1, 120)),
                )
                new_specs.append(spec)
        self._insert_companies(new_specs)

        plans = [self._plan(p) for p in persons]
        contacts = [plan["contact"] for plan in plans]
        self._insert(contacts)
        for p, c in zip(persons, contacts, strict=True):
            p.contact_id = c.pk
            if p.original is not None:
                self.pairs.append((p.original.contact_id, c.pk, ";".join(p.variations)))  # type: ignore[arg-type]

        rows = Rows()
        for p, plan in zip(persons, plans, strict=True):
            self._history(p, plan, rows)
        for _ in range(round(len(slots) * 0.3)):
            self.history.anonymous_visitor(rows)
        by = rows.by_model
        for model in (ContactCompany, ContactIdentity, Contact.tags.through, CustomFieldValue):
            self._insert(by.get(model, []))
        self._insert(by.get(Activity, []))
        orders = self._insert(by.get(Order, []))
        lines = []
        for order in orders:
            for ln in order.demo_lines:
                ln.order_id = order.pk
                lines.append(ln)
        self._insert(lines)
        purchase_summary_refresh({o.contact_id for o in orders})
        tickets = self._insert(by.get(Ticket, []))
        surveys = list(by.get(SurveyResponse, []))
        for ticket in tickets:
            for s in ticket.demo_surveys:
                s.ticket_id = ticket.pk
                surveys.append(s)
        self._insert(surveys)
        for later in (Consent, Note, ContactListMember):
            self._insert(by.get(later, []))
        if self._event_insert is None:
            self._event_insert = FastInsert(Event, EVENT_FIELDS)
        self.counts[Event._meta.label] += self._event_insert.insert(rows.events)
        # The per-contact behavioural aggregates the event processor would have kept.
        aggregates_apply(rows.aggregates)
        self.counts[ContactEventSummary._meta.label] += len(rows.aggregates)
        self.counts[ContactEventCount._meta.label] += sum(
            len({e for t, e, _ in evs if t == Event.Type.TRACK and e})
            for evs in rows.aggregates.values()
        )

    # --- one contact -------------------------------------------------------------------

    def _plan(self, p: Person) -> dict[str, Any]:
        r = self.rng
        if p.source == "shop checkout":
            customer = True
        else:
            shop_share = dict(cat.SOURCES)["shop checkout"] / sum(w for _, w in cat.SOURCES)
            rate = (CUSTOMER_SHARE - shop_share) / (1 - shop_share)
            customer = r.random() < (rate * 0.7 if p.original else rate)
        times = self.history.plan_orders(p, customer)
        if times:
            if self.now - times[-1] > dt.timedelta(days=270) and r.random() < 0.7:
                stage = "churned"
            elif len(times) >= 4 and r.random() < 0.25:
                stage = "evangelist"
            else:
                stage = "customer"
        else:
            stage = weighted(r, cat.LIFECYCLE_PROSPECT)
        if (stage == "subscriber" and r.random() < 0.6) or r.random() < 0.08:
            owner = None
        else:
            owner = r.choice(self.users.reps[p.country.code])
        external_id = None
        if customer and r.random() < 0.6:
            alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            external_id = "cus_" + "".join(r.choice(alphabet) for _ in range(14))
        city = p.city
        # The one entry-point normaliser, as contact_create runs it on form/API input.
        norm = contact_input_normalize(
            {
                "prefix": p.prefix,
                "first_name": p.first_name,
                "middle_name": p.middle_name,
                "last_name": p.last_name,
                "suffix": p.suffix,
                "email": p.email,
                "phone": p.phone_raw,
                "country": p.country.code,
                "postal_code": p.postal_code,
                "birthday": p.birthday,
            },
            default_region=p.country.code,
        )
        if norm.errors:  # pragma: no cover - the generator only makes valid input
            raise ValueError(f"Demo generated invalid input: {norm.errors}")
        v = norm.values
        contact = Contact(
            full_name=" ".join(x for x in (v["first_name"], v["middle_name"], v["last_name"]) if x),
            prefix=v["prefix"],
            first_name=v["first_name"],
            middle_name=v["middle_name"],
            last_name=v["last_name"],
            suffix=v["suffix"],
            email=v["email"],
            phone=v["phone"],
            address_line1=p.address_line1,
            address_line2=p.address_line2,
            city=city.name if city else "",
            region=city.region if city else "",
            postal_code=v["postal_code"],
            country=v["country"],
            language=p.language,
            time_zone=p.time_zone,
            birthday=v["birthday"],
            job_title=p.job_title[:200],
            lifecycle_stage=stage,
            owner=owner,
            source=p.source,
            external_id=external_id,
            created_at=p.created_at,
            updated_at=max([p.created_at, *times]),
        )
        # Same fields as patron.contacts.services._common._refresh_search_text.
        contact.search_text = search_text_for(
            contact.first_name,
            contact.middle_name,
            contact.last_name,
            contact.full_name,
            contact.email,
            contact.phone,
            contact.external_id or "",
        )
        contact_keys_refresh(contact)
        plan, seats = "", 0
        if customer and p.company is not None:
            emp = p.company.employees
            plan = (
                "Starter"
                if emp <= 10
                else "Team"
                if emp <= 50
                else "Business"
                if emp <= 500
                else "Enterprise"
            )
            seats = max(1, min(emp, int(emp * r.uniform(0.3, 1.0))))
        return {
            "contact": contact,
            "customer": customer,
            "times": times,
            "owner": owner,
            "plan": plan,
            "seats": seats,
            "account": customer or (p.source in cat.WEB_SOURCES and r.random() < 0.7),
        }

    def _history(self, p: Person, plan: dict[str, Any], rows: Rows) -> None:
        r = self.rng
        h = self.history
        c: Contact = plan["contact"]
        cid = c.pk
        if p.company is not None and p.company.obj is not None:
            rows.add(
                ContactCompany(
                    contact_id=cid,
                    company_id=p.company.obj.pk,
                    role=p.company_role,
                    is_primary=True,
                    created_at=p.created_at,
                )
            )
        uid = f"usr_{r.getrandbits(48):012x}" if plan["account"] else ""
        web = plan["account"] or p.source in cat.WEB_SOURCES
        devices = h.devices(p, bool(uid)) if web or plan["times"] else []

        def identity(kind: str, value: str, label: str) -> None:
            seen = h.between(p.created_at, self.now)
            rows.add(
                ContactIdentity(
                    contact_id=cid,
                    kind=kind,
                    value=value,
                    match_key=ContactIdentity.match_key_for(kind, value),
                    label=label,
                    first_seen=p.created_at,
                    last_seen=seen,
                )
            )

        if p.personal_email and p.personal_email != p.email:
            identity("email", normalize_email(p.personal_email), "personal")
        if uid:
            identity("user_id", uid, "app")
        for d in devices:
            identity("anonymous_id", d.anonymous_id, d.kind)

        orders = h.orders(p, plan["times"], rows)
        if devices:
            factor = 1.3 if plan["customer"] else 0.8
            target = round(r.gammavariate(1.6, 20 / 1.6) * factor)
            h.events(p, rows, uid=uid, devices=devices, orders=orders, target=target)
        h.tickets(p, orders, plan["customer"], rows)
        h.nps(p, plan["customer"], rows)
        first_order = orders[0].placed_at if orders else None
        newsletter = h.consents(p, plan["owner"], plan["customer"], first_order, rows, web)
        h.notes(p, plan["owner"], plan["plan"], plan["seats"], rows)

        # Tags follow from what we know about the person.
        tags = []
        if newsletter:
            tags.append("newsletter")
        if len(orders) >= 5:
            tags.append("vip")
        if p.source == "trade show":
            tags.append("trade-show")
        if p.source == "webinar":
            tags.append("webinar-2025")
        if p.company is not None and p.company.industry == "Hospitality":
            tags.append("wholesale")
        if any(ln.category == "Gifts" for o in orders for ln in o.demo_lines):  # type: ignore[attr-defined]
            tags.append("gift-buyer")
        if c.lifecycle_stage == "churned" and r.random() < 0.5:
            tags.append("churn-risk")
        if r.random() < 0.04:
            tags.append("beta-tester")
        if r.random() < 0.03:
            tags.append("barista")
        through = Contact.tags.through
        for name in tags:
            rows.add(through(contact_id=cid, tag_id=self.tags[name].pk))

        custom: dict[str, Any] = {}
        fields = self.fields

        def value(key: str, **typed: Any) -> None:
            f = fields.get(key)
            if f is not None:
                rows.add(CustomFieldValue(field=f, contact_id=cid, **typed))
                custom[key] = _jsonable(next(iter(typed.values())))

        if plan["plan"]:
            value("plan", value_text=plan["plan"])
            value("seats", value_number=Decimal(plan["seats"]).quantize(Decimal("0.000001")))
            renewal = (orders[0].placed_at if orders else p.created_at).date()
            while renewal <= self.now.date():
                renewal = renewal.replace(year=renewal.year + 1)
            value("renewal_date", value_date=renewal)
        if c.email:
            value("newsletter", value_bool=newsletter)

        lists = self.lists
        if p.source == "trade show":
            rows.add(self._member(lists[0], cid, p.created_at))
        if "beta-tester" in tags:
            rows.add(self._member(lists[1], cid, p.created_at))
        if newsletter and (p.country.code == "DE" or p.language == "de"):
            rows.add(self._member(lists[2], cid, p.created_at))

        after = {f: getattr(c, f) for f in CONTACT_FIELDS}
        after["owner"] = c.owner_id
        after = {k: v for k, v in _jsonable(after).items() if v not in ("", None)}
        if tags:
            after["tags"] = sorted(tags)
        if custom:
            after["custom"] = custom
        rows.add(
            Activity(
                actor_label=ACTOR_LABEL,
                verb="contact.created",
                subject_type="contact",
                subject_id=cid,
                subject_label=c.display_name[:300],
                contact_id=cid,
                changes={"after": after},
                created_at=p.created_at,
            )
        )

    def _member(self, lst: ContactList, cid: int, at: dt.datetime) -> ContactListMember:
        return ContactListMember(contact_list=lst, contact_id=cid, added_at=at)
