"""Permission-scoped reads of import jobs, their reports and saved mappings."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.contacts.selectors import require
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
