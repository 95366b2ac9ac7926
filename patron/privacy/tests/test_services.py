"""The consent write service: append-only entries, permissions, validation, activity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.privacy.models import Consent
from patron.privacy.services import consent_record

pytestmark = pytest.mark.django_db


def _record(actor: Any, contact: Any, **over: Any) -> Consent:
    data: dict[str, Any] = {
        "purpose": "email_marketing",
        "channel": "email",
        "status": "granted",
        "source": "signup form",
    }
    data.update(over)
    return consent_record(actor=actor, contact=contact, **data)


def test_records_entries_in_order_with_activity(marketing_user_p: Any) -> None:
    contact = Contact.objects.create(first_name="A")
    first = _record(marketing_user_p, contact)
    second = _record(marketing_user_p, contact.pk, status="withdrawn", source="unsubscribe link")
    rows = list(Consent.objects.filter(contact=contact).order_by("id"))
    assert [r.status for r in rows] == ["granted", "withdrawn"]
    assert rows[0].pk == first.pk and rows[1].pk == second.pk
    assert rows[1].recorded_by_id == marketing_user_p.pk
    verbs = list(
        Activity.objects.filter(contact_id=contact.pk).order_by("id").values_list("verb", flat=True)
    )
    assert verbs == ["consent.granted", "consent.withdrawn"]
    # The ledger stays append-only: an entry cannot be edited in place.
    with pytest.raises(TypeError, match="append-only"):
        first.save()


def test_needs_the_permission(readonly_user_p: Any) -> None:
    contact = Contact.objects.create(first_name="A")
    with pytest.raises(PermissionDenied):
        _record(readonly_user_p, contact)
    assert not Consent.objects.exists()


def test_restricted_user_cannot_record_for_someone_elses_contact(
    sales_user_p: Any, admin_user_p: Any, settings: Any
) -> None:
    from patron.core.services import workspace_get

    ws = workspace_get()
    ws.restricted_visibility = "own"
    ws.save()
    theirs = Contact.objects.create(first_name="B", owner=admin_user_p)
    with pytest.raises(PermissionDenied):
        _record(sales_user_p, theirs)
    assert not Consent.objects.exists()


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"purpose": "spam"}, "purpose"),
        ({"channel": "pigeon"}, "channel"),
        ({"status": "maybe"}, "status"),
        ({"lawful_basis": "because"}, "lawful_basis"),
        ({"source": "   "}, "source"),
        ({"source": None}, "source"),
        ({"purpose": ["email_marketing"]}, "purpose"),
        ({"recorded_at": dt.datetime(2026, 1, 1)}, "recorded_at"),  # naive
        ({"recorded_at": "yesterday"}, "recorded_at"),
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(
    admin_user_p: Any, over: dict[str, Any], field: str
) -> None:
    contact = Contact.objects.create(first_name="A")
    with pytest.raises(ValidationError) as exc:
        _record(admin_user_p, contact, **over)
    assert field in exc.value.message_dict
    assert not Consent.objects.exists()
    assert not Activity.objects.filter(verb__startswith="consent.").exists()


def test_future_time_is_rejected_past_time_kept(admin_user_p: Any) -> None:
    contact = Contact.objects.create(first_name="A")
    with pytest.raises(ValidationError, match="future"):
        _record(admin_user_p, contact, recorded_at=timezone.now() + dt.timedelta(days=1))
    past = timezone.now() - dt.timedelta(days=30)
    entry = _record(admin_user_p, contact, recorded_at=past, wording_version="v3")
    entry.refresh_from_db()
    assert entry.recorded_at == past and entry.wording_version == "v3"


def test_unknown_contact_is_refused(admin_user_p: Any) -> None:
    with pytest.raises(PermissionDenied):
        _record(admin_user_p, 999_999)
