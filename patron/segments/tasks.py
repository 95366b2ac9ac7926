"""Background work of segments, and the one hook other apps call when contacts change.

``contacts_changed(contact_ids, what=...)`` is called by the services that change
contacts (profile and company edits, events, orders, tickets, consent, merges, imports).
It enqueues re-evaluation after the caller's transaction commits; the task re-evaluates only those
contacts, only against segments whose rules depend on ``what``.

Tasks take ids, are idempotent (evaluation compares with the stored membership, so a
repeat records nothing new) and call services only.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

logger = logging.getLogger(__name__)

CHUNK = 1000
TICK_PATH = "patron.segments.tasks.segments_tick_task"
KINDS = frozenset(
    {
        "profile",
        "company",
        "lists",
        "events",
        "orders",
        "tickets",
        "consent",
        "scores",
        "merge",
        "import",
        "delete",
    }
)


def contacts_changed(contact_ids: Iterable[int | None], what: Iterable[str]) -> None:
    """Re-evaluate these contacts' live segments after the current transaction commits.

    ``what``: the kinds of change, a subset of ``KINDS``. Safe to call anywhere: outside
    a transaction it enqueues at once; it never raises into the caller's write.
    """
    ids = sorted({int(c) for c in contact_ids if c})
    kinds = sorted(set(what))
    unknown = set(kinds) - KINDS
    if unknown:
        raise ValueError(f"Unknown kind(s) of change: {', '.join(sorted(unknown))}")
    if not ids or not _anyone_listening(kinds):
        return
    transaction.on_commit(lambda: _enqueue(ids, kinds))


def _anyone_listening(kinds: list[str]) -> bool:
    """Does any live segment depend on these kinds of change? (Else there is nothing to do:
    a segment created later is built over everyone.)"""
    from patron.segments.models import Segment
    from patron.segments.rules.deps import topics_of

    topics = topics_of(kinds)
    live = Segment.objects.filter(kind=Segment.Kind.DYNAMIC, is_template=False)
    return any(topics & set(deps) for deps in live.values_list("depends_on", flat=True))


def _enqueue(ids: list[int], kinds: list[str]) -> None:
    for i in range(0, len(ids), CHUNK):
        try:
            segments_reevaluate_task.enqueue(contact_ids=ids[i : i + CHUNK], what=kinds)
        except Exception:  # the change is committed; a rebuild or the next change catches up
            logger.exception("segments: could not enqueue re-evaluation")


@task()
def segments_reevaluate_task(contact_ids: list[int], what: list[str]) -> int:
    from patron.segments.services.membership import segments_reevaluate

    return len(segments_reevaluate(contact_ids=contact_ids, what=what))


@task()
def segment_build_task(segment_id: int) -> list[int]:
    from patron.segments.services.membership import segment_build

    return list(segment_build(segment_id=segment_id))


def segment_build_schedule(segment_id: int) -> None:
    try:
        segment_build_task.enqueue(segment_id=segment_id)
    except Exception:
        logger.exception("segments: could not enqueue a build of segment %s", segment_id)


@task()
def segments_tick_task() -> int:
    """Re-evaluate due time triggers, then schedule the next tick at the earliest timer."""
    from patron.segments.services.membership import segments_tick
    from patron.segments.services.timers import next_due

    done = segments_tick()
    upcoming = next_due()
    if upcoming is not None:
        tick_schedule(upcoming, running=True)
    return done


def _uses_database_backend() -> bool:
    backend = str(settings.TASKS.get("default", {}).get("BACKEND", ""))
    return backend.startswith("django_tasks_db.")


def tick_schedule(at: dt.datetime, running: bool = False) -> None:
    """Make sure a tick runs at ``at`` or earlier (database backend only: other backends
    have no delayed tasks; there ``patron segments tick`` from cron does the same)."""
    if not _uses_database_backend():
        return
    from django.db.models import Q
    from django_tasks_db.models import DBTaskResult, get_date_max

    # django-tasks-db stores "no run_after" as the largest date, never NULL.
    pending = DBTaskResult.objects.filter(task_path=TICK_PATH, status="READY").filter(
        Q(run_after=get_date_max()) | Q(run_after__lte=at)
    )
    if pending.exists():
        return
    when = max(at, timezone.now())

    def enqueue() -> None:
        try:
            segments_tick_task.using(run_after=when).enqueue()
        except Exception:
            logger.exception("segments: could not schedule the time tick")

    if running:
        enqueue()
    else:
        transaction.on_commit(enqueue)
