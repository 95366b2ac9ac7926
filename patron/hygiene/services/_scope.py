"""Permission and scope checks shared by the hygiene services.

``actor=None`` is the system (management commands run from a trusted shell, tasks):
no permission check and no record scope. Every request path passes a real actor.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.permissions import P, PermissionDenied


def require_merge(actor: User | None) -> None:
    if actor is not None:
        require(actor, P.CONTACT_MERGE)
        require(actor, P.CONTACT_EDIT)


def scope(actor: User | None) -> QuerySet[Contact]:
    return Contact.objects.all() if actor is None else contacts_visible_to(actor)


def lock_contacts(actor: User | None, pks: Iterable[int]) -> dict[int, Contact]:
    """Lock the contacts' rows in primary-key order (no deadlock between two merges that
    share a contact), then check that the actor may see every one of them."""
    wanted = sorted(set(pks))
    rows = list(Contact.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
    found = {c.pk: c for c in rows}
    if len(found) != len(wanted):
        raise PermissionDenied("No such contact (it may have been merged or deleted).")
    if actor is not None and scope(actor).filter(pk__in=wanted).count() != len(wanted):
        raise PermissionDenied("You cannot change these contacts.")
    return found
