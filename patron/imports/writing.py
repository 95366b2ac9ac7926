"""Writing a classified chunk: contacts, links, custom values, activity, journal.

New contacts get reserved ids and go in with prepared multi-row inserts
(patron.core.fastwrite); updates use ``bulk_update`` and keep a before-image per row
(``ImportRow.changes``) for the rollback.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from patron.contacts.models import Company, Contact, ContactCompany, CustomFieldValue, Tag
from patron.contacts.normalize import search_text_for
from patron.core.fastwrite import RowTemplate, insert_dicts, insert_objects, reserve_ids
from patron.core.models import Activity
from patron.hygiene.normalize import contact_keys_refresh
from patron.imports.erased import is_erased_skip
from patron.imports.models import ImportRow
from patron.segments.tasks import contacts_changed

if TYPE_CHECKING:
    from patron.imports.chunk import ChunkResult, ChunkState, Outcome

CONTACT_COLUMNS = tuple(f.name for f in Contact._meta.concrete_fields)
_CONTACT_DEFAULTS = {
    f.attname: f.get_default() for f in Contact._meta.concrete_fields if not f.primary_key
}
ACTIVITY_COLUMNS = (
    "actor",
    "actor_label",
    "verb",
    "subject_type",
    "subject_id",
    "subject_label",
    "contact_id",
    "changes",
    "created_at",
)

IMPORT_ROW_COLUMNS = ("job", "row", "action", "contact_id", "column", "reason", "changes")

_NO_FLAGS: dict[str, Any] = {}  # shared, so its JSON is encoded once per chunk
# Contact columns whose value differs from row to row (the rest: defaults, owner, now).
_CONTACT_VARYING = tuple(
    f.attname
    for f in Contact._meta.concrete_fields
    if f.attname not in ("owner_id", "created_at", "updated_at")
)


def jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


class ChunkWriter:
    """The writing half of ChunkProcessor (see patron.imports.chunk)."""

    job_id: int
    actor: Any
    custom_fields: dict[str, Any]
    state: ChunkState

    # --- writing ------------------------------------------------------------------------

    def write(self, result: ChunkResult) -> None:
        existing = result.existing
        now = timezone.now()
        creates = [o for o in result.outcomes if o.action == "created"]
        updates = [o for o in result.outcomes if o.action == "updated"]
        tag_ids = self._tag_ids({t for o in (*creates, *updates) for t in o.p.tags}, result)
        company_ids = self._company_ids(
            {o.p.company for o in creates if o.p.company}
            | {o.changes["company_added"] for o in updates if "company_added" in o.changes},
            result,
        )
        owner_id = None if getattr(self.actor, "is_service", True) else self.actor.pk
        ids = reserve_ids(Contact, len(creates))
        template = RowTemplate(
            Contact,
            CONTACT_COLUMNS,
            {
                **_CONTACT_DEFAULTS,
                "id": None,
                "owner_id": owner_id,
                "created_at": now,
                "updated_at": now,
            },
            _CONTACT_VARYING,
        )
        slot, new, finish = template.slot, template.new, template.finish
        i_id, i_invalid, i_search, i_email_key, i_name_key = (
            slot[a] for a in ("id", "invalid_fields", "search_text", "email_match_key", "name_key")
        )
        rows = []
        for o, pk in zip(creates, ids, strict=True):
            p = o.p
            o.contact_id = pk
            row = new()
            for name, value in p.values.items():
                row[slot[name]] = value
            row[i_id] = pk
            row[i_invalid] = p.invalid or _NO_FLAGS
            row[i_search] = p.search_text
            row[i_email_key] = p.email_key
            row[i_name_key] = p.name_key
            rows.append(finish(row))
        template.insert(rows)
        result.created = [[o.p.row, pk] for o, pk in zip(creates, ids, strict=True)]
        result.created_stamp = now if creates else None
        self.state.created.add_many(ids)
        self._write_updates(updates, existing, now)
        through = Contact.tags.through
        # New contacts: nothing to conflict with, plain multi-row inserts.
        insert_dicts(
            through,
            [{"contact_id": o.contact_id, "tag_id": tag_ids[t]} for o in creates for t in o.p.tags],
            ("contact", "tag"),
        )
        member = RowTemplate(
            ContactCompany,
            ("contact", "company", "created_at"),
            {"contact_id": None, "company_id": None, "created_at": now},
            ("contact_id", "company_id"),
        )
        i_contact, i_company = member.slot["contact_id"], member.slot["company_id"]
        members = []
        for o in creates:
            if o.p.company:
                row = member.new()
                row[i_contact] = o.contact_id
                row[i_company] = company_ids[o.p.company]
                members.append(row)  # no column to adapt per row (``finish`` not needed)
        member.insert(members)
        links = [
            through(contact_id=o.contact_id, tag_id=tag_ids[t])
            for o in updates
            for t in o.changes.get("tags_added", ())
        ]
        through.objects.bulk_create(links, batch_size=900, ignore_conflicts=True)
        memberships = [
            ContactCompany(
                contact_id=cid, company_id=company_ids[o.changes["company_added"]], created_at=now
            )
            for o in updates
            if "company_added" in o.changes and (cid := o.contact_id) is not None
        ]
        ContactCompany.objects.bulk_create(memberships, batch_size=900, ignore_conflicts=True)
        self._write_custom(creates, updates)
        self._write_queue(creates)
        self._write_activity(creates, updates, now)
        self._write_rows(result)
        # Live segments re-evaluate the chunk's contacts once it commits.
        contacts_changed([o.contact_id for o in (*creates, *updates)], what={"import"})

    def _write_updates(
        self, updates: list[Outcome], existing: dict[int, dict[str, Any]], now: dt.datetime
    ) -> None:
        if not updates:
            return
        objs = []
        fields: set[str] = set()
        for o in updates:
            current = dict(existing[o.contact_id])  # type: ignore[index]
            after = o.changes.get("after", {})
            current.update(after)
            obj = Contact(**{k: v for k, v in current.items() if k != "id"}, id=o.contact_id)
            obj.search_text = search_text_for(
                obj.first_name,
                obj.middle_name,
                obj.last_name,
                obj.full_name,
                obj.email,
                obj.phone,
                obj.external_id or "",
            )
            contact_keys_refresh(obj)
            obj.updated_at = now
            before = o.changes.setdefault("before", {})
            for derived in ("search_text", "email_match_key", "name_key"):
                if getattr(obj, derived) != existing[o.contact_id][derived]:  # type: ignore[index]
                    before.setdefault(derived, existing[o.contact_id][derived])  # type: ignore[index]
                    o.changes["after"][derived] = getattr(obj, derived)
            before["updated_at"] = existing[o.contact_id]["updated_at"]  # type: ignore[index]
            fields.update(after)
            fields.update(("search_text", "email_match_key", "name_key", "updated_at"))
            objs.append(obj)
        Contact.objects.bulk_update(objs, sorted(fields), batch_size=200)

    def _tag_ids(self, names: set[str], result: ChunkResult) -> dict[str, int]:
        cache = self.state.tag_ids
        missing = sorted(n for n in names if n not in cache)
        if missing:
            for t in Tag.objects.filter(name__in=missing):
                cache[t.name] = t.pk
            for name in missing:
                if name not in cache:
                    tag, created = Tag.objects.get_or_create(name=name)
                    cache[name] = tag.pk
                    if created:
                        result.created_other.setdefault("tags", []).append(tag.pk)
        return cache

    def _company_ids(self, names: set[str], result: ChunkResult) -> dict[str, int]:
        cache = self.state.company_ids
        if len(cache) > 100_000:
            cache.clear()
        missing = sorted(n for n in names if n not in cache)
        if missing:
            for cid, name in (
                Company.objects.filter(name__in=missing).order_by("id").values_list("id", "name")
            ):
                cache.setdefault(name, cid)
            new = [Company(name=n) for n in missing if n not in cache]
            Company.objects.bulk_create(new, batch_size=500)
            for c in new:
                cache[c.name] = c.pk
            if new:
                result.created_other.setdefault("companies", []).extend(c.pk for c in new)
        return cache

    def _write_custom(self, creates: list[Outcome], updates: list[Outcome]) -> None:
        rows: list[CustomFieldValue] = []
        for o in creates:
            for key, typed in o.p.custom.items():
                fld = self.custom_fields.get(key)
                if fld is not None:
                    rows += [
                        CustomFieldValue(field=fld, contact_id=o.contact_id, **t) for t in typed
                    ]
        for o in updates:
            for key, change in o.changes.get("custom", {}).items():
                fld = self.custom_fields[key]
                assert o.contact_id is not None
                CustomFieldValue.objects.filter(field=fld, contact_id=o.contact_id).delete()
                rows += [
                    CustomFieldValue(field=fld, contact_id=o.contact_id, **t)
                    for t in change["after"]
                ]
                change["before"] = [
                    {k: jsonable(v) for k, v in t.items()} for t in change["before"]
                ]
                change["after"] = [{k: jsonable(v) for k, v in t.items()} for t in change["after"]]
        CustomFieldValue.objects.bulk_create(rows, batch_size=900)

    def _write_queue(self, creates: list[Outcome]) -> None:
        """Possible duplicates of created contacts go to hygiene's review queue."""
        from patron.hygiene.services.duplicates import candidate_upsert

        for o in creates:
            for other, match in o.matches[:5]:
                candidate_upsert(o.contact_id, other, match)  # type: ignore[arg-type]

    def _write_activity(
        self, creates: list[Outcome], updates: list[Outcome], now: dt.datetime
    ) -> None:
        """The audit trail of the chunk: updated contacts get one ``contact.imported``
        entry each with their before/after; created contacts are recorded by the chunk's
        journal (``ImportChunk.created``, which the contact timeline reads, ADR 0075) and
        one ``import.contacts_created`` entry for the chunk (actor, time, how many)."""
        actor_obj = self.actor if getattr(self.actor, "pk", None) else None
        label = str(self.actor)[:200] if self.actor is not None else "system"
        entries = [
            Activity(
                actor=actor_obj,
                actor_label=label,
                verb="contact.imported",
                subject_type="contact",
                subject_id=o.contact_id,
                subject_label=_label(o.p.values),
                contact_id=o.contact_id,
                changes={
                    "import_job": self.job_id,
                    "row": o.p.row,
                    "action": "updated",
                    "before": _json_dict(o.changes.get("before", {})),
                    "after": _json_dict(o.changes.get("after", {})),
                },
                created_at=now,
            )
            for o in updates
        ]
        if creates:
            entries.append(
                Activity(
                    actor=actor_obj,
                    actor_label=label,
                    verb="import.contacts_created",
                    subject_type="importjob",
                    subject_id=self.job_id,
                    subject_label=f"Import #{self.job_id}",
                    changes={
                        "import_job": self.job_id,
                        "created": len(creates),
                        "rows": [creates[0].p.row, creates[-1].p.row],
                    },
                    created_at=now,
                )
            )
        insert_objects(Activity, entries, ACTIVITY_COLUMNS)

    def _write_rows(self, result: ChunkResult) -> None:
        insert_objects(
            ImportRow,
            [row_log(self.job_id, o) for o in result.outcomes if reportable(o)],
            IMPORT_ROW_COLUMNS,
        )


def reportable(o: Outcome) -> bool:
    if o.action in ("error", "duplicate", "updated") or is_erased_skip(o):
        return True
    return o.action == "created" and bool(o.p.invalid)


def row_log(job_id: int, o: Outcome) -> ImportRow:
    column, reason = o.column, o.reason
    if o.action in ("created", "updated") and o.p.invalid:
        column = column or ", ".join(sorted(o.p.invalid))
        flagged = "; ".join(f"{k}: {v['reason']}" for k, v in sorted(o.p.invalid.items()))
        reason = reason or f"Kept as entered, not normalised: {flagged}"
    changes = _json_dict(o.changes) if o.action == "updated" else {}
    return ImportRow(
        job_id=job_id,
        row=o.p.row,
        action=o.action,
        contact_id=o.contact_id,
        column=column[:255],
        reason=reason[:2000],
        changes=changes,
    )


def _json_dict(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_dict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_dict(v) for v in value]
    return jsonable(value)


def _label(values: dict[str, Any]) -> str:
    name = " ".join(v for v in (values.get("first_name"), values.get("last_name")) if v)
    return (name or values.get("full_name") or values.get("email") or "")[:300]
