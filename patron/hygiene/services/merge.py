"""Merging two contacts: everything moves to the survivor, in one transaction, journaled.

Survivorship: per field (or field group: name parts, postal address) the value comes from
``field_choices`` ("survivor" or "merged") when given, else from ``rule``:

- ``most_complete`` (default): a filled value beats an empty one; when both are filled,
  the contact with more filled fields wins (ties: the survivor);
- ``most_recent``: the more recently updated contact's filled value;
- ``trusted_source``: the contact whose ``source`` comes first in ``trusted_sources``.

Emails and phones that lose the primary slot are kept as secondary identities. Every row
of every table with a foreign key to Contact is re-pointed (or, when it would duplicate a
row the survivor already has, journaled and deleted), and the journal (MergeRecord) keeps
full before-images and every id, so ``contact_merge_undo`` can restore the exact state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.module_loading import import_string

from patron.accounts.models import User
from patron.contacts.models import Contact, ContactIdentity, CustomField, CustomFieldValue
from patron.contacts.normalize import search_text_for
from patron.core.services import activity_record
from patron.hygiene.models import DuplicateCandidate, MergeRecord
from patron.hygiene.normalize import contact_keys_refresh
from patron.hygiene.services._scope import lock_contacts, require_merge
from patron.hygiene.services.rows import chunks, contact_links, row_image
from patron.segments.tasks import contacts_changed

GROUPS: dict[str, tuple[str, ...]] = {
    "name": ("full_name", "prefix", "first_name", "middle_name", "last_name", "suffix"),
    "address": ("address_line1", "address_line2", "city", "region", "postal_code", "country"),
}
SINGLE_FIELDS = (
    "email",
    "phone",
    "language",
    "time_zone",
    "birthday",
    "job_title",
    "lifecycle_stage",
    "owner",
    "source",
    "external_id",
)
# Per-contact aggregate tables and the function that rebuilds them from the source rows.
DERIVED_TABLES: dict[str, str] = {
    "events.contacteventsummary": "patron.events.services.aggregates.aggregates_rebuild",
    "events.contacteventcount": "patron.events.services.aggregates.aggregates_rebuild",
    "commerce.contactpurchasesummary": "patron.commerce.summary.purchase_summary_refresh",
}
UNITS: dict[str, tuple[str, ...]] = {**GROUPS, **{f: (f,) for f in SINGLE_FIELDS}}
FIELD_TO_UNIT = {f: unit for unit, fields in UNITS.items() for f in fields}
RULES = tuple(MergeRecord.Rule.values)
SIDES = ("survivor", "merged")


def _attname(field: str) -> str:
    return "owner_id" if field == "owner" else field


def _filled(contact: Contact, fields: Sequence[str]) -> int:
    return sum(1 for f in fields if getattr(contact, _attname(f)) not in ("", None))


def _completeness(contact: Contact) -> int:
    return _filled(contact, [f for fs in UNITS.values() for f in fs])


def _source_rank(contact: Contact, trusted: Sequence[str]) -> int:
    src = (contact.source or "").lower()
    ranks = [i for i, t in enumerate(trusted) if t.lower() == src]
    return ranks[0] if ranks else len(trusted)


def _clean_choices(field_choices: Mapping[str, Any] | None) -> dict[str, str]:
    """{unit or field or "custom.<key>": "survivor"|"merged"} -> {unit or custom: side}."""
    out: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for key, side in (field_choices or {}).items():
        key = str(key)[:80]
        if side not in SIDES:
            errors[key] = ["Choose 'survivor' or 'merged'."]
            continue
        if key.startswith("custom.") or key in UNITS:
            out[key] = side
        elif key in FIELD_TO_UNIT:
            out[FIELD_TO_UNIT[key]] = side
        else:
            errors[key] = ["Unknown field."]
    if errors:
        raise ValidationError(errors)
    return out


def survivorship_plan(
    *,
    survivor: Contact,
    merged: Contact,
    rule: str,
    choices: Mapping[str, str],
    trusted_sources: Sequence[str] = (),
) -> dict[str, str]:
    """Which side each unit's value comes from."""
    plan: dict[str, str] = {}
    for unit, fields in UNITS.items():
        if unit in choices:
            plan[unit] = choices[unit]
            continue
        s_vals = [getattr(survivor, _attname(f)) for f in fields]
        m_vals = [getattr(merged, _attname(f)) for f in fields]
        s_n, m_n = _filled(survivor, fields), _filled(merged, fields)
        if m_n == 0 or s_vals == m_vals:
            plan[unit] = "survivor"
        elif s_n == 0:
            plan[unit] = "merged"
        elif rule == "most_recent":
            plan[unit] = "merged" if merged.updated_at > survivor.updated_at else "survivor"
        elif rule == "trusted_source":
            s_rank = _source_rank(survivor, trusted_sources)
            m_rank = _source_rank(merged, trusted_sources)
            if s_rank == m_rank:
                plan[unit] = "merged" if merged.updated_at > survivor.updated_at else "survivor"
            else:
                plan[unit] = "merged" if m_rank < s_rank else "survivor"
        else:  # most_complete
            better = (m_n, _completeness(merged)) > (s_n, _completeness(survivor))
            plan[unit] = "merged" if better else "survivor"
    return plan


def derived_rebuild(contact_ids: list[int]) -> None:
    """Recompute per-contact aggregates of other apps (each rebuild function once)."""
    for path in dict.fromkeys(DERIVED_TABLES.values()):
        try:
            rebuild = import_string(path)
        except ImportError:
            continue
        rebuild(contact_ids)


class _Journal:
    def __init__(self) -> None:
        self.moved: dict[str, list[Any]] = {}
        self.deleted: list[dict[str, Any]] = []
        self.created: list[list[Any]] = []

    def delete(self, qs: Any) -> None:
        rows = list(qs)
        for row in rows:
            self.deleted.append(row_image(row))
        if rows:
            qs.model._base_manager.filter(pk__in=[r.pk for r in rows])._raw_delete(qs.db)


def _merge_custom_values(
    journal: _Journal, survivor: Contact, merged: Contact, choices: Mapping[str, str]
) -> None:
    """Single-value custom fields keep one value (the chosen side's, else the survivor's);
    multi-choice fields keep the union. The losing rows are journaled and deleted."""
    mine = CustomFieldValue.objects.filter(contact=survivor).select_related("field")
    theirs = CustomFieldValue.objects.filter(contact=merged).select_related("field")
    by_field: dict[int, list[CustomFieldValue]] = {}
    for cfv in mine:
        by_field.setdefault(cfv.field_id, []).append(cfv)
    drop_theirs: set[int] = set()
    drop_mine: set[int] = set()
    for cfv in theirs:
        ours = by_field.get(cfv.field_id)
        if not ours:
            continue
        field = cfv.field
        if field.type == CustomField.Type.MULTI_CHOICE:
            if any(o.value == cfv.value for o in ours):
                drop_theirs.add(cfv.pk)
        elif choices.get(f"custom.{field.key}") == "merged":
            drop_mine.update(o.pk for o in ours)
        else:
            drop_theirs.add(cfv.pk)
    journal.delete(CustomFieldValue.objects.filter(pk__in=drop_mine | drop_theirs).order_by("pk"))


def _move_related(journal: _Journal, survivor: Contact, merged: Contact) -> None:
    links = list(contact_links())
    per_model: dict[type, list[str]] = {}
    for link in links:
        per_model.setdefault(link.model, []).append(link.field.attname)
    pair = {survivor.pk, merged.pk}
    for link in links:
        manager = link.model._base_manager
        col = link.field.attname
        if link.model._meta.label_lower in DERIVED_TABLES:
            # Per-contact aggregates: journaled for the undo, rebuilt from the moved rows.
            journal.delete(manager.filter(**{f"{col}__in": sorted(pair)}).order_by("pk"))
            continue
        theirs = manager.filter(**{col: merged.pk})
        if not theirs.exists():
            continue
        cols = per_model[link.model]
        if len(cols) > 1:
            # A row linking the two contacts to each other would link the survivor to itself.
            both = theirs.filter(**{f"{c}__in": sorted(pair) for c in cols})
            journal.delete(both.order_by("pk"))
        clash: set[Any] = set()
        for others in link.unique_with:
            if not others:
                if manager.filter(**{col: survivor.pk}).exists():
                    clash.update(theirs.values_list("pk", flat=True))
                continue
            ours = set(manager.filter(**{col: survivor.pk}).values_list(*others))
            for pk, *vals in theirs.values_list("pk", *others):
                if tuple(vals) in ours:
                    clash.add(pk)
        if clash:
            journal.delete(manager.filter(pk__in=sorted(clash)).order_by("pk"))
        ids = sorted(theirs.values_list("pk", flat=True))
        for chunk in chunks(ids):
            manager.filter(pk__in=chunk).update(**{col: survivor.pk})
        if ids:
            journal.moved[link.key] = ids


def _keep_secondary(journal: _Journal, survivor: Contact, kind: str, values: list[str]) -> None:
    """Emails/phones that are not the survivor's primary stay as secondary identities."""
    primary = getattr(survivor, kind)
    for value in dict.fromkeys(v for v in values if v and v != primary):
        identity, created = ContactIdentity.objects.get_or_create(
            contact=survivor,
            kind=kind,
            value=value[:254],
            defaults={
                "label": "merged",
                "match_key": ContactIdentity.match_key_for(kind, value[:254]),
            },
        )
        if created:
            journal.created.append([ContactIdentity._meta.label_lower, identity.pk])


@transaction.atomic
def contact_merge(
    *,
    actor: User | None,
    survivor: Contact | int,
    merged: Contact | int,
    field_choices: Mapping[str, Any] | None = None,
    rule: str = "most_complete",
    trusted_sources: Sequence[str] = (),
    automatic: bool = False,
) -> MergeRecord:
    """Merge ``merged`` into ``survivor``; returns the journal entry (undo with its id).

    ``actor=None`` is the system (CLI, tasks): no permission check, no scope.
    ``automatic`` marks a merge made by auto-merge (journaled and undoable like any other).
    """
    require_merge(actor)
    if rule not in RULES:
        raise ValidationError({"rule": [f"Choose one of: {', '.join(RULES)}."]})
    choices = _clean_choices(field_choices)
    s_pk = survivor.pk if isinstance(survivor, Contact) else int(survivor)
    m_pk = merged.pk if isinstance(merged, Contact) else int(merged)
    if s_pk == m_pk:
        raise ValidationError({"merged": ["A contact cannot be merged into itself."]})
    locked = lock_contacts(actor, [s_pk, m_pk])
    surv, gone = locked[s_pk], locked[m_pk]
    survivor_before, merged_before = row_image(surv), row_image(gone)
    plan = survivorship_plan(
        survivor=surv, merged=gone, rule=rule, choices=choices, trusted_sources=trusted_sources
    )
    journal = _Journal()
    # The review queue rows of the merged contact go (restored by an undo).
    journal.delete(
        DuplicateCandidate.objects.filter(Q(contact_a_id=m_pk) | Q(contact_b_id=m_pk)).order_by(
            "pk"
        )
    )
    _merge_custom_values(journal, surv, gone, choices)
    _move_related(journal, surv, gone)
    emails = [surv.email, gone.email]
    phones = [surv.phone, gone.phone]
    Contact.objects.filter(pk=m_pk)._raw_delete(Contact.objects.db)
    changed: list[str] = []
    for unit, side in plan.items():
        if side != "merged":
            continue
        for field in UNITS[unit]:
            att = _attname(field)
            value = getattr(gone, att)
            if getattr(surv, att) != value:
                setattr(surv, att, value)
                changed.append(att)
    invalid = {**(gone.invalid_fields or {}), **(surv.invalid_fields or {})}
    if invalid != surv.invalid_fields:
        surv.invalid_fields = invalid
        changed.append("invalid_fields")
    surv.search_text = search_text_for(
        surv.first_name,
        surv.middle_name,
        surv.last_name,
        surv.full_name,
        surv.email,
        surv.phone,
        surv.external_id or "",
    )
    contact_keys_refresh(surv)
    surv.save(update_fields=[*changed, "search_text", "email_match_key", "name_key", "updated_at"])
    _keep_secondary(journal, surv, "email", emails)
    _keep_secondary(journal, surv, "phone", phones)
    derived_rebuild([s_pk])
    survivor_after = row_image(surv)
    record = MergeRecord.objects.create(
        survivor_id=s_pk,
        merged_id=m_pk,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor)[:200]
        if actor is not None
        else ("auto-merge" if automatic else "system"),
        rule=rule,
        automatic=automatic,
        field_choices={**choices, "_plan": plan, "_trusted_sources": list(trusted_sources)},
        survivor_before=survivor_before,
        survivor_after=survivor_after,
        merged_before=merged_before,
        moved=journal.moved,
        deleted=journal.deleted,
        created=journal.created,
    )
    summary = {k: len(v) for k, v in journal.moved.items()}
    before_vals = survivor_before["fields"]
    after_vals = survivor_after["fields"]
    diff_keys = [k for k in after_vals if before_vals.get(k) != after_vals.get(k)]
    activity_record(
        actor=actor,
        verb="contact.merged",
        subject=surv,
        contact_id=s_pk,
        changes={
            "before": {k: before_vals.get(k) for k in diff_keys if k != "updated_at"},
            "after": {k: after_vals.get(k) for k in diff_keys if k != "updated_at"},
            "merge_id": record.pk,
            "merged_id": m_pk,
            "merged_label": str(gone)[:200],
            "moved": summary,
            "rule": rule,
            "automatic": automatic,
        },
    )
    activity_record(
        actor=actor,
        verb="contact.merged_away",
        subject_type="contact",
        subject_id=m_pk,
        subject_label=str(gone)[:300],
        contact_id=m_pk,
        changes={"merge_id": record.pk, "survivor_id": s_pk},
    )
    from patron.hygiene.tasks import enqueue_duplicate_refresh

    enqueue_duplicate_refresh(s_pk)
    contacts_changed([s_pk, m_pk], what={"merge"})
    return record


__all__ = ["GROUPS", "UNITS", "contact_merge", "survivorship_plan"]
