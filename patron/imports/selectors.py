"""Permission-scoped reads of import jobs, their reports and saved mappings."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.utils.dateparse import parse_datetime

from patron.accounts.models import User
from patron.contacts.selectors import require
from patron.core.models import Activity
from patron.core.permissions import P
from patron.imports.models import ImportChunk, ImportJob, ImportMapping, ImportRow


def import_jobs_visible_to(actor: User) -> QuerySet[ImportJob]:
    """Jobs of the actor; administrators (settings.manage) see everyone's.

    A job holds an uploaded file of personal data: nobody else's is listed.
    """
    require(actor, P.IMPORT)
    qs = ImportJob.objects.all()
    if actor.is_superuser or actor.has_perm_code(P.SETTINGS_MANAGE):
        return qs
    return qs.filter(created_by=actor)


def import_job_get(actor: User, job_id: int | str) -> ImportJob:
    try:
        pk = int(job_id)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    job = import_jobs_visible_to(actor).filter(pk=pk).first()
    if job is None:
        raise Http404("No such import.")
    return job


def import_mappings(actor: User, target: str | None = None) -> QuerySet[ImportMapping]:
    """Saved mappings are shared by everyone who may import (a team's file layouts)."""
    require(actor, P.IMPORT)
    qs = ImportMapping.objects.order_by("target", "name")
    return qs.filter(target=target) if target else qs


def contact_import_origin(contact: Any) -> dict[str, Any] | None:
    """Which import created a contact (job, file row, who ran it, when), from the journal.

    ``contact`` comes from a scoped selector (the caller checked the actor may see it). An
    import records created contacts in its chunks' ``created`` lists, not one activity
    entry each (ADR 0075); every contact of a chunk got the chunk's ``created_stamp`` as
    its ``created_at``, so one indexed equality finds the chunk (or the few sharing that
    instant), and the id is then looked for in its list. Contacts created before the
    stamp existed have their own ``contact.imported`` activity entry instead."""
    created_at = getattr(contact, "created_at", None)
    if created_at is None:
        return None
    return _origin_in_journal(contact.pk, created_at)


def _origin_in_journal(contact_id: int, created_at: datetime) -> dict[str, Any] | None:
    chunks = ImportChunk.objects.filter(created_stamp=created_at).select_related(
        "job", "job__created_by"
    )
    for chunk in chunks:
        for row, cid in chunk.created:
            if cid == contact_id:
                job = chunk.job
                return {
                    "contact_id": contact_id,
                    "import_job": job.pk,
                    "row": row,
                    "action": "created",
                    "file": job.file_name,
                    "actor_id": job.created_by_id,
                    "actor_label": str(job.created_by) if job.created_by else "system",
                    "at": created_at,
                }
    return None


def _origin_in_activity(contact_id: int) -> dict[str, Any] | None:
    """A contact imported before the journal stamp: its own ``contact.imported`` entry."""
    entry = (
        Activity.objects.filter(contact_id=contact_id, verb="contact.imported")
        .order_by("created_at", "id")
        .first()
    )
    changes = entry.changes if entry is not None else None
    if entry is None or not isinstance(changes, dict) or changes.get("action") != "created":
        return None
    job_id = changes.get("import_job")
    job = (
        ImportJob.objects.filter(pk=job_id).only("file_name", "created_by_id").first()
        if isinstance(job_id, int)
        else None
    )
    return {
        "contact_id": contact_id,
        "import_job": job_id,
        "row": changes.get("row"),
        "action": "created",
        "file": job.file_name if job is not None else "",
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label or "system",
        "at": entry.created_at,
    }


#: The most merged records whose import origins are looked up for one contact.
MERGED_ORIGINS_MAX = 1000


def merged_import_origins(contact_id: int) -> list[dict[str, Any]]:
    """Import origins of the records merged into this contact (and not un-merged), followed
    through chains of merges, oldest merge first; each carries ``merge_id``.

    A merge deletes the merged record (ADR 0011) and keeps its exact before-image in
    ``MergeRecord.merged_before``; its ``created_at`` there finds the chunk that created it
    as for a live contact, so merging loses no import origin and an undo (which marks the
    record undone and restores the contact) takes it back off the survivor. The caller has
    checked the actor may see ``contact_id``."""
    from patron.hygiene.models import MergeRecord

    out: list[dict[str, Any]] = []
    seen = {contact_id}
    frontier = [contact_id]
    while frontier and len(seen) <= MERGED_ORIGINS_MAX:
        records = (
            MergeRecord.objects.filter(survivor_id__in=frontier, undone_at__isnull=True)
            .order_by("created_at", "id")
            .values("id", "merged_id", "merged_before")
        )
        frontier = []
        for record in records:
            merged_id = record["merged_id"]
            if merged_id in seen:
                continue
            seen.add(merged_id)
            frontier.append(merged_id)
            image = record["merged_before"] or {}
            raw = (image.get("fields") or {}).get("created_at")
            created_at = parse_datetime(raw) if isinstance(raw, str) else None
            origin = _origin_in_journal(merged_id, created_at) if created_at else None
            origin = origin or _origin_in_activity(merged_id)
            if origin is not None:
                out.append({**origin, "merge_id": record["id"]})
    return out


def contact_import_origins(contact: Any, *, own_entry: bool = False) -> list[dict[str, Any]]:
    """Every import that created this person's records: the contact itself and the records
    merged into it. A contact imported before the journal stamp has its own
    ``contact.imported`` entry, which the timeline reads with its other activity; with
    ``own_entry`` (the access export) it is read here too, so the list is complete."""
    own = contact_import_origin(contact)
    if own is None and own_entry:
        own = _origin_in_activity(contact.pk)
    return ([own] if own is not None else []) + merged_import_origins(contact.pk)


REPORT_HEADER = ["row", "action", "contact_id", "column", "reason", "before", "after"]


def report_header(job: ImportJob) -> list[str]:
    """The report's columns; the id column names the job's kind of record."""
    if job.target == "contacts":
        return REPORT_HEADER
    kind = {"companies": "company_id", "orders": "order_id", "tickets": "ticket_id"}
    return [
        "row", "action", kind.get(job.target, "id"), "column", "reason", "before", "after"
    ]  # fmt: skip


def import_report_rows(actor: User, job_id: int | str) -> Iterator[list[Any]]:
    """Every reported row of a job, by row: rejected, duplicate, updated (with the
    before/after values), created (with its contact id and any kept-as-entered values)."""
    job = import_job_get(actor, job_id)

    def logged() -> Iterator[tuple[int, int, list[Any]]]:
        for r in ImportRow.objects.filter(job=job).order_by("row", "id").iterator(chunk_size=2000):
            yield (
                r.row,
                0,
                [
                    r.row,
                    r.action,
                    r.contact_id or "",
                    r.column,
                    r.reason,
                    _fmt(r.changes.get("before")),
                    _fmt(r.changes.get("after")),
                ],
            )

    def created() -> Iterator[tuple[int, int, list[Any]]]:
        logged_created = set(
            ImportRow.objects.filter(job=job, action=ImportRow.Action.CREATED).values_list(
                "row", flat=True
            )
        )
        for chunk in ImportChunk.objects.filter(job=job).order_by("seq").iterator(chunk_size=20):
            for row, cid in chunk.created:
                if row not in logged_created:
                    yield (row, 1, [row, "created", cid, "", "", "", ""])

    for _, _, line in heapq.merge(logged(), created(), key=lambda t: (t[0], t[1])):
        yield line


def _fmt(value: Any) -> str:
    if not value:
        return ""
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
