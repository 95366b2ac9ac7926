"""Erasure: the person is gone from every table that held them, others are untouched,
the record counts what went (webhook deliveries included) and keeps no personal data."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.events.models import Event, RejectedMessage, Source
from patron.hygiene.models import MergeRecord
from patron.imports.models import ImportJob, ImportRow
from patron.privacy.models import Consent, Erasure, ErasureMatch
from patron.privacy.services import consent_record, contact_erase, erased_match
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services.outbox import enqueue_segment_changes
from patron.webhooks.vault import encrypt

pytestmark = pytest.mark.django_db
EMAIL = "Ada.Lovelace+crm@gmail.com"


def _person(admin: Any, email: str, first: str) -> Contact:
    contact = contact_create(actor=admin, data={"first_name": first, "email": email})
    return Contact.objects.get(pk=contact.pk)


def _world(admin: Any) -> dict[str, Any]:
    """Ada (to erase) and Bob (to keep), each with a trace in every place erasure covers."""
    ada = _person(admin, EMAIL, "Ada")
    bob = _person(admin, "bob@example.com", "Bob")
    ContactIdentity.objects.create(contact=ada, kind="anonymous_id", value="anon-ada-123")
    ContactIdentity.objects.create(contact=ada, kind="user_id", value="user-ada-42")
    for c in (ada, bob):
        consent_record(
            actor=admin, contact=c, purpose="email_marketing", channel="email",
            status="granted", source="signup form",
        )  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(
        name="r", url="https://hooks.example.com/in", secret_encrypted=encrypt("whsec_x"),
        event_types=["segment.entered", "segment.exited"],
    )  # fmt: skip
    now = timezone.now()
    enqueue_segment_changes(
        segment_id=1, segment_name="VIP", entered=[ada.pk, bob.pk], exited=[], occurred_at=now
    )
    enqueue_segment_changes(  # a past, delivered one too
        segment_id=1, segment_name="VIP", entered=[], exited=[ada.pk], occurred_at=now
    )
    WebhookDelivery.objects.filter(event_type="segment.exited").update(
        status="succeeded", delivered_at=now
    )
    source = Source.objects.create(name="web", key_prefix="k", key_hash="h" * 64)
    for c, anon in ((ada, "anon-ada-123"), (bob, "anon-bob-456")):
        Event.objects.create(
            contact=c, event="Viewed", anonymous_id=anon, timestamp=now, received_at=now,
            processed=True,
        )  # fmt: skip
        # Queued, not yet tied to a contact: found by the anonymous id.
        Event.objects.create(event="Clicked", anonymous_id=anon, timestamp=now, received_at=now)
    Event.objects.create(  # queued identify carrying the email only
        type="identify", traits={"email": EMAIL}, timestamp=now, received_at=now
    )
    for text in (EMAIL, "bob@example.com"):
        RejectedMessage.objects.create(
            source=source, received_at=now, reason="bad timestamp",
            payload=f'{{"traits": {{"email": "{text}"}}}}',
        )  # fmt: skip
    job = ImportJob.objects.create(file_name="x.csv", file_path="/nowhere", file_sha256="0" * 64)
    for c in (ada, bob):
        ImportRow.objects.create(
            job=job, row=2, action="updated", contact_id=c.pk,
            changes={"before": {"email": c.email}, "after": {"email": c.email}},
        )  # fmt: skip
    # An older record of Ada was merged into her: its journal and its history are hers.
    old_id = ada.pk + 1000
    MergeRecord.objects.create(
        survivor_id=ada.pk, merged_id=old_id, survivor_before={"email": EMAIL},
        survivor_after={"email": EMAIL}, merged_before={"email": "ada@old.example"},
    )  # fmt: skip
    Activity.objects.create(
        verb="contact.updated", subject_type="contact", subject_id=old_id, contact_id=old_id,
        subject_label="Ada (old)", changes={"after": {"email": "ada@old.example"}},
    )  # fmt: skip
    return {"ada": ada, "bob": bob, "endpoint": endpoint, "source": source, "old_id": old_id}


def test_erasure_removes_the_person_everywhere_and_keeps_everyone_else(
    admin_user_p: Any,
) -> None:
    w = _world(admin_user_p)
    ada, bob = w["ada"], w["bob"]
    bob_before = {
        "deliveries": WebhookDelivery.objects.filter(contact_id=bob.pk).count(),
        "activities": Activity.objects.filter(contact_id=bob.pk).count(),
        "events": Event.objects.filter(anonymous_id="anon-bob-456").count(),
    }
    assert WebhookDelivery.objects.filter(contact_id=ada.pk).count() == 2

    record = contact_erase(actor=admin_user_p, contact=ada)

    assert not Contact.objects.filter(pk=ada.pk).exists()
    assert not ContactIdentity.objects.filter(contact_id=ada.pk).exists()
    assert not Consent.objects.filter(contact_id=ada.pk).exists()
    assert not WebhookDelivery.objects.filter(contact_id=ada.pk).exists()
    assert not Activity.objects.filter(contact_id__in=[ada.pk, w["old_id"]]).exists()
    assert not MergeRecord.objects.exists()
    assert not ImportRow.objects.filter(contact_id=ada.pk).exists()
    assert not Event.objects.filter(anonymous_id="anon-ada-123").exists()
    assert not Event.objects.filter(traits__email=EMAIL).exists()
    assert list(RejectedMessage.objects.values_list("payload", flat=True)) == [
        '{"traits": {"email": "bob@example.com"}}'
    ]
    # Bob is untouched.
    assert Contact.objects.filter(pk=bob.pk).exists()
    assert WebhookDelivery.objects.filter(contact_id=bob.pk).count() == bob_before["deliveries"]
    assert Activity.objects.filter(contact_id=bob.pk).count() == bob_before["activities"]
    assert Event.objects.filter(anonymous_id="anon-bob-456").count() == bob_before["events"]
    assert ImportRow.objects.filter(contact_id=bob.pk).count() == 1
    # The record says how much went, per kind.
    removed = record.removed
    assert removed["webhook_deliveries"] == 2  # the pending one and the delivered one
    assert removed["merge_records"] == 1 and removed["import_rows"] == 1
    assert removed["queued_events"] == 2 and removed["rejected_messages"] == 1
    assert removed["contacts.Contact"] == 1 and removed["events.Event"] == 1
    assert removed["privacy.Consent"] == 1 and removed["activities"] >= 3
    # The erasure is logged, without personal data.
    entry = Activity.objects.get(verb="privacy.erased")
    assert entry.contact_id is None and entry.subject_id == record.pk
    stored = str(entry.changes) + entry.subject_label + str(Erasure.objects.values().get())
    for text in ("ada", "Ada", "lovelace", "anon-ada", "user-ada"):
        assert text not in stored
    # The match digests are keyed hashes: fixed-length hex, none equal to a plain value
    # (a text search over them would fail by chance: "ada" is hex).
    digests = list(ErasureMatch.objects.values_list("digest", flat=True))
    assert digests and all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests)


def test_the_erased_person_is_recognised_by_keyed_hash_only(
    admin_user_p: Any, settings: Any
) -> None:
    w = _world(admin_user_p)
    contact_erase(actor=admin_user_p, contact=w["ada"].pk)
    assert erased_match(email="adalovelace@googlemail.com")  # the same match key
    assert erased_match(user_id="user-ada-42")
    assert not erased_match(email="bob@example.com")
    assert not erased_match()
    # A dedicated key added later still recognises her (the old key keeps matching).
    settings.PATRON_SECRETS_KEY = "n" * 40
    assert erased_match(email=EMAIL)


def test_a_pending_delivery_claimed_before_erasure_records_nothing_after(
    admin_user_p: Any,
) -> None:
    from patron.webhooks.services.delivery import Outcome, claim, record

    w = _world(admin_user_p)
    jobs = [j for j in claim(timezone.now(), 50) if j.endpoint_id == w["endpoint"].pk]
    assert jobs  # a worker holds them while the contact is erased
    contact_erase(actor=admin_user_p, contact=w["ada"])
    for job in jobs:
        record(job, Outcome(True, False, 200, ""), timezone.now() + dt.timedelta(seconds=1))
    assert not WebhookDelivery.objects.filter(contact_id=w["ada"].pk).exists()


def test_needs_contact_delete_and_changes_nothing_when_refused(
    admin_user_p: Any, readonly_user_p: Any
) -> None:
    w = _world(admin_user_p)
    counts = (Activity.objects.count(), WebhookDelivery.objects.count(), Event.objects.count())
    with pytest.raises(PermissionDenied):
        contact_erase(actor=readonly_user_p, contact=w["ada"])
    assert Contact.objects.filter(pk=w["ada"].pk).exists()
    assert (Activity.objects.count(), WebhookDelivery.objects.count(), Event.objects.count()) == (
        counts
    )
    assert not Erasure.objects.exists()


def test_a_restricted_user_cannot_erase_someone_elses_contact(
    admin_user_p: Any, sales_user_p: Any
) -> None:
    from patron.core.services import workspace_get

    ws = workspace_get()
    ws.restricted_visibility = "own"
    ws.save()
    theirs = Contact.objects.create(first_name="B", owner=admin_user_p)
    deliveries = WebhookDelivery.objects.count()
    with pytest.raises(PermissionDenied):
        contact_erase(actor=sales_user_p, contact=theirs.pk)
    assert Contact.objects.filter(pk=theirs.pk).exists()
    assert WebhookDelivery.objects.count() == deliveries
    assert not Erasure.objects.exists()


def test_the_erase_command_needs_confirmation_and_a_permitted_user(
    admin_user_p: Any, readonly_user_p: Any
) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    w = _world(admin_user_p)
    pk = str(w["ada"].pk)
    with pytest.raises(CommandError, match="--yes"):
        call_command("erase", pk, "--as", admin_user_p.username)
    with pytest.raises(CommandError):
        call_command("erase", pk, "--as", readonly_user_p.username, "--yes")
    assert Contact.objects.filter(pk=w["ada"].pk).exists()
    out = StringIO()
    call_command("erase", pk, "--as", admin_user_p.username, "--yes", stdout=out)
    assert f"Erased contact {pk}" in out.getvalue() and "webhook_deliveries 2" in out.getvalue()
    assert not Contact.objects.filter(pk=w["ada"].pk).exists()
