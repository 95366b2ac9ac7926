"""The demo generator's main loop (batches of contacts, bulk inserts) and its entry point."""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from tqdm import tqdm

from patron.commerce.models import Order
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    ContactListMember,
    CustomFieldValue,
    Note,
)
from patron.core.demo import catalog as cat
from patron.core.demo.bulk import FastInsert
from patron.core.demo.generate.base import (
    ACTOR_LABEL,
    BACKDATED,
    DUPLICATE_SHARE,
    SUMMARY_MODELS,
    DemoRefused,
    DemoResult,
    _backdating,
    _refusal,
    _sqlite_cache,
)
from patron.core.demo.generate.contact import ContactGenerator
from patron.core.demo.history import EVENT_FIELDS, HistoryBuilder, Rows
from patron.core.demo.people import CompanySpec, Person
from patron.core.models import Activity
from patron.events.models import ContactEventCount, ContactEventSummary, Event
from patron.events.services.aggregates import aggregates_apply
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket


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
    gen = Generator(contacts=contacts, seed=run_seed, progress=progress, batch=batch_contacts)
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


class Generator(ContactGenerator):
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
