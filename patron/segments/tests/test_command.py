"""``patron segments tick|build``: due time triggers applied from the command line."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from patron.contacts.models import Contact
from patron.segments.models import Segment, SegmentMembership, SegmentTimer
from patron.segments.rules import Catalogue, parse_rules, validate
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = StringIO()
    call_command("segments", *args, stdout=out)
    return out.getvalue()


def _members(seg: Segment) -> set[int]:
    rows = SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True)
    return set(rows.values_list("contact_id", flat=True))


def test_tick_moves_out_whoever_left_the_window() -> None:
    catalogue = Catalogue.load()
    built_at = timezone.now() - dt.timedelta(days=5)
    old = Contact.objects.create(first_name="old")
    new = Contact.objects.create(first_name="new")
    # At the build the old contact is 29 days old: its timer falls 4 days ago.
    Contact.objects.filter(pk=old.pk).update(created_at=built_at - dt.timedelta(days=29))
    Contact.objects.filter(pk=new.pk).update(created_at=built_at - dt.timedelta(days=2))
    seg = Segment.objects.create(
        name="recent", rules=validate(parse_rules("created_at in last 30 days"), catalogue)
    )
    segment_build(segment_id=seg.pk, now=built_at, catalogue=catalogue)
    assert _members(seg) == {old.pk, new.pk}
    assert SegmentTimer.objects.filter(segment=seg, contact=old).exists()

    out = _run("tick")

    assert out.startswith("1 contact(s) re-evaluated")
    assert _members(seg) == {new.pk}
    assert _run("tick").startswith("0 contact(s) re-evaluated")


def test_build_records_differences_and_refuses_unknown_ids() -> None:
    catalogue = Catalogue.load()
    c = Contact.objects.create(first_name="x", city="Lyon")
    seg = Segment.objects.create(
        name="lyon", rules=validate(parse_rules('city = "Lyon"'), catalogue)
    )
    assert _run("build", str(seg.pk)) == f"Segment {seg.pk}: 1 entered, 0 left.\n"
    assert _members(seg) == {c.pk}
    assert _run("build", str(seg.pk), "--all-timers") == f"Segment {seg.pk}: 0 entered, 0 left.\n"
    with pytest.raises(CommandError, match="No segment"):
        _run("build", str(seg.pk + 1000))
    with pytest.raises(CommandError, match="needs a segment id"):
        _run("build")
