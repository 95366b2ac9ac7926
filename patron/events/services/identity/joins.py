"""Two contacts found to be one person: merged through the hygiene merge service (with its
journal), or the evidence recorded for a person to decide."""

from __future__ import annotations

from typing import Any

from patron.contacts.models import Contact
from patron.core.services import activity_record
from patron.events.models import Event, IdentityConflict


def merge_service() -> Any:
    """The hygiene app's ``contact_merge`` (journal + undo), or None if not installed."""
    try:
        from patron.hygiene.services import contact_merge
    except ImportError:
        return None
    return contact_merge


def contacts_join(
    *,
    actor: Any,
    survivor_id: int,
    merged_id: int,
    kind: str,
    value: str,
    event: Event | None,
    automatic: bool,
) -> bool:
    """Two contacts are one person: merge them, or record the evidence for a person.

    Returns True when ``merged_id`` no longer exists as a separate contact.

    The merge itself belongs to the hygiene app (``contact_merge``: survivorship, journal,
    undo). While that service is not installed, or when the evidence is not strong enough
    to merge without a person (``automatic=False``), an ``IdentityConflict`` is recorded
    and neither contact is changed: nothing is ever silently overwritten.
    """
    if survivor_id == merged_id:
        return False
    # Looked up on the package (``identity.merge_service``): one place to replace it.
    from patron.events.services import identity

    merge = identity.merge_service() if automatic else None
    if merge is not None:
        survivor = Contact.objects.get(pk=survivor_id)
        merged = Contact.objects.get(pk=merged_id)
        merge(actor=None, survivor=survivor, merged=merged)  # None: the system, unscoped
        IdentityConflict.objects.create(
            survivor_id=survivor_id,
            merged_id=None,
            kind=kind,
            value=value[:254],
            event=event if event is not None and event.pk else None,
            status=IdentityConflict.Status.MERGED,
        )
        return True
    _, created = IdentityConflict.objects.get_or_create(
        survivor_id=survivor_id,
        merged_id=merged_id,
        status=IdentityConflict.Status.PENDING,
        defaults={
            "kind": kind,
            "value": value[:254],
            "event": event if event is not None and event.pk else None,
        },
    )
    if created:
        activity_record(
            actor=actor,
            verb="contact.identity_conflict",
            subject_type="contact",
            subject_id=survivor_id,
            contact_id=survivor_id,
            changes={"after": {"other_contact": merged_id, "kind": kind, "value": value[:254]}},
        )
    return False
