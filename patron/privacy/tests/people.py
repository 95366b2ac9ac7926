"""A person with one row in every section of the access export (and what marks them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from patron.accounts.models import Role, User
from patron.commerce.services import order_create
from patron.contacts.models import (
    Contact,
    ContactIdentity,
    ContactList,
    ContactListMember,
    CustomField,
    CustomFieldValue,
)
from patron.contacts.services import company_create, contact_create, contact_tag, note_create
from patron.events.models import ContactEventCount, ContactEventSummary, ContactTraits, Event
from patron.hygiene.models import MergeRecord
from patron.imports.models import ImportJob, ImportRow
from patron.privacy.selectors import EXPORT_PERMISSIONS
from patron.privacy.services import consent_record
from patron.segments.models import Segment, SegmentMembership
from patron.support.services import survey_response_create, ticket_create
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.vault import encrypt

HOSTILE = '<script>alert("x")</script><svg onload=alert(1)>'


@dataclass
class Person:
    contact: Contact
    email: str
    marker: str  # a string found in every text row about them
    counts: dict[str, int] = field(default_factory=dict)


def person(admin: User, who: str, *, owner: User | None = None, events: int = 3) -> Person:
    """``who`` names them; every text they hold contains ``marker``."""
    marker = f"mark-{who}"
    email = f"{who}.{marker}@example.com"
    contact = contact_create(
        actor=admin,
        data={
            "first_name": who.capitalize(),
            "last_name": marker,
            "email": email,
            "phone": "+14155550100",
            "birthday": "1990-04-01",
            **({"owner_id": owner.pk} if owner else {}),
        },
    )
    contact = Contact.objects.get(pk=contact.pk)
    field_, _ = CustomField.objects.get_or_create(
        entity="contact", key="plan", defaults={"label": "Plan", "type": "text"}
    )
    CustomFieldValue.objects.create(field=field_, contact=contact, value_text=f"pro-{marker}")
    ContactIdentity.objects.create(contact=contact, kind="user_id", value=f"user-{marker}")
    company = company_create(actor=admin, data={"name": f"Co {marker}"})
    contact.memberships.create(company=company, role=f"role {marker}")
    contact_tag(actor=admin, contact=contact, tag_name=f"tag-{marker}")
    lst = ContactList.objects.create(name=f"list {marker}")
    ContactListMember.objects.create(contact_list=lst, contact=contact)
    note_create(actor=admin, body=f"note about {marker}", contact=contact)
    consent_record(
        actor=admin, contact=contact, purpose="email_marketing", channel="email",
        status="granted", source=f"form {marker}",
    )  # fmt: skip
    order_create(
        actor=admin,
        data={
            "contact_id": contact.pk,
            "lines": [
                {"name": f"Tea {marker}", "unit_price": "4.50"},
                {"name": f"Cup {marker}", "unit_price": "9.00"},
            ],
        },
    )
    ticket_create(actor=admin, data={"contact_id": contact.pk, "subject": f"Help {marker}"})
    survey_response_create(
        actor=admin,
        data={"contact_id": contact.pk, "kind": "nps", "score": 9, "comment": f"ok {marker}"},
    )
    now = timezone.now()
    Event.objects.bulk_create(
        Event(
            contact=contact,
            event=f"Viewed {marker}",
            timestamp=now,
            received_at=now,
            properties={"n": i, "who": marker},
            processed=True,
        )  # fmt: skip
        for i in range(events)
    )
    ContactEventSummary.objects.create(
        contact=contact, first_seen=now, last_seen=now, event_count=events
    )
    ContactEventCount.objects.create(
        contact=contact, event=f"Viewed {marker}", count=events, first_at=now, last_at=now
    )
    ContactTraits.objects.create(contact=contact, traits={"shoe": f"size-{marker}"})
    segment = Segment.objects.create(name=f"seg {marker}", rules={})
    SegmentMembership.objects.create(segment=segment, contact=contact, entered_at=now)
    job = ImportJob.objects.create(
        file_name=f"{marker}.csv", file_path="/nowhere", file_sha256="0" * 64
    )
    ImportRow.objects.create(
        job=job, row=2, action="updated", contact_id=contact.pk,
        changes={"after": {"city": f"town-{marker}"}},
    )  # fmt: skip
    MergeRecord.objects.create(
        survivor_id=contact.pk, merged_id=contact.pk + 100_000,
        survivor_before={"email": email}, survivor_after={"email": email},
        merged_before={"email": f"old-{marker}@example.com"},
    )  # fmt: skip
    endpoint, _ = WebhookEndpoint.objects.get_or_create(
        name="crm", defaults={"url": "https://hooks.example.com/in",
                              "secret_encrypted": encrypt("whsec_x")},
    )  # fmt: skip
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_id=f"ev-{marker}", event_type="segment.entered",
        contact_id=contact.pk, payload={"email": email},
    )  # fmt: skip
    return Person(contact=contact, email=email, marker=marker)


def role_user(make_user: Any, key: str, perms: Any, *, restricted: bool = False) -> User:
    """A user of a custom role holding exactly ``perms``."""
    Role.objects.update_or_create(
        key=key,
        defaults={"name": key, "permissions": sorted(str(p) for p in perms),
                  "restricted": restricted},
    )  # fmt: skip
    return make_user(key, username=f"{key}-user")


def exporter(make_user: Any, *, restricted: bool = False, extra: Any = ()) -> User:
    key = "exporter-r" if restricted else "exporter"
    return role_user(make_user, key, [*EXPORT_PERMISSIONS, *extra], restricted=restricted)
