"""Permission-scoped reads of segments, their members and history, and previews.

Segment definitions are visible to everyone with ``segment.view``; members are always
intersected with the contacts the actor may see (restricted roles see only theirs).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contact_get, contacts_visible_to, require
from patron.core.permissions import P
from patron.segments.compiler import Compiler
from patron.segments.dbsession import evaluation
from patron.segments.models import Segment, SegmentMembership, SegmentSize
from patron.segments.rules import Catalogue


def segments_visible_to(actor: User) -> QuerySet[Segment]:
    require(actor, P.SEGMENT_VIEW)
    return Segment.objects.all()


def segment_get(actor: User, segment_id: int | str) -> Segment:
    try:
        pk = int(segment_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    segment = segments_visible_to(actor).filter(pk=pk).first()
    if segment is None:
        raise Http404("No such segment.")
    return segment


def _open(segment: Segment) -> QuerySet[SegmentMembership]:
    return SegmentMembership.objects.filter(
        segment=segment, contact_id=OuterRef("pk"), exited_at__isnull=True
    )


def segment_members(actor: User, segment: Segment) -> QuerySet[Contact]:
    """The segment's current members that the actor may see."""
    require(actor, P.SEGMENT_VIEW)
    return contacts_visible_to(actor).filter(Exists(_open(segment)))


def segment_membership_of(
    actor: User, segment: Segment, contact_id: int
) -> tuple[Contact, SegmentMembership | None]:
    """Is this contact (which the actor must be able to see) a member now?"""
    require(actor, P.SEGMENT_VIEW)
    contact = contact_get(actor, contact_id)
    row = SegmentMembership.objects.filter(
        segment=segment, contact=contact, exited_at__isnull=True
    ).first()
    return contact, row


def segment_history(
    actor: User, segment: Segment, contact_id: int | None = None
) -> QuerySet[SegmentMembership]:
    """Every stay (entered/exited) of visible contacts, newest first."""
    require(actor, P.SEGMENT_VIEW)
    qs = SegmentMembership.objects.filter(segment=segment)
    if contact_id is not None:
        qs = qs.filter(contact=contact_get(actor, contact_id))
    elif actor.is_restricted:
        qs = qs.filter(contact__in=contacts_visible_to(actor).values("pk"))
    return qs


def segment_sizes(actor: User, segment: Segment, days: int = 90) -> list[tuple[dt.date, int]]:
    require(actor, P.SEGMENT_VIEW)
    since = timezone.localdate() - dt.timedelta(days=days)
    return list(
        SegmentSize.objects.filter(segment=segment, day__gte=since)
        .order_by("day")
        .values_list("day", "size")
    )


def can_see_sql(actor: User) -> bool:
    return bool(actor.is_superuser or actor.has_perm_code(P.SETTINGS_MANAGE))


def segment_preview(
    actor: User,
    tree: dict[str, Any],
    *,
    sample: int = 10,
    explain: bool = False,
    catalogue: Catalogue | None = None,
) -> dict[str, Any]:
    """Count and sample of who matches the rules now (visible contacts only), unsaved.

    Administrators may also get the generated SQL and the database's query plan.
    """
    require(actor, P.SEGMENT_VIEW)
    catalogue = catalogue or Catalogue.load()
    qs = Compiler(catalogue).queryset(tree, contacts_visible_to(actor))
    with evaluation():
        out: dict[str, Any] = {
            "count": qs.count(),
            "sample": list(qs.order_by("-id")[: max(0, min(sample, 50))]),
        }
        if explain and can_see_sql(actor):
            ids = qs.values("pk")
            out["sql"] = str(ids.query)
            out["plan"] = ids.explain()
    return out
