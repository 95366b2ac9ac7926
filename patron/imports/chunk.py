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

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Set
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models, transaction
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from patron.contacts.models import (
    Contact,
    ContactCompany,
    ContactIdentity,
    CustomField,
    CustomFieldValue,
)
from patron.contacts.services import CONTACT_FIELDS
from patron.hygiene.matching import LIKELY, POSSIBLE, Match, profile_of, score_pair
from patron.hygiene.selectors import profiles_load
from patron.imports.erased import ERASED_REASON, ErasedPeople
from patron.imports.options import ImportOptions
from patron.imports.prepare import Prepared
from patron.imports.seen import Fingerprints, IdRanges
from patron.imports.writing import ChunkWriter

# Contact columns an import writes and a rollback restores.
WRITABLE = CONTACT_FIELDS
DERIVED = ("search_text", "email_match_key", "name_key", "invalid_fields")
LOADED = ("id", "owner_id", "updated_at", *WRITABLE, *DERIVED)
REPORT_LIMIT = 200  # issues kept in a dry run's summary
_NONE: frozenset[int] = frozenset()


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
    created_stamp: Any = None  # the created contacts' created_at (one datetime a chunk)
    created_other: dict[str, list[int]] = field(default_factory=dict)
    existing: dict[int, dict[str, Any]] = field(default_factory=dict)


class ChunkProcessor(ChunkWriter):
    def __init__(
        self,
        *,
        job_id: int,
        actor: Any,
        options: ImportOptions,
        custom_fields: dict[str, CustomField],
        visible: Any | None,
        state: ChunkState,
        erased: ErasedPeople | None = None,
    ) -> None:
        self.job_id = job_id
        self.actor = actor
        self.options = options
        self.custom_fields = custom_fields
        self.visible = visible  # a scoped queryset for restricted actors, else None
        self.state = state
        self.erased = erased  # None when nobody was ever erased (see patron.imports.erased)

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
            fp = p.key_fp
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
        email_keys = {p.email_key for p in rows if p.email_key}
        phones = {p.phone_key for p in rows} - {""}
        cond = Q(pk__in=[])
        if email_keys:
            # Every write path sets email_match_key: it finds the same address in any case.
            cond |= in_list(Contact, "email_match_key", sorted(email_keys))
        if phones:
            cond |= in_list(Contact, "phone", sorted(phones))
        custom_ids: dict[str, list[int]] = {}
        if key == "external_id":
            cond |= in_list(Contact, "external_id", sorted({p.key for p in rows}))
        elif key.startswith("custom:"):
            fld = self.custom_fields.get(key[7:])
            if fld is not None:
                for cid, value in CustomFieldValue.objects.filter(
                    field=fld, value_text__in=sorted({p.key for p in rows})
                ).values_list("contact_id", "value_text"):
                    if cid is not None and value is not None:
                        custom_ids.setdefault(value, []).append(cid)
                cond |= Q(pk__in=sorted({c for ids in custom_ids.values() for c in ids}))
        ident = Q(pk__in=[])
        if email_keys:
            # Further emails by their match key, like the primary ones (and like identity
            # resolution): a plus-tag or dotted-Gmail variant is the same address.
            ident |= Q(kind=ContactIdentity.Kind.EMAIL) & in_list(
                ContactIdentity, "match_key", sorted(email_keys)
            )
        if phones:
            ident |= Q(kind=ContactIdentity.Kind.PHONE) & in_list(
                ContactIdentity, "value", sorted(phones)
            )
        ident_rows: list[tuple[int, str, str]] = []
        if email_keys or phones:
            ident_rows = [
                (cid, kind, match_key if kind == ContactIdentity.Kind.EMAIL else value)
                for cid, kind, value, match_key in ContactIdentity.objects.filter(
                    ident
                ).values_list("contact_id", "kind", "value", "match_key")
            ]
            if ident_rows:
                cond |= Q(pk__in=sorted({r[0] for r in ident_rows}))
        with index_probes():
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
        for cid, kind, key_or_value in self._identities:  # emails: match key; phones: E.164
            if cid in self.state.created:
                continue
            target = by_phone if kind == ContactIdentity.Kind.PHONE else by_email_key
            target.setdefault(key_or_value, []).append(cid)
        wanted: list[tuple[Prepared, Set[int]]] = []
        for p in rows:
            if self.erased is not None and (matched := _erased_kind(self.erased, p)):
                out.append(Outcome(p, "skipped", column=matched, reason=ERASED_REASON))
                continue
            if p.email_key:
                fp = p.email_fp
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
            same_email = by_email_key.get(p.email_key)
            same_phone = by_phone.get(p.phone_key)
            # Most new rows share nothing with anyone: no sets built for them.
            shared: Set[int] = _NONE
            if same_email or same_phone:
                shared = {*(same_email or ()), *(same_phone or ())}
            wanted.append((p, shared))
        profiles = profiles_load(sorted({i for _, shared in wanted for i in shared}))
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
                if v.contact_id is not None:
                    self._custom_of.setdefault((v.contact_id, v.field.key), []).append(typed)


@contextmanager
def index_probes() -> Iterator[None]:
    """PostgreSQL: plan the enclosed preload query without sequential scans.

    A chunk probes the indexes with ~10,000 keys of which few match, but the planner
    (with no statistics for a table the import is filling, and autovacuum may be off)
    costs the bitmap OR of the index scans above a scan of the whole table: measured at
    966k contacts, a sequential scan 340-775 ms a chunk, the bitmap OR 73 ms. The setting
    is transaction-local and set back right after (SQLite plans the multi-index OR)."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan')")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('enable_seqscan', 'off', true)")
        yield
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('enable_seqscan', %s, true)", [previous])


def in_list(model: type[models.Model], name: str, values: list[str]) -> Q:
    """``name IN values`` for a chunk's thousands of values, one parameter, index-served.

    PostgreSQL: ``column = ANY(%s::text[])``. (``IN (SELECT unnest(...))`` is planned as
    a hashed sub-plan when OR-ed with other such lists, i.e. a sequential scan of the
    whole contacts table for every chunk: ~65 ms at 100k contacts, growing with the
    table; ``= ANY`` gets a bitmap OR of the index scans.) SQLite: ``IN (SELECT value
    FROM json_each(%s))``, which it already runs as a multi-index OR."""
    if connection.vendor == "postgresql":
        field = model._meta.get_field(name)
        column = connection.ops.quote_name(field.column)  # type: ignore[union-attr, arg-type]
        # The identifier comes from the model's metadata (quoted); the values are a parameter.
        sql = f"{column} = ANY(%s::text[])"
        return Q(RawSQL(sql, [values], output_field=BooleanField()))  # noqa: S611
    return Q(**{f"{name}__in": value_list(values)})


def value_list(values: list[str]) -> RawSQL:
    """``IN (SELECT ...)`` over one parameter holding the whole list: Django adapts an
    ``__in`` list value by value (~20 µs a row at a chunk's 15,000 values); this passes one
    array (PostgreSQL) or one JSON text (SQLite ``json_each``), and the indexes still apply."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::text[])", [values])
    return RawSQL("SELECT value FROM json_each(%s)", [json.dumps(values)])


def _erased_kind(erased: ErasedPeople, p: Prepared) -> str:
    """Which identifier of a new row is an erased person's ("" if none)."""
    phone = p.values.get("phone") or ""
    return erased.first_match(
        (
            ("email", p.email_key),
            ("phone", p.phone_key),
            ("phone", phone if phone != p.phone_key else ""),
            ("external_id", p.values.get("external_id") or ""),
        )
    )


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
