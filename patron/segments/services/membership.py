"""Live membership: full builds, incremental re-evaluation, snapshots, transitions.

Every change of membership is one ``SegmentMembership`` row opened (entered) or closed
(exited) and one activity entry (``segment.entered`` / ``segment.exited``) in the same
transaction, so the contact timeline, the audit trail and automation see it. Each
segment's evaluation runs in its own transaction holding the segment's row lock, so two
workers never record the same transition twice.

Outbound webhooks for transitions: ``_apply`` (the one place transitions are recorded)
writes the deliveries of subscribed endpoints into the webhooks outbox in the same
transaction (``patron.webhooks.services.enqueue_segment_changes``); they are sent after
commit (docs/adr/0050-webhooks.md).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import P, PermissionDenied
from patron.segments.compiler import Compiler
from patron.segments.dbsession import evaluation
from patron.segments.models import Segment, SegmentMembership, SegmentSize
from patron.segments.rules import Catalogue, RuleError, validate
from patron.segments.rules.deps import topics_of
from patron.segments.rules.tree import referenced_segments
from patron.segments.services import timers
from patron.webhooks.services import enqueue_segment_changes

logger = logging.getLogger(__name__)
ACTOR_LABEL = "segments"
BATCH = 2000


def _tree(segment: Segment, catalogue: Catalogue) -> dict[str, Any] | None:
    """The segment's rules, checked against today's catalogue (a custom field may be gone)."""
    try:
        return validate(segment.rules, catalogue)
    except RuleError as exc:
        logger.warning("segment %s: rules no longer valid: %s", segment.pk, exc)
        return None


def _apply(
    segment: Segment, entered: Iterable[int], exited: Iterable[int], now: dt.datetime
) -> None:
    """Record transitions: membership rows, activity entries, counts (inside a transaction)."""
    entered, exited = sorted(entered), sorted(exited)
    if not entered and not exited:
        return
    SegmentMembership.objects.bulk_create(
        (SegmentMembership(segment=segment, contact_id=c, entered_at=now) for c in entered),
        batch_size=BATCH,
    )
    for i in range(0, len(exited), BATCH):
        SegmentMembership.objects.filter(
            segment=segment, contact_id__in=exited[i : i + BATCH], exited_at__isnull=True
        ).update(exited_at=now)
    label = segment.name[:300]
    rows = [
        Activity(
            actor_label=ACTOR_LABEL,
            verb=verb,
            subject_type="segment",
            subject_id=segment.pk,
            subject_label=label,
            contact_id=cid,
            changes={"segment": {"id": segment.pk, "name": label}},
            created_at=now,
        )
        for verb, ids in (("segment.entered", entered), ("segment.exited", exited))
        for cid in ids
    ]
    Activity.objects.bulk_create(rows, batch_size=BATCH)
    enqueue_segment_changes(
        segment_id=segment.pk, segment_name=label, entered=entered, exited=exited, occurred_at=now
    )
    Segment.objects.filter(pk=segment.pk).update(
        member_count=F("member_count") + len(entered) - len(exited)
    )
    _size_today(segment, now)


def _size_today(segment: Segment, now: dt.datetime) -> None:
    size = Segment.objects.filter(pk=segment.pk).values_list("member_count", flat=True).first()
    SegmentSize.objects.update_or_create(
        segment=segment, day=timezone.localdate(now), defaults={"size": size or 0}
    )


def _current(segment: Segment, ids: Iterable[int] | None = None) -> set[int]:
    qs = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True)
    if ids is None:
        return set(qs.values_list("contact_id", flat=True))
    out: set[int] = set()
    ids = list(ids)
    for i in range(0, len(ids), BATCH):
        out |= set(
            qs.filter(contact_id__in=ids[i : i + BATCH]).values_list("contact_id", flat=True)
        )
    return out


def members_now(
    segment: Segment, catalogue: Catalogue, now: dt.datetime, ids: Iterable[int] | None = None
) -> set[int] | None:
    """Who satisfies the segment's rules at ``now`` (among ``ids``, or everyone)."""
    tree = _tree(segment, catalogue)
    if tree is None:
        return None
    if ids is None:
        qs = Compiler(catalogue, now=now).queryset(tree)
        with evaluation():
            return set(qs.values_list("pk", flat=True))
    out: set[int] = set()
    ids = list(ids)
    compiler = Compiler(catalogue, now=now, scoped=True)
    for i in range(0, len(ids), BATCH):
        base = Contact.objects.filter(pk__in=ids[i : i + BATCH])
        out |= set(compiler.queryset(tree, base).values_list("pk", flat=True))
    return out


def segment_build(
    *,
    segment_id: int,
    now: dt.datetime | None = None,
    catalogue: Catalogue | None = None,
    all_timers: bool = False,
) -> tuple[int, int]:
    """Evaluate a segment over every contact and record the differences: (entered, exited).

    Live segments also get their time triggers; static ones are snapshots (this is how
    a snapshot is taken). Idempotent: a second run with no change records nothing.

    Timers: a first build (or one after the rules changed: status pending) computes every
    contact's; a rebuild of a ready segment only those of the contacts that moved (the
    others' timers were kept current by the incremental path). ``all_timers`` forces the
    full recomputation (a repair after changes that bypassed the services).
    """
    now = now or timezone.now()
    catalogue = catalogue or Catalogue.load()
    with transaction.atomic():
        segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
        if segment is None or segment.is_template:
            return 0, 0
        members = members_now(segment, catalogue, now)
        if members is None:
            return 0, 0
        current = _current(segment)
        entered, exited = members - current, current - members
        _apply(segment, entered, exited, now)
        count = len(members)
        was_ready = segment.status == Segment.Status.READY and segment.built_at is not None
        Segment.objects.filter(pk=segment.pk).update(
            status=Segment.Status.READY, built_at=now, member_count=count
        )
        _size_today(segment, now)
        if segment.is_live:
            moved = None if all_timers or not was_ready else entered | exited
            if moved is None or moved:
                timers.timers_refresh(
                    segment=segment, catalogue=catalogue, now=now, contact_ids=moved
                )
    return len(entered), len(exited)


def _order(segments: list[Segment]) -> list[Segment]:
    """Segments with every segment they refer to before them (the graph has no cycles)."""
    by_pk = {s.pk: s for s in segments}
    done: set[int] = set()
    out: list[Segment] = []

    def visit(s: Segment, stack: set[int]) -> None:
        if s.pk in done or s.pk in stack:
            return
        stack.add(s.pk)
        for ref in sorted(referenced_segments(s.rules)):
            if ref in by_pk:
                visit(by_pk[ref], stack)
        done.add(s.pk)
        out.append(s)

    for s in segments:
        visit(s, set())
    return out


def segments_reevaluate(
    *,
    contact_ids: Iterable[int],
    what: Iterable[str],
    now: dt.datetime | None = None,
    catalogue: Catalogue | None = None,
) -> dict[int, tuple[int, int]]:
    """Re-evaluate changed contacts against the live segments that depend on the change.

    Only segments whose rules touch one of the changed topics are evaluated, only for
    these contacts; a segment that refers to another is re-evaluated for the contacts
    whose membership of that other segment just changed. Returns {segment: (in, out)}.
    """
    now = now or timezone.now()
    ids = sorted({int(c) for c in contact_ids})
    topics = topics_of(what)
    if not ids:
        return {}
    catalogue = catalogue or Catalogue.load()
    live = list(
        Segment.objects.filter(
            kind=Segment.Kind.DYNAMIC, is_template=False, status=Segment.Status.READY
        )
    )
    changed: dict[int, set[int]] = {}
    result: dict[int, tuple[int, int]] = {}
    for seg in _order(live):
        todo: set[int] = set()
        if topics & set(seg.depends_on):
            todo |= set(ids)
        for ref in referenced_segments(seg.rules):
            todo |= changed.get(ref, set())
        if not todo:
            continue
        with transaction.atomic():
            segment = Segment.objects.select_for_update().get(pk=seg.pk)
            if segment.status != Segment.Status.READY:
                continue
            members = members_now(segment, catalogue, now, todo)
            if members is None:
                continue
            current = _current(segment, todo)
            entered, exited = members - current, current - members
            _apply(segment, entered, exited, now)
            if "time" in segment.depends_on:
                timers.timers_refresh(
                    segment=segment, catalogue=catalogue, now=now, contact_ids=todo
                )
        changed[seg.pk] = entered | exited
        result[seg.pk] = (len(entered), len(exited))
    if "delete" in what or "merge" in what:
        segments_recount()
    return result


def segments_recount() -> None:
    """Set every segment's member count from its rows (after contacts were deleted)."""
    for segment in Segment.objects.filter(is_template=False):
        count = SegmentMembership.objects.filter(segment=segment, exited_at__isnull=True).count()
        if count != segment.member_count:
            Segment.objects.filter(pk=segment.pk).update(member_count=count)


def segments_tick(*, now: dt.datetime | None = None, limit: int = 20_000) -> int:
    """Re-evaluate the contacts whose time triggers are due; returns how many."""
    now = now or timezone.now()
    catalogue = Catalogue.load()
    done = 0
    due = timers.timers_due(now=now, limit=limit)
    for segment_id, ids in due.items():
        with transaction.atomic():
            segment = Segment.objects.select_for_update().filter(pk=segment_id).first()
            if segment is None or not segment.is_live or segment.status != Segment.Status.READY:
                timers.timers_clear(segment_id=segment_id, contact_ids=ids)
                continue
            members = members_now(segment, catalogue, now, ids)
            if members is None:
                continue
            current = _current(segment, ids)
            entered, exited = members - current, current - members
            _apply(segment, entered, exited, now)
            timers.timers_refresh(segment=segment, catalogue=catalogue, now=now, contact_ids=ids)
        if entered or exited:
            # Segments that refer to this one follow.
            segments_reevaluate(
                contact_ids=entered | exited, what=[f"segment:{segment_id}"], now=now
            )
        done += len(ids)
    return done


# --- Reads used by previews and dry runs -------------------------------------------------


def segment_dry_run(
    *, actor: Any, segment: Segment, tree: dict[str, Any], sample: int = 20
) -> dict[str, Any]:
    """Who would enter and who would leave if the segment had these rules (nothing saved)."""
    from patron.contacts.selectors import contacts_visible_to

    if not actor.has_perm_code(P.SEGMENT_VIEW):
        raise PermissionDenied()
    catalogue = Catalogue.load()
    visible = contacts_visible_to(actor)
    now = timezone.now()
    with evaluation():
        would = set(
            Compiler(catalogue, now=now).queryset(tree, visible).values_list("pk", flat=True)
        )
    current = set(
        SegmentMembership.objects.filter(
            segment=segment, exited_at__isnull=True, contact__in=visible
        ).values_list("contact_id", flat=True)
    )
    enter, leave = sorted(would - current), sorted(current - would)
    return {
        "would_enter": len(enter),
        "would_exit": len(leave),
        "enter_sample": enter[:sample],
        "exit_sample": leave[:sample],
        "size_after": len(would),
    }
