"""Contact, company and note services: normalisation, validation, scope, activity."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Company, Contact, ContactIdentity, CustomField, Note
from patron.contacts.selectors import contacts_visible_to
from patron.contacts.services import (
    company_create,
    company_update,
    contact_company_link,
    contact_create,
    contact_delete,
    contact_tag,
    contact_untag,
    contact_update,
    note_create,
)
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.services import workspace_update

pytestmark = pytest.mark.django_db


def _user(username: str, role: str, **kw):
    roles_ensure_defaults()
    return user_create(actor=None, username=username, password=None, role_key=role, **kw)


@pytest.fixture
def admin():
    return _user("boss", "admin", is_superuser=True)


@pytest.fixture
def rep():
    return _user("rep1", "sales")


@pytest.fixture
def other_rep():
    return _user("rep2", "sales")


def _table_state():
    return (
        list(Contact.objects.order_by("pk").values()),
        list(ContactIdentity.objects.order_by("pk").values()),
        list(Note.objects.order_by("pk").values()),
        Activity.objects.count(),
    )


def test_create_normalises_and_records_activity(rep):
    # given a sales rep
    # when they create a contact with messy input
    c = contact_create(
        actor=rep,
        data={
            "full_name": "  Dr. Jane   van der Berg Jr. ",
            "email": "Jane.Doe@EXAMPLE.COM",
            "phone": "030 1234567",
            "country": "Germany",
            "emails": ["jane@home.example"],
            "tags": ["vip", "vip", " b2b "],
        },
    )
    # then values are normalised, parts parsed, and the activity written
    c.refresh_from_db()
    assert c.full_name == "Dr. Jane van der Berg Jr."
    assert (c.prefix, c.first_name, c.last_name, c.suffix) == ("Dr.", "Jane", "van der Berg", "Jr.")
    assert c.email == "Jane.Doe@example.com"
    assert c.country == "DE"
    assert c.phone == "+49301234567"
    assert c.owner == rep
    assert sorted(c.tags.values_list("name", flat=True)) == ["b2b", "vip"]
    assert list(c.identities.values_list("kind", "value")) == [("email", "jane@home.example")]
    entry = Activity.objects.get(verb="contact.created", contact_id=c.pk)
    assert entry.actor == rep
    assert entry.changes["after"]["email"] == "Jane.Doe@example.com"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"first_name": "A", "phone": "12"}, "phone"),
        ({"first_name": "A", "country": "Atlantis"}, "country"),
        ({"first_name": "A", "birthday": "2999-01-01"}, "birthday"),
        ({"first_name": "A", "birthday": "31/31/2000"}, "birthday"),
        ({"first_name": "x" * 121}, "first_name"),
        ({"first_name": "A", "lifecycle_stage": "wizard"}, "lifecycle_stage"),
        ({"first_name": "A", "custom": {"nope": 1}}, "custom.nope"),
        ({"first_name": "A", "role": "admin"}, "role"),
        ({"first_name": "A", "is_staff": True}, "is_staff"),
        ({"first_name": ["A"]}, "first_name"),
        ({}, "__all__"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(rep, data, field):
    before = _table_state()
    with pytest.raises(ValidationError) as exc:
        contact_create(actor=rep, data=data)
    assert field in exc.value.message_dict
    assert _table_state() == before


def test_duplicate_external_id_is_a_field_error(rep):
    contact_create(actor=rep, data={"first_name": "A", "external_id": "crm-1"})
    before = _table_state()
    with pytest.raises(ValidationError) as exc:
        contact_create(actor=rep, data={"first_name": "B", "external_id": "crm-1"})
    assert "external_id" in exc.value.message_dict
    assert _table_state() == before


def test_update_records_only_changed_fields(rep):
    c = contact_create(actor=rep, data={"first_name": "Ann", "last_name": "Lee"})
    contact_update(actor=rep, contact=c, data={"job_title": "CTO", "last_name": "Lee"})
    entry = Activity.objects.filter(verb="contact.updated", contact_id=c.pk).get()
    assert entry.changes == {"before": {"job_title": ""}, "after": {"job_title": "CTO"}}
    # an update that changes nothing writes no entry
    contact_update(actor=rep, contact=c, data={"job_title": "CTO"})
    assert Activity.objects.filter(verb="contact.updated", contact_id=c.pk).count() == 1


def test_restricted_rep_cannot_touch_another_reps_contact(admin, rep, other_rep):
    workspace_update(actor=admin, restricted_visibility="own")
    theirs = contact_create(actor=other_rep, data={"first_name": "Theirs"})
    before = _table_state()
    with pytest.raises(PermissionDenied):
        contact_update(actor=rep, contact=theirs, data={"first_name": "Mine"})
    with pytest.raises(PermissionDenied):
        contact_tag(actor=rep, contact=theirs, tag_name="stolen")
    with pytest.raises(PermissionDenied):
        note_create(actor=rep, contact=theirs, body="hi")
    assert _table_state() == before
    assert not contacts_visible_to(rep).filter(pk=theirs.pk).exists()
    assert contacts_visible_to(admin).filter(pk=theirs.pk).exists()


def test_team_visibility(admin):
    from patron.accounts.models import Team

    red = Team.objects.create(name="Red")
    blue = Team.objects.create(name="Blue")
    a = _user("a", "sales", team=red)
    b = _user("b", "sales", team=red)
    c = _user("c", "sales", team=blue)
    workspace_update(actor=admin, restricted_visibility="team")
    mine = contact_create(actor=a, data={"first_name": "X"})
    assert contacts_visible_to(b).filter(pk=mine.pk).exists()
    assert not contacts_visible_to(c).filter(pk=mine.pk).exists()


def test_restricted_rep_cannot_give_records_away(admin, rep, other_rep):
    with pytest.raises(PermissionDenied):
        contact_create(actor=rep, data={"first_name": "X", "owner_id": other_rep.pk})
    assert not Contact.objects.exists()
    c = contact_create(actor=admin, data={"first_name": "X", "owner_id": other_rep.pk})
    assert c.owner == other_rep


def test_readonly_cannot_write():
    ro = _user("ro", "readonly")
    with pytest.raises(PermissionDenied):
        contact_create(actor=ro, data={"first_name": "X"})
    assert not Contact.objects.exists()


def test_tag_untag_and_delete(rep, admin):
    c = contact_create(actor=rep, data={"first_name": "T"})
    contact_tag(actor=rep, contact=c, tag_name="<script>x</script>")
    assert c.tags.get().name == "<script>x</script>"  # stored as text, escaped on output
    contact_untag(actor=rep, contact=c, tag_name="<script>x</script>")
    assert not c.tags.exists()
    verbs = list(Activity.objects.filter(contact_id=c.pk).values_list("verb", flat=True))
    assert verbs.count("contact.tagged") == 1 and verbs.count("contact.untagged") == 1
    with pytest.raises(PermissionDenied):
        contact_delete(actor=rep, contact=c)  # sales may not delete
    contact_delete(actor=admin, contact=c)
    assert not Contact.objects.filter(pk=c.pk).exists()
    assert Activity.objects.filter(verb="contact.deleted", subject_id=c.pk).exists()


def test_custom_fields_typed_and_validated(rep):
    CustomField.objects.create(entity="contact", key="seats", label="Seats", type="number")
    CustomField.objects.create(
        entity="contact", key="plan", label="Plan", type="choice", choices=["free", "pro"]
    )
    CustomField.objects.create(
        entity="contact", key="langs", label="Langs", type="multi_choice", choices=["en", "de"]
    )
    CustomField.objects.create(entity="contact", key="renews", label="Renews", type="date")
    CustomField.objects.create(entity="contact", key="site", label="Site", type="url")
    c = contact_create(
        actor=rep,
        data={
            "first_name": "C",
            "custom": {
                "seats": "12",
                "plan": "pro",
                "langs": ["en", "de"],
                "renews": "2027-01-31",
                "site": "https://example.com",
            },
        },
    )
    values = {(v.field.key, str(v.value)) for v in c.custom_values.select_related("field")}
    assert values == {
        ("seats", "12.000000"),
        ("plan", "pro"),
        ("langs", "en"),
        ("langs", "de"),
        ("renews", "2027-01-31"),
        ("site", "https://example.com"),
    }
    # filterable and typed: numeric comparison works in SQL
    assert Contact.objects.filter(
        custom_values__field__key="seats", custom_values__value_number__gt=10
    ).exists()
    bad = {
        "seats": "many",
        "plan": "enterprise",
        "langs": ["fr"],
        "renews": "someday",
        "site": "javascript:alert(1)",
    }
    for key, value in bad.items():
        with pytest.raises(ValidationError) as exc:
            contact_update(actor=rep, contact=c, data={"custom": {key: value}})
        assert f"custom.{key}" in exc.value.message_dict
    assert c.custom_values.count() == 6


def test_company_create_and_link(rep):
    co = company_create(actor=rep, data={"name": "Acme", "domain": "WWW.Acme.io", "country": "fr"})
    assert (co.domain, co.country, co.owner) == ("acme.io", "FR", rep)
    c = contact_create(actor=rep, data={"first_name": "P"})
    contact_company_link(actor=rep, contact=c, company=co, role="Buyer")
    assert c.memberships.get().role == "Buyer"
    company_update(actor=rep, company=co, data={"industry": "Software"})
    assert Company.objects.get(pk=co.pk).industry == "Software"
    with pytest.raises(ValidationError):
        company_create(actor=rep, data={"name": ""})


def test_note_is_plain_text_and_bounded(rep):
    c = contact_create(actor=rep, data={"first_name": "N"})
    n = note_create(actor=rep, contact=c, body="<b>hi</b>\n=cmd|' /C calc'!A0")
    assert n.body.startswith("<b>hi</b>")
    with pytest.raises(ValidationError):
        note_create(actor=rep, contact=c, body="   ")
    with pytest.raises(ValidationError):
        note_create(actor=rep, contact=c, body="x" * 20_001)
    assert Note.objects.count() == 1


def test_birthday_accepts_date_objects(rep):
    c = contact_create(actor=rep, data={"first_name": "B", "birthday": dt.date(1990, 5, 17)})
    assert c.birthday == dt.date(1990, 5, 17)
