"""Merging moves everything to the survivor, journaled; undo restores the exact state."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from patron.accounts.models import Role
from patron.commerce.models import Order
from patron.contacts.models import Contact, ContactIdentity, CustomFieldValue
from patron.contacts.services import contact_update
from patron.core.models import Activity, Workspace
from patron.core.permissions import P, PermissionDenied
from patron.events.models import Event
from patron.hygiene.models import DuplicateCandidate, MergeRecord
from patron.hygiene.selectors import contact_ids_merged_into, contact_survivor_of
from patron.hygiene.services import contact_merge, contact_merge_undo
from patron.hygiene.tests.factories import (
    attach_everything,
    contact,
    counts,
    database_state,
    shared_things,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    a = contact(
        full_name="Jane Doe",
        first_name="Jane",
        last_name="Doe",
        email="jane@example.com",
        phone="+14155550100",
        city="Berlin",
        postal_code="10115",
        country="DE",
        source="crm",
    )
    b = contact(
        full_name="Jane Q. Doe",
        first_name="Jane",
        middle_name="Q.",
        last_name="Doe",
        email="jane.doe@work.example",
        phone="+14155550199",
        job_title="CTO",
        birthday=dt.date(1980, 5, 6),
        address_line1="1 Main St",
        city="Hamburg",
        postal_code="20095",
        country="DE",
        source="import",
        external_id="legacy-7",
    )
    attach_everything(a, 2, seed=1)
    attach_everything(b, 3, seed=2)
    shared_things(a, b)
    return a, b


def test_merge_moves_every_related_row_and_keeps_secondary_contact_points(
    pair, manager_user_p
) -> None:
    a, b = pair
    total_before = counts()
    b_events = set(Event.objects.filter(contact=b).values_list("pk", flat=True))

    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)

    assert not Contact.objects.filter(pk=b.pk).exists()
    a.refresh_from_db()
    # survivorship (most complete): the fuller name and address win, filled gaps are filled
    assert a.middle_name == "Q." and a.job_title == "CTO"
    assert a.birthday == dt.date(1980, 5, 6) and a.external_id == "legacy-7"
    assert a.address_line1 == "1 Main St" and a.city == "Hamburg"
    # both filled: the more complete record (b) wins; the survivor's own are kept as secondary
    assert (a.email, a.phone) == ("jane.doe@work.example", "+14155550199")
    identities = set(ContactIdentity.objects.filter(contact=a).values_list("kind", "value"))
    assert ("email", "jane@example.com") in identities
    assert ("phone", "+14155550100") in identities
    assert ("anonymous_id", f"anon-{b.pk}") in identities
    # everything moved
    assert set(Event.objects.filter(contact=a).values_list("pk", flat=True)) >= b_events
    assert Order.objects.filter(contact=a).count() == 5
    assert a.orders.count() == 5 and a.tickets.count() == 5 and a.survey_responses.count() == 5
    assert a.notes.count() == 5 and a.consents.count() == 5 and a.order_lines.count() == 5
    assert sorted(a.tags.values_list("name", flat=True)) == ["only-" + str(b.pk), "vip"]
    assert a.lists.count() == 1 and a.memberships.count() == 1
    values = {(v.field.key, v.value) for v in CustomFieldValue.objects.filter(contact=a)}
    assert ("shoe", 42) in values and ("shoe", 43) not in values  # single value: survivor's
    assert {v for k, v in values if k == "likes"} == {"tea", "cake"}  # multi: union
    # nothing was lost: the only rows fewer are the duplicates that collided
    after = counts()
    assert after["events.event"] == total_before["events.event"]
    assert after["commerce.order"] == total_before["commerce.order"]
    assert after["contacts.contact"] == total_before["contacts.contact"] - 1
    # journal and activity
    assert record.moved["events.event.contact"] == sorted(b_events)
    verbs = set(Activity.objects.values_list("verb", flat=True))
    assert {"contact.merged", "contact.merged_away"} <= verbs
    entry = Activity.objects.get(verb="contact.merged")
    assert entry.contact_id == a.pk and entry.changes["merged_id"] == b.pk
    assert contact_survivor_of(b.pk) == a.pk
    assert contact_ids_merged_into(manager_user_p, a.pk) == [b.pk]


def test_field_choices_and_rules(pair, manager_user_p) -> None:
    a, b = pair
    contact_merge(
        actor=manager_user_p,
        survivor=a,
        merged=b,
        field_choices={"email": "merged", "city": "survivor", "custom.shoe": "merged"},
    )
    a.refresh_from_db()
    assert a.email == "jane.doe@work.example"
    # the address is one unit: choosing the survivor's city keeps its whole address
    assert (a.city, a.postal_code, a.address_line1) == ("Berlin", "10115", "")
    assert ContactIdentity.objects.filter(
        contact=a, kind="email", value="jane@example.com"
    ).exists()
    assert a.custom_values.get(field__key="shoe").value == 43


def test_trusted_source_rule_prefers_the_ranked_source(manager_user_p) -> None:
    a = contact(first_name="Al", last_name="Smith", job_title="Dev", source="webform")
    b = contact(first_name="Al", last_name="Smith", job_title="Lead", source="erp")
    contact_merge(
        actor=manager_user_p,
        survivor=a,
        merged=b,
        rule="trusted_source",
        trusted_sources=["erp", "webform"],
    )
    a.refresh_from_db()
    assert a.job_title == "Lead"


def test_bad_choices_are_field_errors_and_change_nothing(pair, manager_user_p) -> None:
    a, b = pair
    before = database_state()
    with pytest.raises(ValidationError) as err:
        contact_merge(actor=manager_user_p, survivor=a, merged=b, field_choices={"role": "merged"})
    assert "role" in err.value.message_dict
    with pytest.raises(ValidationError):
        contact_merge(actor=manager_user_p, survivor=a, merged=a)
    with pytest.raises(ValidationError):
        contact_merge(actor=manager_user_p, survivor=a, merged=b, rule="coin_flip")
    assert database_state() == before


def test_undo_restores_the_exact_state(pair, manager_user_p) -> None:
    a, b = pair
    before = database_state()
    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    assert database_state() != before
    contact_merge_undo(actor=manager_user_p, merge=record)
    assert database_state() == before
    record.refresh_from_db()
    assert record.is_undone and record.undo_report == {}
    assert Activity.objects.filter(verb="contact.merge_undone", contact_id=a.pk).exists()
    assert Activity.objects.filter(verb="contact.unmerged", contact_id=b.pk).exists()
    with pytest.raises(ValidationError):
        contact_merge_undo(actor=manager_user_p, merge=record)


def test_undo_reverses_only_the_merge_own_changes(pair, manager_user_p) -> None:
    a, b = pair
    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    # later, elsewhere: a field the merge set is edited, another field too, a new order
    contact_update(actor=manager_user_p, contact=a.pk, data={"job_title": "CEO", "language": "de"})
    new_order = Order.objects.create(contact_id=a.pk, placed_at=dt.datetime.now(dt.UTC))
    moved_order = Order.objects.filter(pk__in=record.moved["commerce.order.contact"]).first()
    moved_order.status = "refunded"
    moved_order.save(update_fields=["status"])

    contact_merge_undo(actor=manager_user_p, merge=record)

    a.refresh_from_db()
    b = Contact.objects.get(pk=b.pk)
    assert a.job_title == "CEO" and a.language == "de"  # later edits survive
    assert a.middle_name == ""  # the merge's own change is reversed
    assert b.job_title == "CTO" and b.external_id == "legacy-7"
    assert Order.objects.get(pk=new_order.pk).contact_id == a.pk
    moved_order.refresh_from_db()
    assert moved_order.contact_id == b.pk and moved_order.status == "refunded"
    record.refresh_from_db()
    assert record.undo_report["survivor_fields_kept"] == ["job_title"]


def test_chained_merges_undo_in_reverse_order(manager_user_p) -> None:
    a, b, c = (contact(first_name=n, last_name="Roe") for n in ("Ann", "Anne", "Annie"))
    attach_everything(b, seed=5)
    before = database_state()
    first = contact_merge(actor=manager_user_p, survivor=b, merged=c)
    second = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    with pytest.raises(ValidationError, match=f"Undo merge #{second.pk} first"):
        contact_merge_undo(actor=manager_user_p, merge=first)
    contact_merge_undo(actor=manager_user_p, merge=second)
    contact_merge_undo(actor=manager_user_p, merge=first)
    assert database_state() == before


# --- permissions and scope --------------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "marketing", "support", "readonly"])
def test_roles_without_merge_permission_are_refused_and_nothing_changes(
    pair, make_user, role
) -> None:
    a, b = pair
    user = make_user(role)
    before, activity = database_state(), Activity.objects.count()
    with pytest.raises(PermissionDenied):
        contact_merge(actor=user, survivor=a, merged=b)
    assert database_state() == before and Activity.objects.count() == activity
    assert not MergeRecord.objects.exists()


def test_both_contacts_must_be_in_the_actors_scope(pair, make_user) -> None:
    a, b = pair
    Role.objects.create(
        key="merger",
        name="Restricted merger",
        permissions=[P.CONTACT_VIEW, P.CONTACT_EDIT, P.CONTACT_MERGE],
        restricted=True,
    )
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    user = make_user("merger")
    Contact.objects.filter(pk=a.pk).update(owner=user)  # b belongs to nobody
    before = database_state()
    with pytest.raises(PermissionDenied):
        contact_merge(actor=user, survivor=a, merged=b)
    with pytest.raises(PermissionDenied):
        contact_merge(actor=user, survivor=b, merged=a)
    assert database_state() == before
    Contact.objects.filter(pk=b.pk).update(owner=user)
    record = contact_merge(actor=user, survivor=a, merged=b)
    Contact.objects.filter(pk=a.pk).update(owner=None)
    with pytest.raises(PermissionDenied):
        contact_merge_undo(actor=user, merge=record)


def test_undo_needs_the_merge_permission(pair, manager_user_p, make_user) -> None:
    a, b = pair
    record = contact_merge(actor=manager_user_p, survivor=a, merged=b)
    state = database_state()
    with pytest.raises(PermissionDenied):
        contact_merge_undo(actor=make_user("sales"), merge=record)
    assert database_state() == state


# --- property: merge then undo is the identity ---------------------------------------

names = st.sampled_from(["", "Ann", "ANN", "Bob", "Zoë", "O'Neil"])
emails = st.sampled_from(["", "a@example.com", "b@example.com", "A+x@Example.com"])
phones = st.sampled_from(["", "+14155550100", "+442079460958"])
dates = st.none() | st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2005, 1, 1))
contact_data = st.fixed_dictionaries(
    {
        "first_name": names,
        "last_name": names,
        "email": emails,
        "phone": phones,
        "birthday": dates,
        "city": st.sampled_from(["", "Paris", "Oslo"]),
        "job_title": st.sampled_from(["", "CTO", "Dev"]),
        "external_id": st.sampled_from([None, "x-1", "x-2"]),
    }
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    a_data=contact_data,
    b_data=contact_data,
    a_rows=st.integers(0, 2),
    b_rows=st.integers(0, 2),
    shared=st.booleans(),
    rule=st.sampled_from(["most_recent", "most_complete", "trusted_source"]),
    choices=st.dictionaries(
        st.sampled_from(["name", "address", "email", "phone", "birthday", "custom.shoe"]),
        st.sampled_from(["survivor", "merged"]),
        max_size=4,
    ),
)
def test_property_merge_then_undo_restores_the_database(
    manager_user_p, a_data, b_data, a_rows, b_rows, shared, rule, choices
) -> None:
    if a_data["external_id"] and a_data["external_id"] == b_data["external_id"]:
        b_data = {**b_data, "external_id": None}
    with transaction.atomic():
        a = contact(**a_data, source="crm")
        b = contact(**b_data, source="shop")
        attach_everything(a, a_rows, seed=1)
        attach_everything(b, b_rows, seed=2)
        if shared:
            shared_things(a, b)
        before = database_state()
        record = contact_merge(
            actor=manager_user_p,
            survivor=a,
            merged=b,
            rule=rule,
            field_choices=choices,
            trusted_sources=["shop"],
        )
        contact_merge_undo(actor=manager_user_p, merge=record)
        assert database_state() == before
        assert DuplicateCandidate.objects.count() == (1 if shared else 0)
        transaction.set_rollback(True)
