"""Company edits, consent, tags, static lists and merges move contacts in and out of live
segments after commit (through each app's own service)."""

from __future__ import annotations

from typing import Any

import pytest

from patron.contacts.models import Contact, ContactList
from patron.contacts.services.company import company_create, company_delete, company_update
from patron.contacts.services.contact import contact_company_link, contact_tag, contact_untag
from patron.contacts.services.note import list_add_contacts, note_create
from patron.hygiene.services.merge import contact_merge
from patron.hygiene.services.undo import contact_merge_undo
from patron.privacy.services import consent_record
from patron.segments.models import Segment, SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build

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


def test_company_edit_and_delete_move_its_contacts(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seg = _segment(admin_user_p, 'company.industry = "Retail"')
    assert "company" in Segment.objects.get(pk=seg.pk).depends_on
    a, b = Contact.objects.create(first_name="A"), Contact.objects.create(first_name="B")
    outsider = Contact.objects.create(first_name="C")
    with django_capture_on_commit_callbacks(execute=True):
        company = company_create(actor=admin_user_p, data={"name": "Acme", "industry": "Tools"})
        contact_company_link(actor=admin_user_p, contact=a, company=company)
        contact_company_link(actor=admin_user_p, contact=b, company=company)
    assert _members(seg) == set()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        company_update(actor=admin_user_p, company=company, data={"industry": "Retail"})
        assert _members(seg) == set()  # not before commit
    assert callbacks and _members(seg) == {a.pk, b.pk}
    assert outsider.pk not in _members(seg)
    with django_capture_on_commit_callbacks(execute=True):
        company_update(actor=admin_user_p, company=company, data={"industry": "Banking"})
    assert _members(seg) == set()
    with django_capture_on_commit_callbacks(execute=True):
        company_update(actor=admin_user_p, company=company, data={"industry": "Retail"})
    assert _members(seg) == {a.pk, b.pk}
    with django_capture_on_commit_callbacks(execute=True):
        company_delete(actor=admin_user_p, company=company)
    assert _members(seg) == set()


def test_company_edit_does_not_touch_segments_without_company_rules(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    _segment(admin_user_p, 'city = "Berlin"')
    company = company_create(actor=admin_user_p, data={"name": "Acme"})
    contact = Contact.objects.create(first_name="A")
    contact_company_link(actor=admin_user_p, contact=contact, company=company)
    with django_capture_on_commit_callbacks() as callbacks:
        company_update(actor=admin_user_p, company=company, data={"industry": "Retail"})
    assert callbacks == []  # nothing enqueued: no live segment depends on company fields


def test_consent_moves_contact_in_and_out(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seg = _segment(admin_user_p, "consent email_marketing via email")
    contact = Contact.objects.create(first_name="A")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        consent_record(
            actor=admin_user_p, contact=contact, purpose="email_marketing", channel="email",
            status="granted", source="form",
        )  # fmt: skip
        assert _members(seg) == set()
    assert callbacks and _members(seg) == {contact.pk}
    with django_capture_on_commit_callbacks(execute=True):
        consent_record(
            actor=admin_user_p, contact=contact, purpose="email_marketing", channel="email",
            status="withdrawn", source="unsubscribe",
        )  # fmt: skip
    assert _members(seg) == set()


def test_tags_move_contact_in_and_out(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    seg = _segment(admin_user_p, 'tag "vip"')
    contact = Contact.objects.create(first_name="A")
    with django_capture_on_commit_callbacks(execute=True):
        contact_tag(actor=admin_user_p, contact=contact, tag_name="vip")
    assert _members(seg) == {contact.pk}
    with django_capture_on_commit_callbacks(execute=True):
        contact_untag(actor=admin_user_p, contact=contact, tag_name="vip")
    assert _members(seg) == set()


def test_static_list_moves_contact_in_and_out(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """There is no remove-from-list service; adding to a list moves a contact into
    ``in list`` and out of ``not in list``."""
    contact = Contact.objects.create(first_name="A")
    cl = ContactList.objects.create(name="Webinar", owner=admin_user_p)
    inside = _segment(admin_user_p, f"in list {cl.pk}")
    outside = _segment(admin_user_p, f"not in list {cl.pk}")
    assert _members(outside) == {contact.pk}
    with django_capture_on_commit_callbacks(execute=True):
        list_add_contacts(actor=admin_user_p, contact_list=cl, contact_ids=[contact.pk])
    assert _members(inside) == {contact.pk}
    assert _members(outside) == set()


def test_merge_and_undo_move_contacts(
    admin_user_p: Any, django_capture_on_commit_callbacks: Any
) -> None:
    survivor = Contact.objects.create(first_name="Ann", email="ann@example.com")
    merged = Contact.objects.create(first_name="Ann", email="ann.b@example.com")
    contact_tag(actor=admin_user_p, contact=merged, tag_name="vip")
    seg = _segment(admin_user_p, 'tag "vip"')
    assert _members(seg) == {merged.pk}
    with django_capture_on_commit_callbacks(execute=True):
        record = contact_merge(actor=admin_user_p, survivor=survivor, merged=merged)
    assert _members(seg) == {survivor.pk}  # the tag moved over; the merged contact left
    with django_capture_on_commit_callbacks(execute=True):
        contact_merge_undo(actor=admin_user_p, merge=record)
    assert _members(seg) == {merged.pk}


def test_notes_are_not_a_segment_input(admin_user_p: Any) -> None:
    """No rule reads notes (the catalogue has no note condition), so a note re-evaluates
    nothing; it must not fail either."""
    from patron.segments.rules import RuleError, parse_rules

    contact = Contact.objects.create(first_name="A")
    note_create(actor=admin_user_p, body="Called", contact=contact)
    with pytest.raises(RuleError):
        parse_rules('note "Called"')
