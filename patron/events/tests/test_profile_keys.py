"""New contacts' profile fields and match keys are the same through the memoised helpers.

The event processor gives ``contact_keys_refresh`` the identity layer's memoised
``email_match_key`` and parses full names through a memoised ``name_parts``; neither may
change a stored value: the rows written are compared with the unmemoised hygiene path.
"""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from nameparser import HumanName

from patron.contacts.models import Contact
from patron.events.models import Event
from patron.events.services.identity import email_match_key as memo_email_match_key
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending
from patron.events.services.profile import name_parts
from patron.hygiene.normalize import contact_keys_refresh, email_match_key, name_key

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)

EMAILS = [
    "Jane.Doe+shop@GMAIL.com",
    "jane.doe@googlemail.com",
    "+tag@example.com",
    "a+b+c@Example.ORG",
    "Ünïcode.Ådress@bücher.de",
    "o'brien@sub.example.co.uk",
    "x@xn--bcher-kva.de",
    "ＦＵＬＬ＠ＷＩＤＴＨ.com",
    "not-an-address",
    "",
]
NAMES = [
    "User 12",
    "Dr. Juan Q. Xavier de la Vega III (Doc Vega)",
    "van der Berg, Anna",
    "MARY ANNE SMITH",
    "bob",
    "Mr. and Mrs. John Smith",
    "José María García y López",
    "Sir Patrick Stewart PhD",
    "李 小龙",
    "J. R. R. Tolkien",
    "O'Neil-McDonald, Seán",
    "Jean-Luc Picard Jr.",
    "a" * 200 + " " + "b" * 200,
]


@pytest.mark.parametrize("email", EMAILS)
def test_memoised_email_key_gives_the_hygiene_key(email: str) -> None:
    # Given a contact-like record with a tricky address
    plain = SimpleNamespace(email=email, first_name="Ann", last_name="Lee")
    memo = SimpleNamespace(email=email, first_name="Ann", last_name="Lee")
    # When its keys are refreshed with and without the memoised email key (twice: cached)
    contact_keys_refresh(plain)
    contact_keys_refresh(memo, email_key=memo_email_match_key)
    contact_keys_refresh(memo, email_key=memo_email_match_key)
    # Then both give the same keys
    assert (memo.email_match_key, memo.name_key) == (plain.email_match_key, plain.name_key)
    assert plain.email_match_key == (email_match_key(email) if email else "")


@pytest.mark.parametrize("name", NAMES)
def test_name_parts_are_nameparsers_first_and_last(name: str) -> None:
    parsed = HumanName(name)
    assert name_parts(name) == (parsed.first[:120], parsed.last[:120])
    assert name_parts(name) == name_parts(name)  # and again, from the cache


@pytest.mark.django_db
def test_new_contacts_store_the_unmemoised_fields_and_keys(source_key: Any) -> None:
    # Given identify calls for new users with tricky names and addresses
    source, _ = source_key
    valid = [e for e in EMAILS if "@" in e]
    msgs = [
        {
            "messageId": f"pk{i}",
            "type": "identify",
            "userId": f"pk-user-{i}",
            "timestamp": T0.isoformat(),
            "traits": {"name": name, **({"email": valid[i]} if i < len(valid) else {})},
        }
        for i, name in enumerate(NAMES)
    ]
    result = events_ingest(source=source, messages=msgs, received_at=T0)
    assert not result.rejected, result.rejected
    # When they are processed
    events_process_pending()
    # Then every stored name and key is what nameparser and the hygiene helpers give
    contact_of = dict(Event.objects.values_list("message_id", "contact_id"))
    contacts = {c.pk: c for c in Contact.objects.all()}
    assert len(contacts) == len(NAMES)
    checked_emails = 0
    for i in range(len(NAMES)):
        c = contacts[contact_of[f"pk{i}"]]
        parsed = HumanName(c.full_name)
        assert (c.first_name, c.last_name) == (parsed.first[:120], parsed.last[:120])
        assert c.name_key == name_key(c.first_name, c.last_name)
        assert c.email_match_key == (email_match_key(c.email) if c.email else "")
        checked_emails += bool(c.email)
    assert checked_emails >= 5
