"""The event processor: profile fields, traits and companies from identify and group calls."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from patron.contacts.models import Company, Contact, CustomField
from patron.core.models import Activity
from patron.events.models import (
    ContactTraits,
    Event,
    RejectedMessage,
)
from patron.events.tests.processing_helpers import T0, at, identities, run, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def test_identify_creates_a_contact_from_traits(source_key):
    source, _ = source_key
    CustomField.objects.create(entity="contact", key="score", label="Score", type="number")
    send(
        source,
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a1",
            "timestamp": at(0),
            "traits": {
                "email": "Ada@Example.COM",
                "name": "Ada Lovelace",
                "phone": "+1 (415) 555-0100",
                "title": "Engineer",
                "birthday": "1990-12-10",
                "address": {"city": "London", "country": "United Kingdom", "postalCode": "N1"},
                "score": "42.5",
                "plan": "pro",
                "seats": 3,
            },
        },
    )
    assert run() == 1
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name) == (
        "Ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert (contact.phone, contact.job_title, contact.city, contact.country) == (
        "+14155550100",
        "Engineer",
        "London",
        "GB",
    )
    assert contact.birthday == dt.date(1990, 12, 10) and contact.postal_code == "N1"
    assert contact.custom_values.get().value_number == Decimal("42.5")
    assert ContactTraits.objects.get(contact=contact).traits == {"plan": "pro", "seats": 3}
    assert identities(contact) == {("user_id", "u1"), ("anonymous_id", "a1")}
    uid = contact.identities.get(kind="user_id")
    assert uid.first_seen == T0 and uid.last_seen == T0
    assert Event.objects.get().contact == contact and Event.objects.get().processed
    assert Activity.objects.filter(contact_id=contact.pk, verb="contact.created").count() == 1
    updated = Activity.objects.get(contact_id=contact.pk, verb="contact.updated")
    assert updated.changes["after"]["email"] == "Ada@example.com"


def test_bad_trait_values_are_skipped_and_reported_the_rest_applies(source_key):
    source, _ = source_key
    CustomField.objects.create(entity="contact", key="score", label="Score", type="number")
    send(source, {"type": "identify", "userId": "u1", "traits": {"plan": "pro", "seats": 3}})
    run()
    send(
        source,
        {
            "type": "identify",
            "userId": "u1",
            "traits": {
                "score": "lots",
                "email": "not-an-email",
                "birthday": "someday",
                "seats": "three",  # was a number
                "plan": "team",
                "firstName": "Grace",
            },
        },
    )
    run()
    contact = Contact.objects.get()
    assert contact.first_name == "Grace" and contact.email == "" and contact.birthday is None
    assert not contact.custom_values.exists()
    assert ContactTraits.objects.get().traits == {"plan": "team", "seats": 3}
    reasons = set(
        RejectedMessage.objects.filter(stage="processing").values_list("reason", flat=True)
    )
    assert any(r.startswith("trait score:") for r in reasons)
    assert any(r.startswith("trait email:") for r in reasons)
    assert any(r.startswith("trait birthday:") for r in reasons)
    assert "trait seats: expected number, got string" in reasons
    source.refresh_from_db()
    assert source.rejected_count == len(reasons)


def test_email_from_traits_sets_the_duplicate_finders_keys(source_key):
    source, _ = source_key
    send(source, {"type": "identify", "userId": "u1",
                  "traits": {"email": "Jo.Doe+x@gmail.com", "name": "Jo Doe"}})  # fmt: skip
    run()
    contact = Contact.objects.get()
    assert contact.email == "Jo.Doe+x@gmail.com"
    assert contact.email_match_key == "jodoe@gmail.com"
    assert contact.name_key  # set from the parsed name


def test_repeated_identical_traits_are_skipped_but_changes_apply(source_key):
    # Given a user identified once
    source, _ = source_key
    traits = {"name": "Kim Park", "plan": "pro"}
    send(source, {"type": "identify", "userId": "u1", "traits": traits})
    run()
    contact = Contact.objects.get()
    updates = Activity.objects.filter(verb="contact.updated", contact_id=contact.pk).count()
    # and a person corrects the name in the CRM
    Contact.objects.filter(pk=contact.pk).update(first_name="Kimberly")
    # When the same traits arrive again (analytics.js repeats identify on every page)
    send(source, {"type": "identify", "userId": "u1", "traits": dict(traits)})
    run()
    # Then nothing is re-applied: the correction stands, no new activity
    contact.refresh_from_db()
    assert contact.first_name == "Kimberly"
    assert Activity.objects.filter(verb="contact.updated", contact_id=contact.pk).count() == updates
    # But changed traits apply as usual
    send(source, {"type": "identify", "userId": "u1", "traits": {**traits, "plan": "team"}})
    run()
    assert ContactTraits.objects.get(contact=contact).traits["plan"] == "team"
    assert Activity.objects.filter(verb="contact.updated", contact_id=contact.pk).count() > updates


def test_group_creates_a_company_and_membership_idempotently(source_key):
    source, _ = source_key
    send(
        source,
        {"type": "identify", "userId": "u1", "traits": {"name": "Ann Bee"}},
        {
            "type": "group",
            "userId": "u1",
            "groupId": "acme-1",
            "traits": {"name": "Acme", "industry": "Tools", "employees": 50},
        },
    )
    run()
    send(source, {"type": "group", "userId": "u1", "groupId": "acme-1", "traits": {"name": "ACME"}})
    run()
    company = Company.objects.get()
    assert (company.external_id, company.name, company.industry, company.employees) == (
        "acme-1",
        "ACME",
        "Tools",
        50,
    )
    assert list(Contact.objects.get().companies.all()) == [company]
