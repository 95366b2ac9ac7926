"""A rebuild of a ready segment recomputes only the moved contacts' timers; a first build
(or one after the rules changed) and ``all_timers`` recompute every contact's."""

from __future__ import annotations

import datetime as dt

import pytest

from patron.contacts.models import Contact
from patron.segments.models import Segment, SegmentMembership, SegmentTimer
from patron.segments.rules import Catalogue, parse_rules, validate
from patron.segments.rules.deps import dependencies
from patron.segments.services.membership import segment_build
from patron.segments.tests.world import NOW

pytestmark = pytest.mark.django_db


def _timers(seg: Segment) -> dict[int, dt.datetime]:
    return dict(SegmentTimer.objects.filter(segment=seg).values_list("contact_id", "due_at"))


def test_rebuild_refreshes_only_moved_contacts_timers() -> None:
    catalogue = Catalogue.load()
    a = Contact.objects.create(first_name="a")
    b = Contact.objects.create(first_name="b")
    Contact.objects.filter(pk=a.pk).update(created_at=NOW - dt.timedelta(days=29))
    Contact.objects.filter(pk=b.pk).update(created_at=NOW - dt.timedelta(days=2))
    tree = validate(parse_rules("created_at in last 30 days"), catalogue)
    seg = Segment.objects.create(
        name="new", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
    first = _timers(seg)
    assert first == {a.pk: NOW + dt.timedelta(days=1), b.pk: NOW + dt.timedelta(days=28)}

    # A change that bypassed the services (no hook): b is now too old. Mark a's timer so
    # a recomputation of it would show.
    Contact.objects.filter(pk=b.pk).update(created_at=NOW - dt.timedelta(days=40))
    marker = NOW + dt.timedelta(days=300)
    SegmentTimer.objects.filter(segment=seg, contact=a).update(due_at=marker)
    assert segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue) == (0, 1)
    open_ids = SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True)
    assert set(open_ids.values_list("contact_id", flat=True)) == {a.pk}
    # b moved: its timer was recomputed (none: it cannot come back by time alone);
    # a did not move: its timer was left as it was.
    assert _timers(seg) == {a.pk: marker}

    # Nothing moves: nothing is recomputed.
    assert segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue) == (0, 0)
    assert _timers(seg) == {a.pk: marker}

    # The repair option recomputes everyone's.
    segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue, all_timers=True)
    assert _timers(seg) == {a.pk: NOW + dt.timedelta(days=1)}


def test_pending_segment_gets_every_timer() -> None:
    """After the rules changed (status pending), the build recomputes all timers."""
    catalogue = Catalogue.load()
    a = Contact.objects.create(first_name="a")
    Contact.objects.filter(pk=a.pk).update(created_at=NOW - dt.timedelta(days=29))
    tree = validate(parse_rules("created_at in last 30 days"), catalogue)
    seg = Segment.objects.create(
        name="s", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
    SegmentTimer.objects.filter(segment=seg).delete()
    Segment.objects.filter(pk=seg.pk).update(status=Segment.Status.PENDING)
    assert segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue) == (0, 0)
    assert _timers(seg) == {a.pk: NOW + dt.timedelta(days=1)}


def test_timers_only_for_contacts_meeting_the_time_free_conditions() -> None:
    """In a top-level AND, a contact failing a time-free conjunct gets no timer until a
    change of its data makes it eligible (then the incremental path sets one)."""
    from patron.segments.services.membership import segments_reevaluate, segments_tick

    catalogue = Catalogue.load()
    lead = Contact.objects.create(first_name="lead", lifecycle_stage="lead")
    cust = Contact.objects.create(first_name="cust", lifecycle_stage="customer")
    Contact.objects.filter(pk__in=[lead.pk, cust.pk]).update(created_at=NOW - dt.timedelta(days=29))
    tree = validate(
        parse_rules('lifecycle_stage = "customer" and created_at in last 30 days'), catalogue
    )
    seg = Segment.objects.create(
        name="s", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
    assert _timers(seg) == {cust.pk: NOW + dt.timedelta(days=1)}
    Contact.objects.filter(pk=lead.pk).update(lifecycle_stage="customer")
    segments_reevaluate(contact_ids=[lead.pk], what=["profile"], now=NOW, catalogue=catalogue)
    assert _timers(seg) == {
        cust.pk: NOW + dt.timedelta(days=1),
        lead.pk: NOW + dt.timedelta(days=1),
    }
    segments_tick(now=NOW + dt.timedelta(days=1, seconds=1))
    assert not SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True).exists()
