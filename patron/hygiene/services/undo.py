"""Undoing a merge: only the merge's own changes are reversed.

- The merged contact is re-created from its before-image, with its id.
- Survivor fields the merge changed go back, unless they were edited since (a later edit
  wins and is listed in the undo report).
- Rows the merge moved go back to the merged contact if they still point at the survivor;
  rows it deleted are re-inserted; identities it created are removed.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.commerce.summary import purchase_summary_refresh
from patron.contacts.models import Contact, ContactIdentity
from patron.core.permissions import PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.models import MergeRecord
from patron.hygiene.services._scope import lock_contacts, require_merge, scope
from patron.hygiene.services.merge import DERIVED_TABLES
from patron.hygiene.services.rows import chunks, row_restore, row_values
from patron.segments.tasks import contacts_changed

# Recomputed from the other fields: restored with them, never reported as conflicts.
DERIVED = {"search_text", "email_match_key", "name_key", "updated_at"}


def _restore_survivor(record: MergeRecord, survivor: Contact) -> tuple[dict[str, Any], list[str]]:
    _, before = row_values(record.survivor_before)
    _, after = row_values(record.survivor_after)
    updates: dict[str, Any] = {}
    kept: list[str] = []
    for att, old in before.items():
        new = after.get(att)
        if old == new or att in DERIVED:
            continue
        if getattr(survivor, att) == new:
            updates[att] = old
        else:
            kept.append(att)
    if not kept:
        # Nothing edited since: the derived columns go back too (exact state).
        for att in DERIVED:
            if getattr(survivor, att) == after.get(att):
                updates[att] = before[att]
    else:
        for att, value in updates.items():
            setattr(survivor, att, value)
        from patron.contacts.normalize import search_text_for
        from patron.hygiene.normalize import contact_keys_refresh

        survivor.search_text = search_text_for(
            survivor.first_name,
            survivor.middle_name,
            survivor.last_name,
            survivor.full_name,
            survivor.email,
            survivor.phone,
            survivor.external_id or "",
        )
        contact_keys_refresh(survivor)
        updates.update(
            search_text=survivor.search_text,
            email_match_key=survivor.email_match_key,
            name_key=survivor.name_key,
            updated_at=timezone.now(),
        )
    if updates:
        Contact.objects.filter(pk=survivor.pk).update(**updates)
    return updates, kept


@transaction.atomic
def contact_merge_undo(*, actor: User | None, merge: MergeRecord | int) -> MergeRecord:
    """Reverse a merge. Refused when already undone or when the survivor is gone."""
    require_merge(actor)
    pk = merge.pk if isinstance(merge, MergeRecord) else int(merge)
    record = MergeRecord.objects.select_for_update().filter(pk=pk).first()
    if record is None:
        raise PermissionDenied("No such merge.")
    if record.is_undone:
        raise ValidationError({"merge": ["This merge has already been undone."]})
    if not Contact.objects.filter(pk=record.survivor_id).exists():
        from patron.hygiene.selectors import contact_survivor_of

        now_at = contact_survivor_of(record.survivor_id) or record.survivor_id
        if actor is not None and not scope(actor).filter(pk=now_at).exists():
            raise PermissionDenied("No such merge.")
        later = (
            MergeRecord.objects.filter(merged_id=record.survivor_id, undone_at__isnull=True)
            .order_by("-id")
            .first()
        )
        hint = f" Undo merge #{later.pk} first." if later else ""
        raise ValidationError({"merge": [f"The surviving contact no longer exists.{hint}"]})
    if actor is not None and not scope(actor).filter(pk=record.survivor_id).exists():
        raise PermissionDenied("No such merge.")
    if Contact.objects.filter(pk=record.merged_id).exists():
        raise ValidationError({"merge": ["The merged contact exists again; nothing to undo."]})
    survivor = lock_contacts(actor, [record.survivor_id])[record.survivor_id]
    report: dict[str, Any] = {}

    restored, kept = _restore_survivor(record, survivor)
    if kept:
        report["survivor_fields_kept"] = kept

    # Rows the merge created (secondary identities) go.
    for label, row_pk in record.created:
        apps.get_model(label)._base_manager.filter(pk=row_pk).delete()

    # The merged contact comes back with its id and exact values.
    image = dict(record.merged_before)
    ext = image["fields"].get("external_id")
    if ext and Contact.objects.filter(external_id=ext).exists():
        image = {**image, "fields": {**image["fields"], "external_id": None}}
        report["merged_external_id_in_use"] = ext
    row_restore(image)

    # Aggregates rebuilt by the merge give way to the journaled ones.
    for label in DERIVED_TABLES:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        model._base_manager.filter(contact_id__in=[record.survivor_id, record.merged_id]).delete()

    # Rows the merge deleted are re-inserted (their contact exists again).
    failed: list[dict[str, Any]] = []
    identity_label = ContactIdentity._meta.label_lower
    for row in record.deleted:
        if row["model"] == identity_label and "match_key" not in row["fields"]:
            # journaled before contacts 0005 added the derived key: set it as writers do
            fields = row["fields"]
            key = ContactIdentity.match_key_for(fields["kind"], fields["value"])
            row = {**row, "fields": {**fields, "match_key": key}}
        try:
            with transaction.atomic():
                row_restore(row)
        except IntegrityError:
            failed.append({"model": row["model"], "pk": row["pk"]})
    if failed:
        report["rows_not_restored"] = failed

    # Rows the merge moved go back, if they are still the survivor's.
    missing: dict[str, int] = {}
    for key, ids in record.moved.items():
        label, field_name = key.rsplit(".", 1)
        model = apps.get_model(label)
        att = model._meta.get_field(field_name).attname  # type: ignore[union-attr]
        back = 0
        for chunk in chunks(list(ids)):
            back += model._base_manager.filter(pk__in=chunk, **{att: record.survivor_id}).update(
                **{att: record.merged_id}
            )
        if back != len(ids):
            missing[key] = len(ids) - back
    if missing:
        report["moved_rows_gone_or_reassigned"] = missing
    # Orders moved back (and any changed since): the purchase summaries follow them.
    purchase_summary_refresh([record.survivor_id, record.merged_id])

    record.undone_at = timezone.now()
    record.undone_by = actor if getattr(actor, "pk", None) else None
    record.undo_report = report
    record.save(update_fields=["undone_at", "undone_by", "undo_report"])
    merged = Contact.objects.get(pk=record.merged_id)
    activity_record(
        actor=actor,
        verb="contact.merge_undone",
        subject=survivor,
        contact_id=record.survivor_id,
        changes={
            "merge_id": record.pk,
            "merged_id": record.merged_id,
            "restored_fields": sorted(k for k in restored if k not in ("updated_at",)),
            "report": report,
        },
    )
    activity_record(
        actor=actor,
        verb="contact.unmerged",
        subject=merged,
        contact_id=merged.pk,
        changes={"merge_id": record.pk, "survivor_id": record.survivor_id},
    )
    from patron.hygiene.tasks import enqueue_duplicate_refresh

    enqueue_duplicate_refresh(record.survivor_id)
    enqueue_duplicate_refresh(record.merged_id)
    contacts_changed([record.survivor_id, record.merged_id], what={"merge"})
    return record
