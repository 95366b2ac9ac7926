"""Rolling an import back: remove what it created, restore what it updated.

Updated contacts get their previous values back from the per-row journal
(``ImportRow.changes``), field by field, including ``updated_at``, so an untouched
contact is exactly as it was. A field someone changed after the import keeps its newer
value and is listed in the job's ``rollback_report`` (nothing is silently overwritten).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    CustomField,
    CustomFieldValue,
    Tag,
)
from patron.contacts.selectors import require
from patron.core.models import Activity
from patron.core.permissions import P
from patron.core.services import activity_record
from patron.imports.models import ImportChunk, ImportJob, ImportRow
from patron.imports.services.jobs import _lock
from patron.imports.targets import target_for
from patron.imports.writing import jsonable
from patron.segments.tasks import contacts_changed

BATCH = 500
Status = ImportJob.Status


def _to_python(name: str, value: Any) -> Any:
    field = Contact._meta.get_field(name)
    if value is None or name == "invalid_fields":
        return value
    if name in ("updated_at", "created_at"):
        from django.utils.dateparse import parse_datetime

        return parse_datetime(value) if isinstance(value, str) else value
    return field.to_python(value)  # type: ignore[union-attr]


def _batches(ids: list[int]) -> Iterator[list[int]]:
    for i in range(0, len(ids), BATCH):
        yield ids[i : i + BATCH]


def _restore_updates(job: ImportJob, actor: User, report: dict[str, Any]) -> int:
    restored = 0
    entries: list[Activity] = []
    actor_obj = actor if getattr(actor, "pk", None) else None
    rows = ImportRow.objects.filter(job=job, action=ImportRow.Action.UPDATED).order_by("-row")
    customs = {f.key: f for f in CustomField.objects.filter(entity=CustomField.Entity.CONTACT)}
    through = Contact.tags.through
    for row in rows.iterator(chunk_size=BATCH):
        if row.contact_id is None:
            continue
        contact = Contact.objects.select_for_update().filter(pk=row.contact_id).first()
        if contact is None:
            report["missing"].append(row.contact_id)
            continue
        before = row.changes.get("before", {})
        after = row.changes.get("after", {})
        fields: list[str] = []
        for name, old in before.items():
            if name == "updated_at":
                continue
            if name in after and jsonable(getattr(contact, name)) != after[name]:
                report["conflicts"].append({"contact_id": contact.pk, "field": name})
                continue
            setattr(contact, name, _to_python(name, old))
            fields.append(name)
        untouched = not report["conflicts"] or all(
            c["contact_id"] != contact.pk for c in report["conflicts"]
        )
        if fields:
            if untouched and "updated_at" in before:
                contact.updated_at = _to_python("updated_at", before["updated_at"])
                Contact.objects.filter(pk=contact.pk).update(
                    **{f: getattr(contact, f) for f in fields}, updated_at=contact.updated_at
                )
            else:
                contact.save(update_fields=[*fields, "updated_at"])
        tags = row.changes.get("tags_added") or []
        if tags:
            through.objects.filter(contact_id=contact.pk, tag__name__in=tags).delete()
        company = row.changes.get("company_added")
        if company:
            ContactCompany.objects.filter(contact_id=contact.pk, company__name=company).delete()
        for key, change in (row.changes.get("custom") or {}).items():
            fld = customs.get(key)
            if fld is None:
                continue
            CustomFieldValue.objects.filter(field=fld, contact_id=contact.pk).delete()
            CustomFieldValue.objects.bulk_create(
                [
                    CustomFieldValue(
                        field=fld,
                        contact_id=contact.pk,
                        **{
                            k: CustomFieldValue._meta.get_field(k).to_python(v)  # type: ignore[union-attr]
                            for k, v in typed.items()
                        },
                    )
                    for typed in change.get("before", [])
                ]
            )
        restored += 1
        entries.append(
            Activity(
                actor=actor_obj,
                actor_label=str(actor)[:200],
                verb="contact.import_rolled_back",
                subject_type="contact",
                subject_id=contact.pk,
                subject_label=str(contact)[:300],
                contact_id=contact.pk,
                changes={
                    "import_job": job.pk,
                    "action": "restored",
                    "before": after,
                    "after": before,
                },
            )
        )
        if len(entries) >= BATCH:
            Activity.objects.bulk_create(entries)
            entries = []
    Activity.objects.bulk_create(entries)
    return restored


def _remove_created(job: ImportJob, actor: User) -> tuple[int, dict[str, list[int]]]:
    removed = 0
    other: dict[str, list[int]] = {"companies": [], "tags": []}
    actor_obj = actor if getattr(actor, "pk", None) else None
    for chunk in ImportChunk.objects.filter(job=job).order_by("seq").iterator():
        ids = [cid for _, cid in chunk.created]
        for key in other:
            other[key].extend((chunk.created_other or {}).get(key, []))
        for batch in _batches(ids):
            present = list(Contact.objects.filter(pk__in=batch).values_list("pk", flat=True))
            Contact.objects.filter(pk__in=present).delete()
            removed += len(present)
            Activity.objects.bulk_create(
                [
                    Activity(
                        actor=actor_obj,
                        actor_label=str(actor)[:200],
                        verb="contact.import_rolled_back",
                        subject_type="contact",
                        subject_id=cid,
                        contact_id=cid,
                        changes={"import_job": job.pk, "action": "removed"},
                    )
                    for cid in present
                ]
            )
    return removed, other


@transaction.atomic
def import_job_rollback(*, actor: User, job: ImportJob | int) -> ImportJob:
    """Undo an import (finished, or failed part-way) in one transaction."""
    require(actor, P.IMPORT)
    job = _lock(actor, job)
    if job.target != "contacts":
        for code in target_for(job.target).rollback_permissions():
            require(actor, code)
    else:
        require(actor, P.CONTACT_EDIT)
    if job.status not in (Status.DONE, Status.FAILED):
        raise ValidationError({"status": ["Only a finished or failed import can be rolled back."]})
    report: dict[str, Any] = {"conflicts": [], "missing": []}
    if job.target != "contacts":
        target_for(job.target).rollback(actor=actor, job=job, report=report)
        return _finish(actor, job, report)
    restored = _restore_updates(job, actor, report)
    # Restored contacts may move in or out of live segments (removed ones leave by deletion).
    contacts_changed(
        ImportRow.objects.filter(job=job, action="updated").values_list("contact_id", flat=True),
        what={"import"},
    )
    removed, other = _remove_created(job, actor)
    companies = [
        c
        for c in Company.objects.filter(pk__in=other["companies"]).values_list("pk", flat=True)
        if not ContactCompany.objects.filter(company_id=c).exists()
    ]
    Company.objects.filter(pk__in=companies).delete()
    tags = [
        t.pk
        for t in Tag.objects.filter(pk__in=other["tags"])
        if not t.contacts.exists() and not t.companies.exists()
    ]
    Tag.objects.filter(pk__in=tags).delete()
    report.update(
        restored=restored,
        removed=removed,
        companies_removed=len(companies),
        tags_removed=len(tags),
    )
    return _finish(actor, job, report)


def _finish(actor: User, job: ImportJob, report: dict[str, Any]) -> ImportJob:
    report["conflicts"] = report["conflicts"][:1000]
    report["missing"] = report["missing"][:1000]
    job.status = Status.ROLLED_BACK
    job.rolled_back_at = timezone.now()
    job.rolled_back_by = actor if getattr(actor, "pk", None) else None
    job.rollback_report = report
    job.save(
        update_fields=[
            "status",
            "rolled_back_at",
            "rolled_back_by",
            "rollback_report",
            "updated_at",
        ]
    )
    activity_record(
        actor=actor,
        verb="import.rolled_back",
        subject=job,
        changes={"after": {k: v for k, v in report.items() if k != "conflicts"}},
    )
    return job
