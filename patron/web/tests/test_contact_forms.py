"""Contact create/edit forms: explicit fields, inline service errors, refusal."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.contacts.models import Contact, CustomField
from patron.web.tests.conftest import db_state

pytestmark = pytest.mark.django_db

NEW = reverse("web:contact_new")


def edit(contact: Contact) -> str:
    return reverse("web:contact_edit", args=[contact.pk])


@pytest.fixture
def custom_fields(db):
    CustomField.objects.create(entity="contact", key="seats", label="Seats", type="number")
    CustomField.objects.create(
        entity="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
    )
    CustomField.objects.create(
        entity="contact",
        key="channels",
        label="Channels",
        type="multi_choice",
        choices=["email", "sms"],
    )
    CustomField.objects.create(
        entity="contact", key="vip", label="VIP", type="boolean", sensitive=True
    )


def test_new_form_renders_typed_inputs_and_custom_fields(admin, login, custom_fields):
    html = login(admin).get(NEW).content.decode()
    assert 'type="email" name="email"' in html
    assert 'type="tel" name="phone"' in html
    assert 'type="date" name="birthday"' in html
    assert 'name="custom.seats"' in html and 'type="number"' in html
    assert 'name="custom.channels"' in html and 'type="checkbox"' in html
    assert '<option value="pro">pro</option>' in html
    assert 'name="owner"' in html  # an admin may choose the owner


def test_create_contact_and_land_on_the_profile(admin, login, custom_fields):
    response = login(admin).post(
        NEW,
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@example.com",
            "extra_emails": "ada@home.example\nada@work.example",
            "phone": "+44 20 7946 0000",
            "country": "GB",
            "lifecycle_stage": "lead",
            "tags": "math, poet",
            "custom.seats": "3",
            "custom.plan": "pro",
            "custom.channels": ["email", "sms"],
            "custom.vip": "true",
            "owner": str(admin.pk),
        },
        follow=True,
    )
    contact = Contact.objects.get()
    assert response.redirect_chain[-1][0] == reverse("web:contact_detail", args=[contact.pk])
    assert b"Ada Lovelace was added." in response.content
    assert (contact.email, contact.phone, contact.country) == (
        "ada@example.com",
        "+442079460000",
        "GB",
    )
    assert sorted(contact.tags.values_list("name", flat=True)) == ["math", "poet"]
    assert sorted(contact.identities.values_list("value", flat=True)) == [
        "ada@home.example",
        "ada@work.example",
    ]
    values = {v.field.key: v.value for v in contact.custom_values.select_related("field")}
    assert values["plan"] == "pro" and values["vip"] is True and int(values["seats"]) == 3


def test_service_errors_render_inline_and_create_nothing(admin, login, custom_fields):
    before = db_state()
    response = login(admin).post(
        NEW,
        {
            "first_name": "Bad",
            "email": "not-an-email",
            "phone": "12",
            "birthday": "2999-01-01",
            "custom.seats": "many",
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Please fix the highlighted fields." in html
    # each message sits in its field's block, next to the input
    for name, text in (
        ("email", "Enter a valid email address"),
        ("phone", "Enter a valid phone number."),
        ("birthday", "Enter a birthday between 1900 and today."),
        ("custom.seats", "Expected a number."),
    ):
        block = html.split(f'name="{name}"')[1].split('<div class="field')[0]
        assert text in block, name
    # what was typed is kept
    assert 'value="not-an-email"' in html
    assert db_state() == before


def test_contact_without_name_email_or_phone_is_refused_on_top(admin, login):
    before = db_state()
    response = login(admin).post(NEW, {"job_title": "Ghost"})
    assert response.status_code == 422
    assert b"A contact needs at least a name, an email or a phone." in response.content
    assert db_state() == before


def test_sales_has_no_owner_select_and_cannot_mass_assign(user_factory, login, admin):
    rep = user_factory("sales")
    client = login(rep)
    assert b'name="owner"' not in client.get(NEW).content
    client.post(
        NEW,
        {
            "first_name": "Mass",
            "last_name": "Assign",
            "owner": str(admin.pk),
            "owner_id": str(admin.pk),
            "external_id": "EXT-1",
            "is_staff": "on",
            "search_text": "x",
        },
    )
    contact = Contact.objects.get()
    assert contact.owner_id == rep.pk
    assert contact.external_id is None
    assert "mass" in contact.search_text


def test_readonly_cannot_open_or_post_the_form(user_factory, login):
    client = login(user_factory("readonly"))
    before = db_state()
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"first_name": "Nope"}).status_code == 403
    assert db_state() == before


def test_edit_prefills_and_saves_only_changes(admin, login, make_contact, custom_fields):
    contact = make_contact(
        first_name="Edit",
        last_name="Me",
        email="edit@example.com",
        emails=["other@example.com"],
        custom={"seats": "2"},
    )
    client = login(admin)
    html = client.get(edit(contact)).content.decode()
    assert 'value="edit@example.com"' in html and "other@example.com</textarea>" in html
    assert 'name="custom.seats" value="2"' in html
    response = client.post(
        edit(contact),
        {
            "first_name": "Edited",
            "last_name": "Me",
            "email": "edit@example.com",
            "extra_emails": "other@example.com",
            "custom.seats": "5",
            "owner": str(admin.pk),
        },
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.first_name == "Edited"
    values = {v.field.key: v.value for v in contact.custom_values.select_related("field")}
    assert int(values["seats"]) == 5
    assert list(contact.identities.values_list("value", flat=True)) == ["other@example.com"]


def test_edit_errors_render_inline_and_change_nothing(admin, login, make_contact):
    contact = make_contact(first_name="Stay", last_name="Same", email="same@example.com")
    before = db_state()
    response = login(admin).post(
        edit(contact), {"first_name": "Stay", "last_name": "Same", "email": "broken@"}
    )
    assert response.status_code == 422
    assert b"Enter a valid email address" in response.content
    assert db_state() == before


def test_marketing_edit_form_leaves_out_sensitive_fields(
    user_factory, login, make_contact, custom_fields
):
    contact = make_contact(first_name="Sens", last_name="Itive", phone="+1 415 555 0101")
    client = login(user_factory("marketing"))
    html = client.get(edit(contact)).content.decode()
    assert 'name="phone"' not in html and 'name="birthday"' not in html
    assert 'name="custom.vip"' not in html and "555" not in html
    # posting a phone anyway changes nothing
    client.post(edit(contact), {"first_name": "Sens", "last_name": "Itive", "phone": "+1 999"})
    contact.refresh_from_db()
    assert contact.phone == "+14155550101"


def test_edit_out_of_scope_is_404_and_unchanged(
    admin, user_factory, login, make_contact, restrict_own
):
    rep = user_factory("sales")
    theirs = make_contact(first_name="Their", last_name="Own")
    restrict_own()
    before = db_state()
    client = login(rep)
    assert client.get(edit(theirs)).status_code == 404
    assert client.post(edit(theirs), {"first_name": "Hacked"}).status_code == 404
    assert db_state() == before


def test_edit_without_permission_is_403_and_unchanged(user_factory, login, make_contact):
    contact = make_contact(first_name="Read", last_name="Only")
    client = login(user_factory("readonly"))
    before = db_state()
    assert client.get(edit(contact)).status_code == 403
    assert client.post(edit(contact), {"first_name": "Changed"}).status_code == 403
    assert db_state() == before
