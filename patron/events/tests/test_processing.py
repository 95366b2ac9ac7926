"""The event processor: identity resolution, profiles, companies, orders, aggregates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from patron.commerce.models import Order
from patron.contacts.models import Company, Contact, ContactIdentity, CustomField
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.events.models import (
    ContactEventCount,
    ContactEventSummary,
    ContactTraits,
    Event,
    IdentityConflict,
    RejectedMessage,
)
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
_ids = iter(range(1, 1_000_000))


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def send(source, *messages: dict[str, Any]) -> None:
    msgs = [{"messageId": f"m{next(_ids)}", **m} for m in messages]
    result = events_ingest(source=source, messages=msgs, received_at=T0 + dt.timedelta(days=1))
    assert not result.rejected, result.rejected


def run() -> int:
    processed, more = events_process_pending()
    assert not more
    return processed


def identities(contact: Contact) -> set[tuple[str, str]]:
    return set(contact.identities.values_list("kind", "value"))


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


def test_aggregates_count_events_sessions_and_views(source_key):
    source, _ = source_key
    send(
        source,
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": at(0)},
        {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(5)},
        {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(10)},
        {"type": "screen", "userId": "u1", "name": "Cart", "timestamp": at(12)},
        # 2 hours later: a second session
        {"type": "page", "userId": "u1", "name": "Home", "timestamp": at(130)},
    )
    run()
    send(source, {"type": "track", "userId": "u1", "event": "Added to Cart", "timestamp": at(300)})
    run()
    contact = Contact.objects.get()
    summary = ContactEventSummary.objects.get(contact=contact)
    assert (summary.event_count, summary.page_views, summary.screen_views, summary.sessions) == (
        6,
        2,
        1,
        3,
    )
    assert summary.first_seen == T0 and summary.last_seen == T0 + dt.timedelta(minutes=300)
    row = ContactEventCount.objects.get(contact=contact, event="Added to Cart")
    assert row.count == 3 and row.last_at == T0 + dt.timedelta(minutes=300)
    assert row.first_at == T0 + dt.timedelta(minutes=5)


def _order_completed(order_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": "buyer",
        "event": "Order Completed",
        "properties": {
            "order_id": order_id,
            "total": 27.5,
            "tax": "2.50",
            "currency": "eur",
            "products": [
                {"sku": "TEE-1", "name": "Tee", "price": 10, "quantity": 2},
                {"product_id": "MUG", "name": "Mug", "price": "5.00"},
            ],
            **extra,
        },
    }


def test_order_completed_creates_an_order_once(source_key):
    source, _ = source_key
    send(source, _order_completed("o-1"))
    run()
    # a retry under another message id, and a replay, change nothing
    send(source, _order_completed("o-1"))
    send(source, _order_completed("o-1"))
    run()
    order = Order.objects.get()
    assert (order.external_id, order.total, order.tax, order.currency, order.status) == (
        "o-1",
        Decimal("27.50"),
        Decimal("2.50"),
        "EUR",
        "completed",
    )
    assert sorted(order.lines.values_list("sku", "quantity", "total")) == [
        ("MUG", Decimal("1.000"), Decimal("5.00")),
        ("TEE-1", Decimal("2.000"), Decimal("20.00")),
    ]
    assert order.contact.identities.get().value == "buyer"
    assert Activity.objects.filter(verb="order.created").count() == 1


def test_refunds_partial_full_and_before_completion(source_key):
    source, _ = source_key
    send(source, _order_completed("o-1"))
    send(
        source,
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Refunded",
            "properties": {"order_id": "o-1", "total": 10},
        },
    )
    # a refund that arrives before its order
    send(
        source,
        {
            "type": "track",
            "userId": "buyer",
            "event": "Order Refunded",
            "properties": {"order_id": "o-2"},
        },
    )
    run()
    assert Order.objects.get(external_id="o-1").status == "partially_refunded"
    assert Order.objects.get(external_id="o-1").refunded_amount == Decimal("10.00")
    assert Order.objects.get(external_id="o-2").status == "refunded"
    send(source, _order_completed("o-2"))
    run()
    late = Order.objects.get(external_id="o-2")
    assert (late.status, late.total, late.refunded_amount) == (
        "refunded",
        Decimal("27.50"),
        Decimal("27.50"),
    )
    assert late.lines.count() == 2


def test_anonymous_order_is_recorded_once_the_buyer_is_identified(source_key):
    source, _ = source_key
    send(source, {**_order_completed("o-9"), "userId": None, "anonymousId": "guest"})
    run()
    assert not Order.objects.exists()
    send(source, {"type": "identify", "userId": "u1", "anonymousId": "guest"})
    run()
    order = Order.objects.get()
    assert order.contact == Contact.objects.get() and order.total == Decimal("27.50")


def test_order_without_order_id_is_reported(source_key):
    source, _ = source_key
    send(source, {"type": "track", "userId": "u", "event": "Order Completed"})
    run()
    assert not Order.objects.exists()
    assert RejectedMessage.objects.get(stage="processing").reason.endswith("order_id is required")


def test_processing_resumes_after_a_crash_half_way_without_loss_or_double_counting(
    source_key, monkeypatch
):
    # given 25 events of 5 users, processed in batches of 10
    source, _ = source_key
    messages = [
        {
            "type": "track",
            "userId": f"u{i % 5}",
            "event": "Clicked",
            "timestamp": at(i),
            "messageId": f"c{i}",
        }
        for i in range(25)
    ]
    events_ingest(source=source, messages=messages, received_at=T0 + dt.timedelta(days=1))
    from patron.events.services import processing

    real = processing.aggregates_apply
    calls = {"n": 0}

    def crash_on_second_batch(rows: Any) -> None:
        calls["n"] += 1
        real(rows)
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # after writes of batch 2, before its commit

    monkeypatch.setattr(processing, "aggregates_apply", crash_on_second_batch)
    # when the worker dies in the middle of the second batch
    with pytest.raises(SystemExit):
        events_process_pending(batch_size=10)
    # then the first batch is committed and the second left no trace
    assert Event.objects.filter(processed=True).count() == 10
    assert sum(ContactEventCount.objects.values_list("count", flat=True)) == 10
    # and a restarted worker finishes the rest exactly once
    monkeypatch.setattr(processing, "aggregates_apply", real)
    assert events_process_pending(batch_size=10) == (15, False)
    assert not Event.objects.filter(processed=False).exists()
    assert Contact.objects.count() == 5
    assert sorted(ContactEventCount.objects.values_list("count", flat=True)) == [5] * 5
    assert sorted(ContactEventSummary.objects.values_list("event_count", flat=True)) == [5] * 5
    assert ContactIdentity.objects.count() == 5


def test_tracking_request_is_processed_after_commit_with_a_task_backend(
    source_key, post, settings, django_capture_on_commit_callbacks
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    _, key = source_key
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post("/v1/identify", {"writeKey": key, "userId": "u1", "traits": {"name": "Bo"}})
    from patron.events.tasks import events_process_schedule

    # the request's one callback schedules processing (which adds its own, for segments)
    assert response.status_code == 200 and callbacks[0] is events_process_schedule
    event = Event.objects.get()
    assert event.processed and event.contact is not None
    assert event.contact.first_name == "Bo"


def test_schedule_enqueues_once_while_a_run_is_waiting(settings, db):
    from django_tasks_db.models import DBTaskResult

    from patron.events.tasks import TASK_PATH, events_process_schedule

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    events_process_schedule()
    events_process_schedule()
    assert DBTaskResult.objects.filter(task_path=TASK_PATH, status="READY").count() == 1
