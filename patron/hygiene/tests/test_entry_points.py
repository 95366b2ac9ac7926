"""The contact services normalise through patron.hygiene in both modes and set match keys."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import Contact
from patron.contacts.services import contact_create, contact_update

pytestmark = pytest.mark.django_db


def test_form_mode_refuses_with_field_errors_and_writes_nothing(sales_user_p) -> None:
    with pytest.raises(ValidationError) as err:
        contact_create(actor=sales_user_p, data={"full_name": "Jane", "email": "jane@"})
    assert "email" in err.value.message_dict
    assert not Contact.objects.exists()


def test_import_mode_keeps_the_bad_value_and_flags_it(sales_user_p) -> None:
    c = contact_create(
        actor=sales_user_p,
        data={"full_name": "JANE DOE", "email": "jane at example", "country": "Narnia"},
        on_invalid="flag",
    )
    c.refresh_from_db()
    assert (c.first_name, c.last_name, c.full_name) == ("Jane", "Doe", "JANE DOE")
    assert c.email == "" and c.country == ""
    assert c.invalid_fields["email"]["value"] == "jane at example"
    assert c.invalid_fields["country"]["value"] == "Narnia"
    # a later valid value clears the flag, other flags stay
    contact_update(actor=sales_user_p, contact=c, data={"email": "jane@example.com"})
    c.refresh_from_db()
    assert c.email == "jane@example.com"
    assert set(c.invalid_fields) == {"country"}


def test_match_keys_follow_every_write(sales_user_p) -> None:
    c = contact_create(
        actor=sales_user_p,
        data={"first_name": "bob", "last_name": "MÜLLER", "email": "Bob.M+crm@GoogleMail.com"},
    )
    c.refresh_from_db()
    assert (c.first_name, c.last_name) == ("Bob", "Müller")
    assert c.email_match_key == "bobm@gmail.com"
    assert c.name_key == "muller|r"
    contact_update(actor=sales_user_p, contact=c, data={"email": "", "last_name": "Meyer"})
    c.refresh_from_db()
    assert (c.email_match_key, c.name_key) == ("", "meyer|r")


def test_birthday_accepts_common_formats(sales_user_p) -> None:
    c = contact_create(
        actor=sales_user_p, data={"full_name": "Ann Lee", "country": "DE", "birthday": "05.03.1984"}
    )
    c.refresh_from_db()
    assert c.birthday.isoformat() == "1984-03-05"
