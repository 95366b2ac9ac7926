"""Live membership: incremental re-evaluation always equals a full rebuild; history,
activity entries, time triggers, static snapshots, cycles."""

from __future__ import annotations

import datetime as dt
import os
import random
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from patron.commerce.models import Order
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import Contact, ContactListMember, Tag
from patron.core.models import Activity
from patron.events.models import Event
from patron.events.services.aggregates import aggregates_apply, aggregates_rebuild
from patron.privacy.models import Consent
from patron.segments.models import Segment, SegmentMembership, SegmentTimer
from patron.segments.rules import Catalogue, parse_rules, validate
from patron.segments.rules.deps import dependencies
from patron.segments.services.definitions import segment_create, segment_delete, segment_update
from patron.segments.services.membership import (
    members_now,
    segment_build,
    segments_reevaluate,
    segments_tick,
)
from patron.segments.tests.strategies import EVENTS, TAGS, small_trees
from patron.segments.tests.world import NOW, build_world, custom_fields
from patron.support.models import Ticket

pytestmark = pytest.mark.django_db


def _segment(tree: dict, catalogue: Catalogue, name: str = "s") -> Segment:
    tree = validate(tree, catalogue)
    seg = Segment.objects.create(
        name=name, rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    return seg


def _members(seg: Segment) -> set[int]:
    return set(
        SegmentMembership.objects.filter(segment=seg, exited_at__isnull=True).values_list(
            "contact_id", flat=True
        )
    )


def _mutate(rng: random.Random, ids: list[int], now: dt.datetime) -> tuple[list[int], list[str]]:
    """One random change to one or two contacts, as a service would make it."""
    cid = rng.choice(ids)
    kind = rng.choice(["profile", "tag", "event", "order", "consent", "ticket", "list"])
    if kind == "profile":
        Contact.objects.filter(pk=cid).update(
            city=rng.choice(["", "Berlin", "ma"]),
            lifecycle_stage=rng.choice(["", "lead", "customer"]),
            created_at=now - dt.timedelta(days=rng.randint(0, 40)),
        )
        return [cid], ["profile"]
    if kind == "tag":
        tag = Tag.objects.get_or_create(name=rng.choice(TAGS))[0]
        contact = Contact.objects.get(pk=cid)
        if rng.random() < 0.5:
            contact.tags.add(tag)
        else:
            contact.tags.remove(tag)
        return [cid], ["profile"]
    if kind == "event":
        # Late, recent and (a clock ahead) future events, a few at once, added to the
        # aggregates as the event processor does (the recent timestamps' merge, ADR 0060).
        name = rng.choice(EVENTS)
        rows = []
        for _ in range(rng.choice([1, 1, 3, 6])):
            at = now + dt.timedelta(hours=rng.randint(-24 * 40, 30))
            rows.append(
                Event.objects.create(
                    contact_id=cid,
                    event=name,
                    timestamp=at,
                    received_at=at,
                    properties={
                        "plan": rng.choice(["pro", "basic"]),
                        "amount": rng.choice([5, 30]),
                    },
                    processed=True,
                )
            )
        aggregates_apply({cid: [(e.type, e.event, e.timestamp) for e in rows]})
        return [cid], ["events"]
    if kind == "order":
        Order.objects.create(
            contact_id=cid,
            status="completed",
            total=Decimal(rng.choice([20, 100, 250])),
            placed_at=now - dt.timedelta(days=rng.randint(0, 40)),
        )
        purchase_summary_refresh([cid])
        return [cid], ["orders"]
    if kind == "consent":
        Consent.objects.create(
            contact_id=cid,
            purpose="email_marketing",
            channel="email",
            status=rng.choice(["granted", "withdrawn"]),
            lawful_basis="consent",
            source="test",
            recorded_at=now,
        )
        return [cid], ["consent"]
    if kind == "ticket":
        Ticket.objects.create(
            contact_id=cid, subject="x", status=rng.choice(["open", "closed"]), opened_at=now
        )
        return [cid], ["tickets"]
    lst = ContactListMember.objects.values_list("contact_list_id", flat=True).first()
    if lst is not None:
        ContactListMember.objects.get_or_create(contact_list_id=lst, contact_id=cid)
    return [cid], ["lists"]


@settings(
    max_examples=int(os.environ.get("PATRON_HYPOTHESIS_DB_EXAMPLES", "25")),
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 10**6), data=st.data())
def test_incremental_membership_equals_full_rebuild(seed: int, data: st.DataObject) -> None:
    with transaction.atomic():
        custom_fields()
        catalogue = Catalogue.load()
        world = build_world(seed, n=10)
        rng = random.Random(seed)
        strategy = small_trees(catalogue, ids=world.users + world.teams, lists=world.lists)
        # Given live segments with random rules, one referring to another, built at NOW
        segs = [_segment(data.draw(strategy), catalogue, f"s{i}") for i in range(3)]
        ref_tree = {"and": [{"kind": "segment", "segment": segs[0].pk}, data.draw(strategy)]}
        segs.append(_segment(ref_tree, catalogue, "ref"))
        now = NOW
        for seg in segs:
            segment_build(segment_id=seg.pk, now=now, catalogue=catalogue)
        # When contacts change and time passes, handled only incrementally
        for _ in range(30):
            if rng.random() < 0.25:
                now += dt.timedelta(hours=rng.choice([1, 13, 24 * 3, 24 * 11]))
                segments_tick(now=now)
            else:
                ids, what = _mutate(rng, world.contacts, now)
                segments_reevaluate(contact_ids=ids, what=what, now=now, catalogue=catalogue)
        # Then every segment's stored membership equals a full evaluation at that moment
        for seg in segs:
            seg.refresh_from_db()
            assert _members(seg) == members_now(seg, catalogue, now), seg.rules
            assert seg.member_count == len(_members(seg))
        if os.environ.get("PATRON_SEGMENTS_STATS"):
            moved = SegmentMembership.objects.filter(exited_at__isnull=False).count()
            came = SegmentMembership.objects.filter(entered_at__gt=NOW).count()
            print("after build: exits", moved, "entries", came)
        transaction.set_rollback(True)


def test_history_and_activity_entries(admin_user_p) -> None:
    # Given a live segment "tag vip"
    catalogue = Catalogue.load()
    a = Contact.objects.create(first_name="A")
    vip = Tag.objects.create(name="vip")
    seg = _segment(parse_rules('tag "vip"'), catalogue)
    segment_build(segment_id=seg.pk, catalogue=catalogue)
    assert _members(seg) == set()
    # When the contact is tagged, untagged and tagged again
    for change in (lambda: a.tags.add(vip), lambda: a.tags.remove(vip), lambda: a.tags.add(vip)):
        change()
        segments_reevaluate(contact_ids=[a.pk], what=["profile"])
    # Then there are two stays, the first closed, and three activity entries
    stays = list(SegmentMembership.objects.filter(segment=seg).order_by("id"))
    assert len(stays) == 2
    assert stays[0].exited_at is not None and stays[1].exited_at is None
    verbs = list(
        Activity.objects.filter(contact_id=a.pk, subject_type="segment")
        .order_by("id")
        .values_list("verb", flat=True)
    )
    assert verbs == ["segment.entered", "segment.exited", "segment.entered"]
    seg.refresh_from_db()
    assert seg.member_count == 1


def test_only_dependent_segments_are_evaluated() -> None:
    catalogue = Catalogue.load()
    c = Contact.objects.create(first_name="A", city="Berlin")
    by_city = _segment(parse_rules('city = "Berlin"'), catalogue, "city")
    by_orders = _segment(parse_rules("orders count >= 1"), catalogue, "orders")
    for seg in (by_city, by_orders):
        segment_build(segment_id=seg.pk, catalogue=catalogue)
    Contact.objects.filter(pk=c.pk).update(city="Paris")
    # An order change does not look at the city segment (which would now drop the contact)
    result = segments_reevaluate(contact_ids=[c.pk], what=["orders"])
    assert set(result) == {by_orders.pk}
    assert _members(by_city) == {c.pk}
    # A profile change does
    result = segments_reevaluate(contact_ids=[c.pk], what=["profile"])
    assert set(result) == {by_city.pk}
    assert _members(by_city) == set()


def test_time_window_moves_people_out_at_the_boundary_only() -> None:
    catalogue = Catalogue.load()
    now = NOW
    old = Contact.objects.create(first_name="old")
    new = Contact.objects.create(first_name="new")
    Contact.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=29))
    Contact.objects.filter(pk=new.pk).update(created_at=now - dt.timedelta(days=2))
    seg = _segment(parse_rules("created_at in last 30 days"), catalogue)
    segment_build(segment_id=seg.pk, now=now, catalogue=catalogue)
    assert _members(seg) == {old.pk, new.pk}
    # The timers sit exactly at created_at + 30 days
    timers = dict(SegmentTimer.objects.filter(segment=seg).values_list("contact_id", "due_at"))
    assert timers[old.pk] == now + dt.timedelta(days=1)
    # Before the boundary nothing is due; after it only the old contact is re-checked
    assert segments_tick(now=now + dt.timedelta(hours=23)) == 0
    assert segments_tick(now=now + dt.timedelta(days=1, seconds=1)) == 1
    assert _members(seg) == {new.pk}
    assert list(
        Activity.objects.filter(verb="segment.exited").values_list("contact_id", flat=True)
    ) == [old.pk]


def test_event_window_timer() -> None:
    catalogue = Catalogue.load()
    c = Contact.objects.create(first_name="x")
    for days in (3, 10):
        at = NOW - dt.timedelta(days=days)
        Event.objects.create(contact=c, event="buy", timestamp=at, received_at=at, processed=True)
    aggregates_rebuild([c.pk])  # as the event processor keeps them
    seg = _segment(parse_rules('performed "buy" at least 2 times in last 14 days'), catalogue)
    segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
    assert _members(seg) == {c.pk}
    due = SegmentTimer.objects.get(segment=seg, contact=c).due_at
    # the 10-day-old event leaves the (inclusive) window just after it is 14 days old
    assert due == NOW + dt.timedelta(days=4, microseconds=1)
    segments_tick(now=due + dt.timedelta(seconds=1))
    assert _members(seg) == set()


def test_static_snapshot_does_not_follow_changes(marketing_user_p) -> None:
    c = Contact.objects.create(first_name="x", city="Berlin")
    seg = segment_create(
        actor=marketing_user_p, data={"name": "snap", "kind": "static", "text": 'city = "Berlin"'}
    )
    segment_build(segment_id=seg.pk)
    Contact.objects.filter(pk=c.pk).update(city="Rome")
    segments_reevaluate(contact_ids=[c.pk], what=["profile"])
    assert _members(seg) == {c.pk}
    segment_build(segment_id=seg.pk)  # taking a new snapshot
    assert _members(seg) == set()


def test_cycles_and_references(marketing_user_p) -> None:
    a = segment_create(actor=marketing_user_p, data={"name": "a", "text": 'tag "x"'})
    b = segment_create(actor=marketing_user_p, data={"name": "b", "text": f"in segment {a.pk}"})
    with pytest.raises(ValidationError) as info:
        segment_update(actor=marketing_user_p, segment=a, data={"text": f"in segment {b.pk}"})
    assert "cycle" in str(info.value)
    with pytest.raises(ValidationError) as info:
        segment_update(actor=marketing_user_p, segment=a, data={"text": f"in segment {a.pk}"})
    assert "cycle" in str(info.value)
    with pytest.raises(ValidationError, match="No such segment"):
        segment_create(actor=marketing_user_p, data={"name": "c", "text": "in segment 999999"})
    with pytest.raises(ValidationError, match="used by: b"):
        segment_delete(actor=marketing_user_p, segment=a)
    assert Segment.objects.filter(pk=a.pk).exists()


def test_referencing_segment_follows_the_referenced_one() -> None:
    catalogue = Catalogue.load()
    c = Contact.objects.create(first_name="x", city="Berlin")
    base = _segment(parse_rules('city = "Berlin"'), catalogue, "base")
    top = _segment({"and": [{"kind": "segment", "segment": base.pk}]}, catalogue, "top")
    segment_build(segment_id=base.pk, catalogue=catalogue)
    segment_build(segment_id=top.pk, catalogue=catalogue)
    assert _members(top) == {c.pk}
    Contact.objects.filter(pk=c.pk).update(city="Rome")
    segments_reevaluate(contact_ids=[c.pk], what=["profile"])
    assert _members(base) == set() and _members(top) == set()
