"""Changes made through other apps' services reach segment membership after commit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from patron.commerce.services import order_create
from patron.contacts.models import Contact
from patron.contacts.services.contact import contact_create, contact_update
from patron.segments.models import SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build
from patron.segments.tasks import contacts_changed
from patron.support.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def _members(seg: Any) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True).values_list(
            "contact_id", flat=True
        )
    )


def _segment(actor: Any, text: str) -> Any:
    seg = segment_create(actor=actor, data={"name": text[:50], "text": text})
    segment_build(segment_id=seg.pk)
    return seg


def test_profile_edit_moves_contact_after_commit(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seg = _segment(admin_user_p, 'city = "Berlin"')
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        contact = contact_create(actor=admin_user_p, data={"first_name": "A", "city": "Berlin"})
        assert _members(seg) == set()  # nothing before commit
    assert callbacks and _members(seg) == {contact.pk}
    with django_capture_on_commit_callbacks(execute=True):
        contact_update(actor=admin_user_p, contact=contact, data={"city": "Rome"})
    assert _members(seg) == set()


def test_orders_and_tickets_move_contacts(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    contact = Contact.objects.create(first_name="A")
    buyers = _segment(admin_user_p, "orders total >= 100 in last 30 days")
    unhappy = _segment(admin_user_p, "open tickets >= 1")
    with django_capture_on_commit_callbacks(execute=True):
        order_create(
            actor=admin_user_p,
            data={
                "contact_id": contact.pk,
                "total": "150.00",
                "placed_at": timezone.now() - dt.timedelta(days=1),
            },
        )
        ticket_create(actor=admin_user_p, data={"contact_id": contact.pk, "subject": "Broken"})
    assert _members(buyers) == {contact.pk}
    assert _members(unhappy) == {contact.pk}


def test_unknown_kind_of_change_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="Unknown kind"):
        contacts_changed([1], what={"weather"})


def test_nothing_is_enqueued_when_no_segment_depends_on_the_change(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _segment(admin_user_p, "open tickets >= 1")
    contact = Contact.objects.create(first_name="A")
    with django_capture_on_commit_callbacks() as callbacks:
        contacts_changed([contact.pk], what={"orders"})
    assert callbacks == []
    with django_capture_on_commit_callbacks() as callbacks:
        contacts_changed([contact.pk], what={"tickets"})
    assert len(callbacks) == 1
