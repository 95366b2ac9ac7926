"""One chunk of prepared rows: classify against the database, then write it in bulk.

Classification (the same in the dry run and the run, so the preview tells the truth):

1. rows with errors -> ``error``;
2. an upsert key already seen earlier in the file -> ``duplicate`` (first row wins);
3. key matches a contact -> ``unchanged`` / ``updated`` / ``skipped`` (by policy);
4. new key: an email match key seen earlier in the file, or hygiene scores an existing
   contact sharing its email match key, phone or a secondary identity as a likely match
   -> ``duplicate``; otherwise ``created`` (or ``skipped`` by policy).

Existing contacts are preloaded once per chunk with one indexed query; writes are
``bulk_create`` / ``bulk_update``; contacts this import created are told apart by
``IdRanges`` so step 4 treats them as earlier rows of the file, exactly as the dry run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    CustomField,
    CustomFieldValue,
    Tag,
)
from patron.contacts.normalize import search_text_for
from patron.core.models import Activity
from patron.hygiene.matching import LIKELY, POSSIBLE, Match, profile_of, score_pair
from patron.hygiene.normalize import contact_keys_refresh
from patron.hygiene.selectors import profiles_load
from patron.imports.fastwrite import insert_dicts, insert_objects, reserve_ids
from patron.imports.models import ImportRow
from patron.imports.options import ImportOptions
from patron.imports.prepare import Prepared, phone_key
from patron.imports.seen import Fingerprints, IdRanges, fingerprint

# Contact columns an import writes and a rollback restores.
WRITABLE = (
    "full_name",
    "prefix",
    "first_name",
    "middle_name",
    "last_name",
    "suffix",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
    "country",
    "language",
    "time_zone",
    "birthday",
    "job_title",
    "lifecycle_stage",
    "source",
    "external_id",
)
DERIVED = ("search_text", "email_match_key", "name_key", "invalid_fields")
LOADED = ("id", "owner_id", "updated_at", *WRITABLE, *DERIVED)
REPORT_LIMIT = 200  # issues kept in a dry run's summary
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


def jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


@dataclass
class Outcome:
    p: Prepared
    action: str
    contact_id: int | None = None
    column: str = ""
    reason: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    matches: list[tuple[int, Match]] = field(default_factory=list)


@dataclass
class ChunkState:
    """What lives across chunks: in-file fingerprints, created ids, name caches."""

    seen: Fingerprints = field(default_factory=Fingerprints)
    created: IdRanges = field(default_factory=IdRanges)
    tag_ids: dict[str, int] = field(default_factory=dict)
    company_ids: dict[str, int] = field(default_factory=dict)


@dataclass
class ChunkResult:
    outcomes: list[Outcome]
    counts: Counter[str]
    fingerprints: list[int]
    created: list[list[int]] = field(default_factory=list)  # [row, contact id]
    created_other: dict[str, list[int]] = field(default_factory=dict)
    existing: dict[int, dict[str, Any]] = field(default_factory=dict)


class ChunkProcessor:
    def __init__(
        self,
        *,
        job_id: int,
        actor: Any,
        options: ImportOptions,
        custom_fields: dict[str, CustomField],
        visible: Any | None,
        state: ChunkState,
    ) -> None:
        self.job_id = job_id
        self.actor = actor
        self.options = options
        self.custom_fields = custom_fields
        self.visible = visible  # a scoped queryset for restricted actors, else None
        self.state = state

    # --- classification -----------------------------------------------------------------

    def classify(self, prepared: list[Prepared]) -> ChunkResult:
        opts = self.options
        counts: Counter[str] = Counter()
        fps: list[int] = []
        outcomes: list[Outcome] = []
        good: list[Prepared] = []
        for p in prepared:
            if not p.ok:
                column, reason = p.errors[0]
                outcomes.append(Outcome(p, "error", column=column, reason=reason))
                continue
            fp = fingerprint("key", p.key)
            if fp in self.state.seen:
                outcomes.append(
                    Outcome(
                        p,
                        "duplicate",
                        column=opts.key,
                        reason=f"Repeats the {opts.key} of an earlier row of this file.",
                    )
                )
                continue
            self.state.seen.add(fp)
            fps.append(fp)
            good.append(p)
        existing, by_key = self._preload(good)
        self.preload_related(good, [c for p in good for c in by_key.get(p.key, ())])
        new_rows: list[Prepared] = []
        for p in good:
            found = by_key.get(p.key)
            if found is None:
                new_rows.append(p)
                continue
            if len(found) > 1:
                outcomes.append(
                    Outcome(p, "error", column=opts.key, reason="Several contacts have this key.")
                )
                continue
            cid = found[0]
            if self.visible is not None and cid not in self.visible:
                outcomes.append(
                    Outcome(
                        p,
                        "error",
                        column=opts.key,
                        reason="A contact with this key exists that you cannot change.",
                    )
                )
                continue
            if opts.on_existing == "skip":
                outcomes.append(Outcome(p, "skipped", contact_id=cid, reason="Already exists."))
                continue
            changes = self._diff(p, existing[cid])
            action = "updated" if changes else "unchanged"
            outcomes.append(Outcome(p, action, contact_id=cid, changes=changes))
        outcomes.extend(self._classify_new(new_rows, existing, fps))
        outcomes.sort(key=lambda o: o.p.row)
        for o in outcomes:
            counts[o.action] += 1
            if o.p.invalid and o.action in ("created", "updated"):
                counts["flagged"] += 1
        return ChunkResult(outcomes=outcomes, counts=counts, fingerprints=fps, existing=existing)

    def _preload(
        self, rows: list[Prepared]
    ) -> tuple[dict[int, dict[str, Any]], dict[str, list[int]]]:
        """Contacts that share a key, an email (match key) or a phone with the rows."""
        key = self.options.key
        emails = {p.values["email"] for p in rows if p.values.get("email")}
        email_keys = {p.email_key for p in rows if p.email_key}
        phones = {phone_key(p) for p in rows} - {""}
        cond = Q(pk__in=[])
        if email_keys:
            # Every write path sets email_match_key: it finds the same address in any case.
            cond |= Q(email_match_key__in=sorted(email_keys))
        if phones:
            cond |= Q(phone__in=sorted(phones))
        custom_ids: dict[str, list[int]] = {}
        if key == "external_id":
            cond |= Q(external_id__in=sorted({p.key for p in rows}))
        elif key.startswith("custom:"):
            fld = self.custom_fields.get(key[7:])
            if fld is not None:
                for cid, value in CustomFieldValue.objects.filter(
                    field=fld, value_text__in=sorted({p.key for p in rows})
                ).values_list("contact_id", "value_text"):
                    if cid is not None:
                        custom_ids.setdefault(value, []).append(cid)
                cond |= Q(pk__in=sorted({c for ids in custom_ids.values() for c in ids}))
        ident = Q(pk__in=[])
        if emails:
            ident |= Q(kind=ContactIdentity.Kind.EMAIL, value__in=sorted(emails))
        if phones:
            ident |= Q(kind=ContactIdentity.Kind.PHONE, value__in=sorted(phones))
        ident_rows: list[tuple[int, str, str]] = []
        if emails or phones:
            ident_rows = list(
                ContactIdentity.objects.filter(ident).values_list("contact_id", "kind", "value")
            )
            cond |= Q(pk__in=sorted({r[0] for r in ident_rows}))
        existing = {r["id"]: r for r in Contact.objects.filter(cond).values(*LOADED)}
        by_key: dict[str, list[int]] = {}
        for cid, r in sorted(existing.items()):
            if key == "email":
                k = (r["email"] or "").lower()
            elif key == "phone":
                k = r["phone"] or ""
            elif key == "external_id":
                k = r["external_id"] or ""
            else:
                continue
            if k:
                by_key.setdefault(k, []).append(cid)
        if key.startswith("custom:"):
            by_key = {k: sorted(set(v)) for k, v in custom_ids.items()}
        self._identities = ident_rows
        return existing, by_key

    def _classify_new(
        self, rows: list[Prepared], existing: dict[int, dict[str, Any]], fps: list[int]
    ) -> list[Outcome]:
        opts = self.options
        out: list[Outcome] = []
        by_email_key: dict[str, list[int]] = {}
        by_phone: dict[str, list[int]] = {}
        for cid, r in existing.items():
            if cid in self.state.created:
                continue  # made by this import: an earlier row of the file
            if r["email_match_key"]:
                by_email_key.setdefault(r["email_match_key"], []).append(cid)
            if r["phone"]:
                by_phone.setdefault(r["phone"].split(";", 1)[0], []).append(cid)
        for cid, kind, value in self._identities:
            if cid in self.state.created:
                continue
            target = by_phone if kind == ContactIdentity.Kind.PHONE else None
            if target is not None:
                target.setdefault(value, []).append(cid)
            else:
                from patron.hygiene.normalize import email_match_key

                by_email_key.setdefault(email_match_key(value), []).append(cid)
        wanted: list[tuple[Prepared, set[int]]] = []
        for p in rows:
            if p.email_key:
                fp = fingerprint("email_key", p.email_key)
                if fp in self.state.seen:
                    out.append(
                        Outcome(
                            p,
                            "duplicate",
                            column="email",
                            reason="Same email (ignoring case, dots and +tags) as an earlier "
                            "row of this file.",
                        )
                    )
                    continue
                self.state.seen.add(fp)
                fps.append(fp)
            ids = set(by_email_key.get(p.email_key, ())) | set(by_phone.get(phone_key(p), ()))
            wanted.append((p, ids))
        profiles = profiles_load(sorted({i for _, ids in wanted for i in ids}))
        for p, ids in wanted:
            matches: list[tuple[int, Match]] = []
            if ids:
                me = _profile(p)
                matches = sorted(
                    ((i, score_pair(me, profiles[i])) for i in ids if i in profiles),
                    key=lambda m: (-m[1].score, m[0]),
                )
                matches = [m for m in matches if m[1].score >= POSSIBLE]
            if matches and matches[0][1].score >= LIKELY and opts.on_duplicate == "skip":
                cid, match = matches[0]
                out.append(
                    Outcome(
                        p,
                        "duplicate",
                        contact_id=cid,
                        reason=f"Likely the same person as contact #{cid} "
                        f"(match {match.score:.0%}).",
                    )
                )
                continue
            if opts.on_new == "skip":
                out.append(Outcome(p, "skipped", reason="New contact (new rows are skipped)."))
                continue
            out.append(Outcome(p, "created", matches=matches))
        return out

    def _diff(self, p: Prepared, current: dict[str, Any]) -> dict[str, Any]:
        fill_only = self.options.on_existing == "fill_empty"
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, value in p.values.items():
            old = current.get(name)
            if name == "email" and old and str(old).lower() == str(value).lower():
                continue
            if old == value or (fill_only and old not in ("", None)):
                continue
            before[name], after[name] = old, value
        invalid = p.invalid_after(current.get("invalid_fields") or {})
        if invalid != (current.get("invalid_fields") or {}):
            before["invalid_fields"], after["invalid_fields"] = current["invalid_fields"], invalid
        changes: dict[str, Any] = {}
        if before or after:
            changes = {"before": before, "after": after}
        extra = self._diff_related(p, current["id"])
        if extra:
            changes = changes or {"before": {}, "after": {}}
            changes.update(extra)
        return changes

    def _diff_related(self, p: Prepared, cid: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        have_tags = self._tags_of.get(cid, set())
        add = [t for t in p.tags if t not in have_tags]
        if add:
            out["tags_added"] = add
        if p.company and p.company not in self._companies_of.get(cid, set()):
            out["company_added"] = p.company
        custom_changes: dict[str, Any] = {}
        for key, typed in p.custom.items():
            old = self._custom_of.get((cid, key), [])
            if old != typed and not (self.options.on_existing == "fill_empty" and old):
                custom_changes[key] = {"before": old, "after": typed}
        if custom_changes:
            out["custom"] = custom_changes
        return out

    def preload_related(self, prepared: list[Prepared], existing_ids: Iterable[int]) -> None:
        """Tags, companies and custom values of matched contacts (for the diff)."""
        ids = sorted(set(existing_ids))
        self._tags_of: dict[int, set[str]] = {}
        self._companies_of: dict[int, set[str]] = {}
        self._custom_of: dict[tuple[int, str], list[dict[str, Any]]] = {}
        if not ids:
            return
        through = Contact.tags.through
        for cid, name in through.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "tag__name"
        ):
            self._tags_of.setdefault(cid, set()).add(name)
        for cid, name in ContactCompany.objects.filter(contact_id__in=ids).values_list(
            "contact_id", "company__name"
        ):
            self._companies_of.setdefault(cid, set()).add(name)
        keys = {k for p in prepared for k in p.custom}
        fields = [self.custom_fields[k] for k in keys if k in self.custom_fields]
        if fields:
            for v in CustomFieldValue.objects.filter(contact_id__in=ids, field__in=fields).order_by(
                "id"
            ):
                typed = {
                    c: getattr(v, c)
                    for c in ("value_text", "value_number", "value_date", "value_bool")
                    if getattr(v, c) is not None
                }
                self._custom_of.setdefault((v.contact_id, v.field.key), []).append(typed)

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
        rows = []
        for o, pk in zip(creates, ids, strict=True):
            p = o.p
            o.contact_id = pk
            row = dict(_CONTACT_DEFAULTS)
            row.update(p.values)
            row.update(
                id=pk,
                owner_id=owner_id,
                invalid_fields=p.invalid,
                search_text=p.search_text,
                email_match_key=p.email_key,
                name_key=p.name_key,
                created_at=now,
                updated_at=now,
            )
            rows.append(row)
        insert_dicts(Contact, rows, CONTACT_COLUMNS)
        result.created = [[o.p.row, o.contact_id] for o in creates]  # type: ignore[misc]
        self.state.created.add_many(o.contact_id for o in creates)  # type: ignore[misc]
        self._write_updates(updates, existing, now)
        through = Contact.tags.through
        links = [
            through(contact_id=o.contact_id, tag_id=tag_ids[t]) for o in creates for t in o.p.tags
        ]
        links += [
            through(contact_id=o.contact_id, tag_id=tag_ids[t])
            for o in updates
            for t in o.changes.get("tags_added", ())
        ]
        through.objects.bulk_create(links, batch_size=900, ignore_conflicts=True)
        memberships = [
            ContactCompany(contact_id=o.contact_id, company_id=company_ids[o.p.company])
            for o in creates
            if o.p.company
        ]
        memberships += [
            ContactCompany(
                contact_id=o.contact_id, company_id=company_ids[o.changes["company_added"]]
            )
            for o in updates
            if "company_added" in o.changes
        ]
        ContactCompany.objects.bulk_create(memberships, batch_size=900, ignore_conflicts=True)
        self._write_custom(creates, updates)
        self._write_queue(creates)
        self._write_activity(creates, updates, now)
        self._write_rows(result)

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
        actor_obj = self.actor if getattr(self.actor, "pk", None) else None
        label = str(self.actor)[:200] if self.actor is not None else "system"
        actor_id = actor_obj.pk if actor_obj is not None else None
        rows = [
            {
                "actor_id": actor_id,
                "actor_label": label,
                "verb": "contact.imported",
                "subject_type": "contact",
                "subject_id": o.contact_id,
                "subject_label": _label(o.p.values),
                "contact_id": o.contact_id,
                "changes": {"import_job": self.job_id, "row": o.p.row, "action": "created"},
                "created_at": now,
            }
            for o in creates
        ]
        insert_dicts(Activity, rows, ACTIVITY_COLUMNS)
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
        insert_objects(Activity, entries, ACTIVITY_COLUMNS)

    def _write_rows(self, result: ChunkResult) -> None:
        ImportRow.objects.bulk_create(
            [row_log(self.job_id, o) for o in result.outcomes if reportable(o)], batch_size=500
        )


def reportable(o: Outcome) -> bool:
    if o.action in ("error", "duplicate", "updated"):
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


def _profile(p: Prepared) -> Any:
    v = p.values
    return profile_of(
        0,
        first_name=v.get("first_name", ""),
        last_name=v.get("last_name", ""),
        email_keys={p.email_key} if p.email_key else set(),
        phones={v["phone"]} if v.get("phone") else set(),
        birthday=v.get("birthday"),
        postal_code=v.get("postal_code", ""),
        city=v.get("city", ""),
        country=v.get("country", ""),
        companies={p.company} if p.company else set(),
    )
