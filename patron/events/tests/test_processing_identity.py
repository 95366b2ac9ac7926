"""The event processor: identity resolution: matching, anonymous history, aliases, joins."""

from __future__ import annotations

import datetime as dt

import pytest

from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.events.models import (
    ContactEventCount,
    ContactEventSummary,
    Event,
    IdentityConflict,
)
from patron.events.tests.processing_helpers import T0, at, identities, run, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def test_identify_finds_an_existing_contact_by_normalised_email(source_key, admin_user_p):
    source, _ = source_key
    existing = contact_create(actor=admin_user_p, data={"email": "grace@example.com"})
    send(
        source,
        {"type": "identify", "userId": "u9", "traits": {"email": " GRACE@Example.com "}},
    )
    run()
    assert Contact.objects.count() == 1
    assert identities(existing) == {("user_id", "u9")}
    assert Event.objects.get().contact == existing


@pytest.mark.parametrize(
    ("stored", "sent"),
    [
        ("Grace.Hopper@Example.com", "grace.hopper@example.com"),  # stored mixed case
        ("grace.hopper@example.com", "GRACE.HOPPER@EXAMPLE.COM"),
        ("gracehopper@gmail.com", "Grace.Hopper+news@googlemail.com"),  # one Gmail mailbox
        ("grace+crm@example.com", "grace@example.com"),  # plus-tags
    ],
)
def test_identify_matches_emails_by_the_hygiene_match_key(source_key, admin_user_p, stored, sent):
    # Given a CRM contact whose email is stored as it was entered
    source, _ = source_key
    existing = contact_create(actor=admin_user_p, data={"email": stored})
    email = existing.email
    # When a tracked user identifies with another spelling of the same mailbox
    send(source, {"type": "identify", "userId": "u9", "traits": {"email": sent}})
    run()
    # Then it is the same contact: no new one, the user id joins it, its email is kept
    assert Contact.objects.count() == 1
    existing.refresh_from_db()
    assert Event.objects.get().contact == existing
    assert ("user_id", "u9") in identities(existing)
    assert existing.email == email


def test_identify_matches_a_further_email_stored_in_another_case(source_key, admin_user_p):
    source, _ = source_key
    existing = contact_create(actor=admin_user_p, data={"first_name": "Ada"})
    ContactIdentity.objects.create(
        contact=existing, kind="email", value="Ada@Example.com", match_key="ada@example.com"
    )
    send(source, {"type": "identify", "userId": "u5", "traits": {"email": "ada@example.com"}})
    run()
    assert Contact.objects.count() == 1 and Event.objects.get().contact == existing
    # the stored spelling stays the one identity (no second row in another case)
    assert identities(existing) == {("email", "Ada@Example.com"), ("user_id", "u5")}


def test_identify_finds_an_existing_contact_by_phone(source_key, admin_user_p):
    source, _ = source_key
    existing = contact_create(actor=admin_user_p, data={"phone": "+1 415 555 0199"})
    send(source, {"type": "identify", "anonymousId": "a7", "traits": {"phone": "4155550199"}})
    run()
    assert Contact.objects.count() == 1
    assert identities(existing) == {("anonymous_id", "a7")}


def test_anonymous_history_is_attached_once_identified_including_earlier_batches(source_key):
    source, _ = source_key
    send(
        source,
        {"type": "page", "anonymousId": "a1", "name": "Home", "timestamp": at(0)},
        {"type": "track", "anonymousId": "a1", "event": "Viewed Product", "timestamp": at(1)},
    )
    run()
    assert not Contact.objects.exists()
    assert Event.objects.filter(contact__isnull=True, processed=True).count() == 2
    # later, in a new batch: more anonymous activity, then the visitor signs up
    send(
        source,
        {"type": "page", "anonymousId": "a1", "name": "Pricing", "timestamp": at(2)},
        {"type": "identify", "anonymousId": "a1", "userId": "u1", "timestamp": at(3)},
        {"type": "track", "userId": "u1", "event": "Signed Up", "timestamp": at(4)},
    )
    run()
    contact = Contact.objects.get()
    assert Event.objects.filter(contact=contact).count() == 5
    summary = ContactEventSummary.objects.get(contact=contact)
    assert (summary.event_count, summary.page_views, summary.sessions) == (5, 2, 1)
    assert summary.first_seen == T0 and summary.last_seen == T0 + dt.timedelta(minutes=4)
    counts = dict(ContactEventCount.objects.values_list("event", "count"))
    assert counts == {"Viewed Product": 1, "Signed Up": 1}


def test_alias_links_a_previous_id_and_attaches_its_history(source_key):
    source, _ = source_key
    send(source, {"type": "track", "anonymousId": "anon-9", "event": "Opened App"})
    run()
    send(source, {"type": "alias", "userId": "u5", "previousId": "anon-9"})
    run()
    contact = Contact.objects.get()
    assert identities(contact) == {("user_id", "u5"), ("anonymous_id", "anon-9")}
    assert Event.objects.filter(contact=contact).count() == 2
    send(source, {"type": "track", "anonymousId": "anon-9", "event": "Closed App"})
    run()
    assert Event.objects.filter(contact=contact).count() == 3


def test_without_the_merge_service_a_join_is_recorded_never_silently_applied(
    source_key, admin_user_p, monkeypatch
):
    monkeypatch.setattr("patron.events.services.identity.merge_service", lambda: None)
    # given a CRM contact with an email, and a tracked user without one
    source, _ = source_key
    crm = contact_create(actor=admin_user_p, data={"email": "lin@example.com", "first_name": "L"})
    send(source, {"type": "identify", "userId": "u1", "traits": {"firstName": "Lin"}})
    run()
    tracked = Contact.objects.exclude(pk=crm.pk).get()
    before = list(Contact.objects.order_by("pk").values())
    # when the user identifies with the CRM contact's email
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "lin@example.com"}})
    run()
    # then the join is recorded for a person and neither contact was changed
    conflict = IdentityConflict.objects.get()
    assert (conflict.survivor_id, conflict.merged_id, conflict.kind, conflict.status) == (
        tracked.pk,
        crm.pk,
        "email",
        "pending",
    )
    assert list(Contact.objects.order_by("pk").values()) == before
    assert not tracked.identities.filter(kind="email").exists()
    assert Activity.objects.filter(verb="contact.identity_conflict").count() == 1
    # the same evidence again records nothing new
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "lin@example.com"}})
    run()
    assert IdentityConflict.objects.count() == 1


def test_two_identified_users_sharing_an_email_wait_for_a_person(source_key):
    source, _ = source_key
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "team@example.com"}})
    send(source, {"type": "identify", "userId": "u2", "traits": {"email": "team@example.com"}})
    run()
    first, second = Contact.objects.order_by("pk")
    assert first.email == "team@example.com" and second.email == ""
    conflict = IdentityConflict.objects.get()
    assert (conflict.survivor_id, conflict.merged_id, conflict.status) == (
        second.pk,
        first.pk,
        "pending",
    )


def test_the_hygiene_merge_service_joins_contacts_with_its_journal(source_key, admin_user_p):
    merge_record = pytest.importorskip("patron.hygiene.models").MergeRecord
    source, _ = source_key
    crm = contact_create(actor=admin_user_p, data={"email": "lin@example.com", "first_name": "L"})
    send(source, {"type": "page", "anonymousId": "a1", "name": "Home", "timestamp": at(0)})
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "a1", "timestamp": at(1)})
    run()
    tracked = Contact.objects.exclude(pk=crm.pk).get()
    send(
        source,
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": "lin@example.com"},
            "timestamp": at(2),
        },
    )
    run()
    survivor = Contact.objects.get()
    assert survivor.pk == tracked.pk and survivor.email == "lin@example.com"
    record = merge_record.objects.get()
    assert (record.survivor_id, record.merged_id) == (tracked.pk, crm.pk)
    assert IdentityConflict.objects.get().status == "merged"
    assert ContactEventSummary.objects.get(contact=survivor).event_count == 3
    assert identities(survivor) >= {("user_id", "u1"), ("anonymous_id", "a1")}


def test_a_shared_device_does_not_join_two_identified_people(source_key):
    source, _ = source_key
    send(source, {"type": "identify", "userId": "alice", "anonymousId": "device"})
    send(source, {"type": "identify", "userId": "bob", "anonymousId": "device"})
    send(source, {"type": "track", "anonymousId": "device", "event": "Clicked"})
    run()
    alice = Contact.objects.get(identities__kind="user_id", identities__value="alice")
    bob = Contact.objects.get(identities__kind="user_id", identities__value="bob")
    assert alice != bob and not IdentityConflict.objects.exists()
    # anonymous activity on the device goes to whoever identified on it last
    assert Event.objects.get(event="Clicked").contact == bob
