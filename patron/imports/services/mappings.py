"""Saved column mappings: save (or replace) and delete; listed by ``selectors.import_mappings``."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.selectors import require
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.imports.mapping import mapping_clean
from patron.imports.models import ImportMapping
from patron.imports.services.jobs import custom_fields_for
from patron.imports.targets import TARGETS


@transaction.atomic
def import_mapping_save(
    *, actor: User, name: str, columns: Mapping[str, str], target: str = "contacts"
) -> ImportMapping:
    """Save (or replace) a named column mapping for later imports of this target."""
    require(actor, P.IMPORT)
    if target not in TARGETS:
        raise ValidationError({"target": [f"Choose one of: {', '.join(TARGETS)}."]})
    name = " ".join(str(name or "").split())[:120]
    if not name:
        raise ValidationError({"name": ["Enter a name for the mapping."]})
    if not isinstance(columns, Mapping) or len(columns) > 500:
        raise ValidationError({"columns": ["Expected at most 500 {header: field} pairs."]})
    headers = [str(h)[:255] for h in columns]
    columns = mapping_clean(
        {str(h)[:255]: str(t or "") for h, t in columns.items()},
        headers,
        custom_fields_for(target),
        target,
    )
    obj, created = ImportMapping.objects.select_for_update().get_or_create(
        target=target,
        name=name,
        defaults={"columns": dict(columns), "created_by": actor if actor.pk else None},
    )
    before = {} if created else {"columns": obj.columns}
    if not created:
        obj.columns = dict(columns)
        obj.save(update_fields=["columns", "updated_at"])
    activity_record(
        actor=actor,
        verb="import_mapping.saved",
        subject=obj,
        changes={"before": before, "after": {"target": target, "columns": obj.columns}},
    )
    return obj


@transaction.atomic
def import_mapping_delete(*, actor: User, mapping: ImportMapping | int) -> None:
    """Delete a saved mapping: its creator, or an administrator (settings.manage)."""
    from patron.imports.selectors import import_mappings

    pk = mapping.pk if isinstance(mapping, ImportMapping) else int(mapping)
    obj = import_mappings(actor).select_for_update().filter(pk=pk).first()
    if obj is None:
        raise PermissionDenied("No such saved mapping.")
    mine = obj.created_by_id is not None and obj.created_by_id == actor.pk
    if not (mine or actor.is_superuser or actor.has_perm_code(P.SETTINGS_MANAGE)):
        raise PermissionDenied("Only its creator or an administrator can delete this mapping.")
    before = {"name": obj.name, "target": obj.target, "columns": obj.columns}
    obj.delete()
    activity_record(
        actor=actor,
        verb="import_mapping.deleted",
        subject_type="import_mapping",
        subject_id=pk,
        subject_label=before["name"],
        changes={"before": before},
    )
