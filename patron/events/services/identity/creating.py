"""The contacts a processing batch creates for new visitors, written at once.

Ids are reserved first, then the contacts and their ``contact.created`` entries go in by
the fast insert (``COPY`` on PostgreSQL, one prepared ``INSERT`` on SQLite;
``core.fastwrite``). ``bulk_create`` prepared every one of the contact's 30 columns in
Python: about 200 µs a new contact (docs/performance.md, "Tracking → Stop 13")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.fastwrite import RowTemplate, reserve_ids
from patron.core.services import activities_insert, activity_actor

#: A new contact's row: every column, defaults but for id, source and the times.
_CONTACT_COLUMNS = tuple(f.name for f in Contact._meta.concrete_fields)
_CONTACT_DEFAULTS = {f.attname: f.get_default() for f in Contact._meta.concrete_fields}


def contacts_create(*, actor: Any, new: Sequence[tuple[str, str]]) -> list[int]:
    """Create a contact for each (source label, how it came: e.g. "track event") with its
    ``contact.created`` entry by ``actor``; returns their ids, in order. Call it inside
    the batch's transaction (on SQLite it holds the write lock the reserved ids need)."""
    if not new:
        return []
    ids = reserve_ids(Contact, len(new))
    now = timezone.now()
    template = RowTemplate(
        Contact,
        _CONTACT_COLUMNS,
        {**_CONTACT_DEFAULTS, "id": None, "created_at": now, "updated_at": now},
        ("id", "source"),
    )
    slot_id, slot_source = template.slot["id"], template.slot["source"]
    stored_actor, actor_label = activity_actor(actor)
    actor_id = stored_actor.pk if stored_actor is not None else None
    rows = []
    entries = []
    for pk, (source, via) in zip(ids, new, strict=True):
        row = template.new()
        row[slot_id], row[slot_source] = pk, source
        rows.append(template.finish(row))
        entries.append(
            {
                "actor_id": actor_id,
                "actor_label": actor_label,
                "verb": "contact.created",
                "subject_type": "contact",
                "subject_id": pk,
                "subject_label": f"Contact #{pk}",  # what str() gives a new one
                "contact_id": pk,
                "company_id": None,
                "changes": {"after": {"source": source, "via": via}},
                "created_at": now,
            }
        )
    template.insert(rows)
    activities_insert(entries)
    return ids
