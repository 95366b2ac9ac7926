"""Ready-made segments are installed as editable templates and evaluate as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from patron.commerce.models import Order
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import Contact
from patron.segments.models import Segment, SegmentMembership
from patron.segments.presets import PRESETS
from patron.segments.services.definitions import segment_create, segment_update
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db


def test_templates_are_installed_and_never_evaluated() -> None:
    templates = Segment.objects.filter(is_template=True)
    assert {t.template_key for t in templates} == {p[0] for p in PRESETS}
    champions = templates.get(template_key="rfm-champions")
    assert segment_build(segment_id=champions.pk) == (0, 0)
    assert not SegmentMembership.objects.filter(segment=champions).exists()


def test_template_is_editable_and_a_segment_made_from_it_is_live(marketing_user_p) -> None:
    template = Segment.objects.get(template_key="life-repeat")
    segment_update(actor=marketing_user_p, segment=template, data={"text": "orders count >= 3"})
    template.refresh_from_db()
    assert template.rules["and"][0]["value"] == 3
    buyer = Contact.objects.create(first_name="b")
    for _ in range(3):
        Order.objects.create(
            contact=buyer, total=Decimal(10), placed_at=timezone.now() - dt.timedelta(days=1)
        )
    purchase_summary_refresh([buyer.pk])
    seg = segment_create(
        actor=marketing_user_p, data={"name": "Repeat buyers", "rules": template.rules}
    )
    segment_build(segment_id=seg.pk)
    assert set(
        SegmentMembership.objects.filter(segment=seg).values_list("contact_id", flat=True)
    ) == {buyer.pk}
