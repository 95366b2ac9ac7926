"""Further emails of the identity graph match by the hygiene match key (issue 3, section 4).

A contact's further emails (``ContactIdentity`` rows of kind "email") keep the address as
entered and carry its match key, so an identify call with a plus-tag, dotted Gmail or
other-case spelling of one of them finds the contact instead of creating a new one.
"""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.apps import apps

from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.services import contact_create
from patron.events.models import Event
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending
from patron.hygiene.services import contact_merge, contact_merge_undo

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
_ids = iter(range(1, 1_000_000))


def identify(source: Any, user_id: str, email: str) -> Event:
    """Ingest one identify call and process it; returns the processed event."""
    msg = {
        "messageId": f"k{next(_ids)}",
        "type": "identify",
        "userId": user_id,
        "timestamp": T0.isoformat(),
        "traits": {"email": email},
    }
    result = events_ingest(source=source, messages=[msg], received_at=T0)
    assert not result.rejected, result.rejected
    processed, more = events_process_pending()
    assert processed == 1 and not more
    return Event.objects.get(message_id=msg["messageId"])


def email_keys_are_right() -> None:
    """Every email identity carries the match key of its value; other kinds carry none."""
    for kind, value, key in ContactIdentity.objects.values_list("kind", "value", "match_key"):
        expected = ContactIdentity.match_key_for(kind, value)
        assert key == expected, (kind, value, key)
        if kind != "email":
            assert key == ""


@pytest.mark.parametrize(
    "sent",
    [
        "Jane.Doe+shop@gmail.com",  # plus-tag and dots on Gmail
        "janedoe@googlemail.com",  # the same Gmail mailbox, other domain, no dots
        "JANE.DOE@GMAIL.COM",  # other case
    ],
)
def test_identify_with_a_variant_of_a_further_email_finds_the_contact(
    source_key, admin_user_p, sent
):
    # Given a CRM contact whose further email is a dotted Gmail address
    source, _ = source_key
    existing = contact_create(
        actor=admin_user_p,
        data={"first_name": "Jane", "email": "jane@work.example", "emails": ["jane.doe@gmail.com"]},
    )
    further = existing.identities.get(kind="email")
    assert further.value == "jane.doe@gmail.com"
    assert further.match_key == "janedoe@gmail.com"
    # When a tracked user identifies with another spelling of that mailbox
    event = identify(source, "u-jane", sent)
    # Then it is the same contact: no new one, and the user id joins it
    assert Contact.objects.count() == 1
    assert event.contact_id == existing.pk
    assert existing.identities.filter(kind="user_id", value="u-jane").exists()
    email_keys_are_right()


def test_identify_with_another_address_creates_a_new_contact(source_key, admin_user_p):
    source, _ = source_key
    existing = contact_create(
        actor=admin_user_p,
        data={"first_name": "Jane", "email": "jane@work.example", "emails": ["jane.doe@gmail.com"]},
    )
    # a different Gmail mailbox (an extra letter), and the same local part elsewhere
    first = identify(source, "u-other", "jane.doe2+shop@gmail.com")
    second = identify(source, "u-third", "janedoe@example.com")
    assert Contact.objects.count() == 3
    assert existing.pk not in (first.contact_id, second.contact_id)
    assert first.contact_id != second.contact_id
    email_keys_are_right()


def test_a_further_email_learnt_from_events_is_matched_later(source_key, admin_user_p):
    # Given a contact identified by user id, which then identifies with a second address
    source, _ = source_key
    existing = contact_create(actor=admin_user_p, data={"email": "sam@work.example"})
    ContactIdentity.objects.create(contact=existing, kind="user_id", value="u-sam")
    identify(source, "u-sam", "Sam.Smith+news@gmail.com")
    existing.refresh_from_db()
    learnt = existing.identities.filter(kind="email").exclude(value=existing.email).get()
    # the processor's bulk upsert wrote the key
    assert learnt.match_key == "samsmith@gmail.com"
    # When another user id arrives with a third spelling of that mailbox
    event = identify(source, "u-sam", "samsmith@googlemail.com")
    # Then it is found by the learnt identity
    assert event.contact_id == existing.pk
    assert Contact.objects.count() == 1
    email_keys_are_right()


def test_merge_and_undo_keep_the_match_keys(source_key, admin_user_p):
    source, _ = source_key
    survivor = contact_create(actor=admin_user_p, data={"email": "ann@work.example"})
    merged = contact_create(
        actor=admin_user_p,
        data={"email": "Ann.Lee+crm@gmail.com", "emails": ["ann.private@example.org"]},
    )
    # When they are merged, the merged primary becomes a further email of the survivor
    record = contact_merge(actor=admin_user_p, survivor=survivor, merged=merged)
    keys = dict(survivor.identities.filter(kind="email").values_list("value", "match_key"))
    assert keys == {
        "Ann.Lee+crm@gmail.com": "annlee@gmail.com",
        "ann.private@example.org": "ann.private@example.org",
    }
    email_keys_are_right()
    # and a Gmail variant of it finds the survivor
    assert identify(source, "u-ann", "annlee@googlemail.com").contact_id == survivor.pk
    assert Contact.objects.count() == 1
    # When the merge is undone, the identity the merge created goes and the moved one
    # goes back with its key (the variant learnt from the event since stays: not merge's)
    contact_merge_undo(actor=admin_user_p, merge=record)
    left = set(survivor.identities.filter(kind="email").values_list("value", "match_key"))
    assert left == {("annlee@googlemail.com", "annlee@gmail.com")}
    back = merged.identities.get(kind="email")
    assert (back.value, back.match_key) == ("ann.private@example.org", "ann.private@example.org")
    email_keys_are_right()
    # and a variant of the merged contact's further email finds that contact again
    assert identify(source, "u-private", "Ann.Private@Example.org").contact_id == merged.pk


def test_undo_of_a_merge_journaled_before_the_column_sets_the_key(admin_user_p):
    # Given two contacts sharing a further email: the merge deletes the merged one's row
    survivor = contact_create(
        actor=admin_user_p, data={"email": "lu@work.example", "emails": ["lu.ma@gmail.com"]}
    )
    merged = contact_create(
        actor=admin_user_p, data={"email": "lu@home.example", "emails": ["lu.ma@gmail.com"]}
    )
    record = contact_merge(actor=admin_user_p, survivor=survivor, merged=merged)
    images = [r for r in record.deleted if r["model"] == "contacts.contactidentity"]
    assert [r["fields"]["value"] for r in images] == ["lu.ma@gmail.com"]
    # as a journal written before the match_key column existed
    for image in images:
        del image["fields"]["match_key"]
    record.save(update_fields=["deleted"])
    # When it is undone, the re-inserted row gets its key
    contact_merge_undo(actor=admin_user_p, merge=record)
    back = merged.identities.get(kind="email")
    assert (back.value, back.match_key) == ("lu.ma@gmail.com", "luma@gmail.com")
    email_keys_are_right()


def test_the_migration_backfills_match_keys_of_existing_email_identities(admin_user_p):
    migration = importlib.import_module("patron.contacts.migrations.0005_identity_email_match_key")
    contact = contact_create(actor=admin_user_p, data={"first_name": "Old"})
    rows = ContactIdentity.objects.bulk_create(
        [
            ContactIdentity(contact=contact, kind="email", value="Old.Timer+x@GoogleMail.com"),
            ContactIdentity(contact=contact, kind="email", value="Not An Address"),
            ContactIdentity(contact=contact, kind="anonymous_id", value="Anon+1@gmail.com"),
        ]
    )
    assert all(r.match_key == "" for r in rows)  # as rows from before the column
    migration.backfill_match_keys(apps, None)
    keys = dict(ContactIdentity.objects.values_list("value", "match_key"))
    assert keys == {
        "Old.Timer+x@GoogleMail.com": "oldtimer@gmail.com",
        "Not An Address": "not an address",  # no valid address: its lower-cased form
        "Anon+1@gmail.com": "",  # not an email identity: untouched
    }


def test_the_identity_match_key_is_hygienes_with_one_validation(monkeypatch):
    from patron.events.services.identity import points
    from patron.hygiene.normalize import email as hygiene_email
    from patron.hygiene.normalize import email_match_key as hygiene_key

    cases = [
        "Jane.Doe+news@GoogleMail.com",
        "jane.doe@gmail.com",
        "  Bo <bo+x@Example.ORG> ",
        "ü@müller.de",
        "+tag@example.com",
        "not an address",
        "",
    ]
    # the same keys as hygiene's own function, invalid input included
    for value in cases:
        assert points.email_match_key(value) == hygiene_key(value), value
    # and a new address is validated once for its normal form and its key together
    calls: list[str] = []
    real = hygiene_email.validate_email

    def counted(text: str, **kwargs: Any) -> Any:
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(hygiene_email, "validate_email", counted)
    points.normalize_email.cache_clear()
    points.email_match_key.cache_clear()
    address = points.normalize_email("New.Person+a@Example.com")
    assert points.email_match_key(address) == "new.person@example.com"
    assert points.email_match_key("New.Person+a@Example.com") == "new.person@example.com"
    assert len(calls) == 2  # the raw spelling and the normalised one, once each
