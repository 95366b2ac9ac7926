"""``patron demo``: the generated data is complete, consistent and normalised, the planted
duplicates are real and listed, and a second run is refused unless forced."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import zoneinfo
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone
from rapidfuzz import fuzz

from patron.accounts.models import User
from patron.commerce.models import Order, OrderLine
from patron.contacts.models import (
    Company,
    Contact,
    ContactList,
    CustomField,
    CustomFieldValue,
    Tag,
)
from patron.contacts.normalize import email_match_key, normalize_email, search_text_for
from patron.core.demo import DemoRefused, demo_generate
from patron.core.demo import catalog as cat
from patron.core.demo.people import PeopleFactory, ascii_fold
from patron.core.models import Activity
from patron.events.models import ContactEventSummary, Event
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket

N = 60
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@pytest.fixture
def dup_path(tmp_path: Path) -> Path:
    return tmp_path / "demo_duplicates.csv"


@pytest.fixture
def demo(db: None, dup_path: Path):  # type: ignore[no-untyped-def]
    return demo_generate(contacts=N, seed=7, duplicates_path=dup_path)


def _pairs(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _folded_name(first: str, last: str) -> str:
    return ascii_fold(f"{first} {last}", german=False).lower()


def _alike(a: Contact, b: Contact) -> bool:
    """What a dedupe must be able to see: a shared phone or email key, or a close name."""
    if a.phone and a.phone == b.phone:
        return True
    if a.email and email_match_key(a.email) == email_match_key(b.email or ""):
        return True
    name_a = _folded_name(a.first_name, a.last_name)
    name_b = _folded_name(b.first_name, b.last_name)
    return fuzz.token_sort_ratio(name_a, name_b) >= 75


# --- volume and set-up -----------------------------------------------------------------


def test_creates_the_requested_people_with_reported_counts(demo) -> None:  # type: ignore[no-untyped-def]
    # Given a demo run for N contacts (fixture)
    # Then the database holds exactly N contacts and the summary matches the tables
    assert Contact.objects.count() == N
    assert demo.counts["contacts.Contact"] == N
    assert demo.counts["commerce.Order"] == Order.objects.count() > 0
    assert demo.counts["commerce.OrderLine"] == OrderLine.objects.count()
    assert demo.counts["events.Event"] == Event.objects.count()
    assert demo.counts["support.Ticket"] == Ticket.objects.count()
    assert demo.counts["privacy.Consent"] == Consent.objects.count() > 0
    assert demo.counts["contacts.Company"] == Company.objects.count() > 0
    assert demo.duplicates == round(N * 0.05)
    # Countries come from the six locales, more than one of them.
    countries = set(Contact.objects.values_list("country", flat=True))
    assert countries <= {c.code for c in cat.COUNTRIES}
    assert len(countries) >= 3
    assert ContactList.objects.count() == 3


def test_users_have_roles_teams_and_no_usable_password(demo) -> None:  # type: ignore[no-untyped-def]
    users = {u.username: u for u in User.objects.select_related("role", "team")}
    roles = Counter(users[name].role.key for name, *_ in cat.USERS)  # type: ignore[union-attr]
    assert roles == {"sales": 4, "manager": 1, "marketing": 1, "support": 1}
    teams = Counter(users[name].team.name for name, *_ in cat.USERS if users[name].team)  # type: ignore[union-attr]
    assert teams == {cat.TEAM_AMERICAS: 2, cat.TEAM_EUROPE: 2}
    for name, *_ in cat.USERS:
        assert not users[name].has_usable_password()
        assert not users[name].is_superuser
    # Contacts are owned by the reps of their territory (or nobody).
    owners = Contact.objects.exclude(owner=None).values_list("country", "owner__team__name")
    for country, team in owners:
        assert team == (cat.TEAM_AMERICAS if country == "US" else cat.TEAM_EUROPE)


# --- contact data ------------------------------------------------------------------------


def test_contact_points_are_normalised_and_search_text_is_consistent(demo) -> None:  # type: ignore[no-untyped-def]
    contacts = list(Contact.objects.all())
    assert sum(bool(c.phone) for c in contacts) > N // 2
    assert sum(bool(c.email) for c in contacts) > N * 0.8
    for c in contacts:
        if c.phone:
            assert E164.match(c.phone), c.phone
            assert phonenumbers.is_valid_number(phonenumbers.parse(c.phone))
            assert phonenumbers.region_code_for_number(phonenumbers.parse(c.phone)) == c.country
        if c.email:
            assert normalize_email(c.email) == c.email
            # Reserved domains only: demo data can never reach a real mailbox.
            assert c.email.endswith(".example"), c.email
            assert c.email_match_key == email_match_key(c.email)
        assert c.name_key
        assert c.search_text == search_text_for(
            c.first_name,
            c.middle_name,
            c.last_name,
            c.full_name,
            c.email,
            c.phone,
            c.external_id or "",
        )
        assert c.full_name == " ".join(p for p in (c.first_name, c.middle_name, c.last_name) if p)
        if c.time_zone:
            zoneinfo.ZoneInfo(c.time_zone)
        assert c.lifecycle_stage in {s["key"] for s in _stages()}
        assert c.invalid_fields == {}
    # Some people work somewhere, with a role, and a work email at the company domain.
    member = Contact.objects.filter(memberships__isnull=False).first()
    assert member is not None
    link = member.memberships.select_related("company").get()
    assert link.role
    assert link.company.domain.endswith(".example")


def _stages() -> list[dict[str, str]]:
    from patron.contacts.selectors import lifecycle_stages

    return lifecycle_stages()


def test_every_contact_has_one_created_activity(demo) -> None:  # type: ignore[no-untyped-def]
    created = Activity.objects.filter(verb="contact.created")
    assert created.count() == N
    by_contact = {a.contact_id: a for a in created}
    for c in Contact.objects.all():
        entry = by_contact[c.pk]
        assert entry.actor_label == "demo"
        assert entry.actor_id is None
        assert entry.subject_type == "contact"
        assert entry.subject_id == c.pk
        assert entry.created_at == c.created_at
        assert entry.changes["after"].get("email", "") == c.email
        assert entry.changes["after"]["lifecycle_stage"] == c.lifecycle_stage
    # The activity log stays append-only.
    with pytest.raises(TypeError):
        Activity.objects.filter(verb="contact.created").update(verb="x")


def test_custom_fields_are_defined_and_filled_with_typed_values(demo) -> None:  # type: ignore[no-untyped-def]
    fields = {f.key: f for f in CustomField.objects.filter(entity="contact")}
    assert {"plan", "seats", "renewal_date", "newsletter"} <= set(fields)
    plan = CustomFieldValue.objects.filter(field=fields["plan"])
    assert plan.exists()
    assert set(plan.values_list("value_text", flat=True)) <= set(fields["plan"].choices)
    for v in CustomFieldValue.objects.filter(field=fields["seats"]):
        assert v.value_number is not None and v.value_number >= 1
    for v in CustomFieldValue.objects.filter(field=fields["renewal_date"]):
        assert v.value_date is not None and v.value_date > timezone.now().date()
    newsletter = CustomFieldValue.objects.filter(field=fields["newsletter"])
    assert newsletter.count() == Contact.objects.exclude(email="").count()
    assert all(v.value_bool is not None for v in newsletter)


# --- planted duplicates ------------------------------------------------------------------


def test_duplicates_file_lists_real_pairs_that_resemble_each_other(demo, dup_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = _pairs(dup_path)
    assert len(rows) == demo.duplicates == 3
    for row in rows:
        original = Contact.objects.get(pk=int(row["original_id"]))
        duplicate = Contact.objects.get(pk=int(row["duplicate_id"]))
        assert original.pk < duplicate.pk
        assert original.created_at <= duplicate.created_at
        assert _alike(original, duplicate), (original.__dict__, duplicate.__dict__)
        assert row["variations"].startswith("name:")
    # Ground truth is not leaked into the data: only the catalogue's tags exist.
    assert set(Tag.objects.values_list("name", flat=True)) == {t for t, _ in cat.TAGS}


def test_duplicate_variants_are_varied_and_recognisable() -> None:
    # Given many duplicates made by the generator's people factory (no database needed)
    rng = random.Random(3)
    people = PeopleFactory(rng, 3)
    now = timezone.now()
    kinds: Counter[str] = Counter()
    nicknames = 0
    for _ in range(400):
        original = people.person(now - dt.timedelta(days=30), {}, now)
        dup = people.duplicate(original, now)
        kinds.update(v.split(":")[0] + ":" + v.split(":")[1] for v in dup.variations)
        linked = bool(original.phone and original.phone == dup.phone) or bool(
            original.email and email_match_key(original.email) == email_match_key(dup.email)
        )
        name = fuzz.token_sort_ratio(
            _folded_name(original.first_name, original.last_name),
            _folded_name(dup.first_name, dup.last_name),
        )
        # Then each is tied to its original by a contact point, or by a close name and
        # the very same address
        if not linked:
            assert name >= 75, (original, dup)
            assert dup.address_line1 == original.address_line1
        if "name:nickname" in dup.variations:
            nicknames += 1
            assert dup.first_name != original.first_name
        if "phone:format" in dup.variations:
            assert dup.phone == original.phone and dup.phone_raw != original.phone_raw
    # And every kind of variation the benchmark should face occurs
    for kind in (
        "name:nickname",
        "name:typo",
        "name:swapped",
        "email:case",
        "email:plus",
        "email:other",
        "phone:format",
        "phone:blank",
    ):
        assert kinds[kind] > 0, kind
    assert nicknames > 10


def test_phone_formats_are_mixed_and_all_mean_the_same_number() -> None:
    people = PeopleFactory(random.Random(5), 5)
    for country in cat.COUNTRIES:
        e164 = people.phone_number(country, country.cities[0], mobile=False)
        formats = people.phone_formats(e164, country)
        assert len(formats) >= 4, (country.code, formats)
        assert any(f.startswith("+") for f in formats)
        assert any(f.startswith(("0", "(")) for f in formats) or country.code == "US"
    london = people.phone_formats("+442079460958", cat.COUNTRY_BY_CODE["GB"])
    assert {"020 7946 0958", "+44 20 7946 0958", "(020) 7946 0958"} <= set(london)


# --- commerce, events, support, consent -------------------------------------------------


def test_orders_add_up_and_match_order_completed_events(demo) -> None:  # type: ignore[no-untyped-def]
    orders = list(Order.objects.prefetch_related("lines"))
    buyers = {o.contact_id for o in orders}
    assert 0.25 <= len(buyers) / N <= 0.6
    completed = defaultdict(list)
    for e in Event.objects.filter(event="Order Completed"):
        completed[e.properties["order_id"]].append(e)
    for order in orders:
        lines = list(order.lines.all())
        assert lines
        assert order.subtotal == sum((ln.total for ln in lines), Decimal("0"))
        assert order.total == order.subtotal - order.discount + order.tax + order.shipping
        assert Decimal("0") <= order.refunded_amount <= order.total
        assert order.currency in {"USD", "EUR", "GBP"}
        for ln in lines:
            assert ln.contact_id == order.contact_id
            assert ln.total == (ln.unit_price * ln.quantity).quantize(Decimal("0.01"))
        events = completed.get(order.external_id, [])
        if order.status == Order.Status.PENDING:
            assert events == []
            continue
        assert len(events) == 1, order.external_id
        (event,) = events
        assert event.contact_id == order.contact_id
        assert event.timestamp == order.placed_at
        assert Decimal(str(event.properties["total"])) == order.total
        assert len(event.properties["products"]) == len(lines)
    # Customers are customers (or evangelists or churned), prospects are not.
    stages = dict(Contact.objects.values_list("pk", "lifecycle_stage"))
    for cid in buyers:
        assert stages[cid] in {"customer", "evangelist", "churned"}


def test_events_have_the_segment_shape_and_a_realistic_spread(demo) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    events = list(Event.objects.all())
    per_contact = Counter(e.contact_id for e in events if e.contact_id is not None)
    assert 12 <= sum(per_contact.values()) / N <= 35
    assert any(e.contact_id is None for e in events)  # unidentified visitors
    message_ids = [e.message_id for e in events]
    assert len(set(message_ids)) == len(message_ids)
    types = Counter(e.type for e in events)
    assert {"page", "track", "identify"} <= set(types)
    names = {e.event for e in events if e.type == "track"}
    assert {"Product Viewed", "Added to Cart", "Order Completed", "Signed Up"} <= names
    earliest = now - dt.timedelta(days=548 + 8)
    for e in events:
        assert e.anonymous_id
        assert e.processed
        assert earliest <= e.timestamp <= now
        assert e.timestamp <= e.received_at <= now + dt.timedelta(minutes=10)
        assert e.source_id is not None
        if e.type == "identify":
            assert e.traits["email"]
        if e.type == "page":
            assert e.properties["url"].startswith(cat.SHOP_HOST)
    # The behavioural aggregates agree with the events.
    for summary in ContactEventSummary.objects.all():
        assert summary.event_count == per_contact[summary.contact_id]
    assert ContactEventSummary.objects.count() == len(per_contact)


def test_tickets_and_surveys_are_consistent(demo) -> None:  # type: ignore[no-untyped-def]
    tickets = list(Ticket.objects.all())
    assert tickets
    for t in tickets:
        if t.status in ("resolved", "closed"):
            assert t.resolved_at is not None and t.resolved_at >= t.opened_at
        else:
            assert t.resolved_at is None
    surveys = list(SurveyResponse.objects.select_related("ticket"))
    assert {s.kind for s in surveys} == {"nps", "csat"}
    for s in surveys:
        if s.kind == "nps":
            assert 0 <= s.score <= 10
            assert s.ticket_id is None
        else:
            assert 1 <= s.score <= 5
            assert s.ticket is not None and s.ticket.resolved_at is not None
            assert s.responded_at > s.ticket.resolved_at


def test_consent_ledger_is_append_only_and_coherent(demo) -> None:  # type: ignore[no-untyped-def]
    rows = list(Consent.objects.order_by("recorded_at", "id"))
    assert {r.status for r in rows} == {"granted", "withdrawn"}
    history: dict[tuple[int, str, str], list[Consent]] = defaultdict(list)
    for r in rows:
        history[(r.contact_id, r.purpose, r.channel)].append(r)
        assert r.source
        assert r.lawful_basis in Consent.LawfulBasis.values
    for entries in history.values():
        # A withdrawal always follows a grant of the same purpose and channel.
        assert entries[0].status == "granted"
    # The newsletter flag is the latest email-marketing consent.
    newsletter = CustomField.objects.get(entity="contact", key="newsletter")
    for v in CustomFieldValue.objects.filter(field=newsletter):
        latest = history.get((v.contact_id, "email_marketing", "email"))  # type: ignore[arg-type]
        granted = bool(latest) and latest[-1].status == "granted"  # type: ignore[index]
        if v.value_bool:
            assert granted
    # Rows are never changed: the model refuses to update one.
    consent = rows[0]
    consent.status = "withdrawn"
    with pytest.raises(TypeError):
        consent.save()


# --- re-runs, determinism, the command ---------------------------------------------------


def test_second_run_is_refused_unless_forced(demo, dup_path: Path) -> None:  # type: ignore[no-untyped-def]
    emails_before = set(Contact.objects.exclude(email="").values_list("email", flat=True))
    # When the demo runs again on the filled database
    with pytest.raises(DemoRefused, match="--force"):
        demo_generate(contacts=20, seed=7, duplicates_path=dup_path)
    # Then nothing was added
    assert Contact.objects.count() == N
    # When forced, it adds new people (not copies of the first run) and appends to the file
    again = demo_generate(contacts=20, seed=7, duplicates_path=dup_path, force=True)
    assert Contact.objects.count() == N + 20
    new_emails = set(Contact.objects.exclude(email="").values_list("email", flat=True))
    assert new_emails - emails_before
    rows = _pairs(dup_path)
    assert len(rows) == demo.duplicates + again.duplicates
    assert dup_path.read_text().count("original_id") == 1
    # Users, products and custom fields were reused, not duplicated.
    assert User.objects.filter(username="maya.okafor").count() == 1
    assert CustomField.objects.filter(key="plan").count() == 1


def test_same_seed_gives_the_same_people(db: None, tmp_path: Path) -> None:
    def people() -> list[tuple[str, str, str, str]]:
        return list(
            Contact.objects.order_by("id").values_list("first_name", "last_name", "email", "phone")
        )

    demo_generate(contacts=25, seed=11, duplicates_path=tmp_path / "a.csv")
    first = people()
    Contact.objects.all().delete()
    Company.objects.all().delete()
    Event.objects.all().delete()
    demo_generate(contacts=25, seed=11, duplicates_path=tmp_path / "b.csv")
    assert people() == first
    assert (tmp_path / "a.csv").read_text() != ""
    # And another seed gives other people
    Contact.objects.all().delete()
    Company.objects.all().delete()
    Event.objects.all().delete()
    demo_generate(contacts=25, seed=12, duplicates_path=tmp_path / "c.csv")
    assert people() != first


def test_command_prints_a_summary_and_refuses_a_second_run(
    db: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "dups.csv"
    out = io.StringIO()
    call_command(
        "demo", "--contacts", "15", "--seed", "3", "--duplicates-file", str(path), stdout=out
    )
    text = out.getvalue()
    assert re.search(r"contacts\.Contact\s+15\b", text)
    assert re.search(r"events\.Event\s+[\d,]+", text)
    assert f"Planted duplicates: 1 pairs, listed in {path}" in text
    assert "patron createadmin" in text
    # The progress bar went to stderr, not into the summary
    assert "contact" in capsys.readouterr().err
    with pytest.raises(CommandError, match="already holds data"):
        call_command("demo", "--contacts", "5", "--duplicates-file", str(path), stdout=out)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("demo", "--contacts", "0", stdout=out)
    assert Contact.objects.count() == 15


def test_company_rows_are_complete(demo) -> None:  # type: ignore[no-untyped-def]
    linked = Company.objects.annotate(n=Count("memberships")).filter(n__gt=0)
    assert linked.exists()
    for company in Company.objects.all():
        assert company.name and company.industry and company.size and company.country
        assert company.website == f"https://www.{company.domain}"
        assert E164.match(company.phone)
        assert company.employees and company.employees >= 1
    assert Activity.objects.filter(verb="company.created").count() == Company.objects.count()
