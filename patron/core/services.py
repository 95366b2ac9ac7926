"""Shared write helpers: the activity log and the workspace settings."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from patron.core.models import Activity, Workspace
from patron.core.permissions import P, PermissionDenied

#: The columns ``activities_insert`` writes (every one but the id).
ACTIVITY_ATTNAMES = tuple(f.attname for f in Activity._meta.concrete_fields if f.name != "id")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """A JSON-safe picture of some fields of a model instance (FKs as ids)."""
    out: dict[str, Any] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _jsonable(getattr(instance, attname))
    return out


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys whose value changed, as {"before": {...}, "after": {...}}."""
    changed = [k for k in after if before.get(k) != after.get(k)]
    return {
        "before": {k: before.get(k) for k in changed},
        "after": {k: after.get(k) for k in changed},
    }


def activity_record(
    *,
    actor: Any,
    verb: str,
    subject: models.Model | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    subject_label: str = "",
    contact_id: int | None = None,
    company_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Activity:
    """Write one activity entry. Call it inside the write's transaction."""
    entry = activity_build(
        actor=actor,
        verb=verb,
        subject=subject,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=subject_label,
        contact_id=contact_id,
        company_id=company_id,
        changes=changes,
    )
    entry.save(force_insert=True)
    return entry


def activity_build(
    *,
    actor: Any,
    verb: str,
    subject: models.Model | None = None,
    subject_type: str | None = None,
    subject_id: int | None = None,
    subject_label: str = "",
    contact_id: int | None = None,
    company_id: int | None = None,
    changes: Mapping[str, Any] | None = None,
) -> Activity:
    """An activity entry, not saved: for writes in bulk, which then save many at once
    with ``Activity.objects.bulk_create`` inside the same transaction."""
    if subject is not None:
        subject_type = subject_type or subject._meta.model_name
        subject_id = subject.pk
        subject_label = subject_label or str(subject)[:300]
    actor_obj, actor_label = activity_actor(actor)
    return Activity(
        actor=actor_obj,
        actor_label=actor_label,
        verb=verb,
        subject_type=subject_type or "",
        subject_id=subject_id,
        subject_label=subject_label[:300],
        contact_id=contact_id,
        company_id=company_id,
        changes=_jsonable(dict(changes or {})),
    )


def activity_actor(actor: Any) -> tuple[Any, str]:
    """An entry's actor and its label: a stored user (one with a pk), else None (the
    system, an API key, the tracking pipeline); the label names either."""
    return (
        actor if getattr(actor, "pk", None) else None,
        (str(actor) if actor is not None else "system")[:200],
    )


def activities_insert(rows: Sequence[dict[str, Any]]) -> None:
    """Write many activity entries at once, given as dicts of their columns (attnames, all
    but ``id``), by the fast insert (``core.fastwrite``: ``COPY`` on PostgreSQL, one
    prepared ``INSERT`` on SQLite) instead of ``bulk_create``, which prepares every column
    of every entry in Python. A row without ``created_at`` gets the time of this call, as
    ``auto_now_add`` would. Call it inside the write's transaction, and not inside a
    psycopg pipeline (the event processor's ``_marking``): ``COPY`` cannot run there."""
    # (Imported here: core.fastwrite's package, core.demo, imports services that import
    # this module.)
    from patron.core.fastwrite import insert_dicts

    if not rows:
        return
    now = timezone.now()
    insert_dicts(
        Activity,
        [row if row.get("created_at") else {**row, "created_at": now} for row in rows],
        ACTIVITY_ATTNAMES,
    )


def workspace_get() -> Workspace:
    ws, _ = Workspace.objects.get_or_create(pk=1)
    return ws


@transaction.atomic
def workspace_update(*, actor: Any, **fields: Any) -> Workspace:
    if not actor.has_perm_code(P.SETTINGS_MANAGE):
        raise PermissionDenied()
    ws = Workspace.objects.select_for_update().get_or_create(pk=1)[0]
    allowed = {"name", "restricted_visibility", "default_region", "lifecycle_stages"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Unknown workspace setting(s): {', '.join(sorted(unknown))}")
    before = snapshot(ws, fields)
    for key, value in fields.items():
        setattr(ws, key, value)
    ws.full_clean()
    ws.save(update_fields=[*fields, "updated_at"])
    activity_record(
        actor=actor,
        verb="workspace.updated",
        subject=ws,
        changes=diff(before, snapshot(ws, fields)),
    )
    return ws
