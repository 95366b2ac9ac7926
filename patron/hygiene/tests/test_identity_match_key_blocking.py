"""The real-time duplicate check blocks on further emails by their match key."""

from __future__ import annotations

import pytest

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.hygiene.selectors import blocking_filter

pytestmark = pytest.mark.django_db


def blocked_with(contact: Contact) -> set[int]:
    return set(
        Contact.objects.filter(blocking_filter(contact, [], [])).values_list("pk", flat=True)
    )


def test_a_variant_of_a_further_email_is_a_blocking_key(admin_user_p) -> None:
    # Given a contact whose further (not primary) email is a dotted Gmail address
    known = contact_create(
        actor=admin_user_p,
        data={"first_name": "Kai", "email": "kai@work.example", "emails": ["kai.berg@gmail.com"]},
    )
    # When a contact with a plus-tagged, undotted spelling of that mailbox is checked
    new = contact_create(
        actor=admin_user_p, data={"last_name": "X", "email": "KaiBerg+a@gmail.com"}
    )
    other = contact_create(
        actor=admin_user_p, data={"last_name": "Y", "email": "kai.berg@example.com"}
    )
    # Then the known contact is a candidate; another mailbox does not block with it
    assert known.pk in blocked_with(new)
    assert known.pk not in blocked_with(other)
