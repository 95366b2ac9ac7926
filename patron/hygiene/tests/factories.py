"""Test data for hygiene tests: contacts with rows in every table that points at them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.utils import timezone

from patron.commerce.models import Order, OrderLine
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    ContactList,
    ContactListMember,
    CustomField,
    CustomFieldValue,
    Note,
    Tag,
)
from patron.events.models import Event
from patron.hygiene.models import DuplicateCandidate
from patron.hygiene.normalize import contact_keys_refresh
from patron.hygiene.services.rows import contact_links
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket

T0 = dt.datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def contact(**fields: Any) -> Contact:
    c = Contact(**fields)
    contact_keys_refresh(c)
    c.save()
    return c


def attach_everything(c: Contact, n: int = 1, *, seed: int = 0) -> None:
    """n rows of every kind for contact c (distinct values per seed)."""
    when = T0 + dt.timedelta(days=seed)
    for i in range(n):
        Event.objects.create(
            contact=c, event=f"Viewed {seed}-{i}", timestamp=when, received_at=when
        )
        order = Order.objects.create(
            contact=c,
            total=Decimal("12.34") + i,
            placed_at=when,
            external_id=f"o-{c.pk}-{seed}-{i}",
        )
        OrderLine.objects.create(order=order, contact=c, name=f"Thing {i}", total=Decimal("1.5"))
        ticket = Ticket.objects.create(contact=c, subject=f"Help {i}", opened_at=when)
        SurveyResponse.objects.create(
            contact=c, kind="nps", score=(seed + i) % 11, ticket=ticket, responded_at=when
        )
        Note.objects.create(contact=c, body=f"note {seed}-{i}")
        Consent.objects.create(
            contact=c,
            purpose="email_marketing",
            channel="email",
            status="granted",
            lawful_basis="consent",
            source="form",
            recorded_at=when,
        )
    purchase_summary_refresh([c.pk])


def shared_things(a: Contact, b: Contact) -> None:
    """Rows that collide when b is merged into a (same tag, list, company, identity)."""
    tag, _ = Tag.objects.get_or_create(name="vip")
    other_tag, _ = Tag.objects.get_or_create(name=f"only-{b.pk}")
    a.tags.add(tag)
    b.tags.add(tag, other_tag)
    lst = ContactList.objects.create(name=f"list {a.pk}")
    ContactListMember.objects.create(contact_list=lst, contact=a)
    ContactListMember.objects.create(contact_list=lst, contact=b)
    company = Company.objects.create(name=f"Acme {a.pk}")
    ContactCompany.objects.create(contact=a, company=company, role="buyer")
    ContactCompany.objects.create(contact=b, company=company, role="boss")
    ContactIdentity.objects.create(contact=a, kind="user_id", value="u-1")
    ContactIdentity.objects.create(contact=b, kind="user_id", value="u-1")
    ContactIdentity.objects.create(contact=b, kind="anonymous_id", value=f"anon-{b.pk}")
    field, _ = CustomField.objects.get_or_create(
        entity="contact", key="shoe", defaults={"label": "Shoe size", "type": "number"}
    )
    CustomFieldValue.objects.create(field=field, contact=a, value_number=Decimal("42"))
    CustomFieldValue.objects.create(field=field, contact=b, value_number=Decimal("43"))
    multi, _ = CustomField.objects.get_or_create(
        entity="contact", key="likes", defaults={"label": "Likes", "type": "multi_choice"}
    )
    CustomFieldValue.objects.create(field=multi, contact=a, value_text="tea")
    CustomFieldValue.objects.create(field=multi, contact=b, value_text="tea")
    CustomFieldValue.objects.create(field=multi, contact=b, value_text="cake")
    lo, hi = sorted((a.pk, b.pk))
    DuplicateCandidate.objects.create(contact_a_id=lo, contact_b_id=hi, score=0.9)


def database_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table that holds contact data (not the logs or the journal)."""
    models = {Contact, Tag, Company, DuplicateCandidate, ContactList, CustomField}
    models.update(link.model for link in contact_links())
    state = {}
    for model in sorted(models, key=lambda m: m._meta.label_lower):
        state[model._meta.label_lower] = list(model._base_manager.order_by("pk").values())
    return state


def counts() -> dict[str, int]:
    return {
        m._meta.label_lower: m._base_manager.count()
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in {"contacts", "events", "commerce", "support", "privacy"}
    }


def now() -> dt.datetime:
    return timezone.now()
