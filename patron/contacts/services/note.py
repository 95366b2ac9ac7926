"""Write services for notes and static lists."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from patron.accounts.models import User
from patron.contacts.models import (
    Company,
    Contact,
    ContactList,
    ContactListMember,
    Note,
)
from patron.contacts.normalize import (
    clean_text,
)
from patron.contacts.selectors import (
    companies_visible_to,
    contacts_visible_to,
    require,
)
from patron.contacts.services._common import (
    _lock_contact,
)
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.segments.tasks import contacts_changed

# --- notes ---------------------------------------------------------------------------

NOTE_MAX = 20_000


@transaction.atomic
def note_create(
    *,
    actor: User,
    body: str,
    contact: Contact | int | None = None,
    company: Company | int | None = None,
) -> Note:
    """A plain-text note on a contact or a company (rendered escaped, never as HTML)."""
    require(actor, P.NOTE_ADD)
    if (contact is None) == (company is None):
        raise ValidationError({"__all__": ["A note belongs to exactly one contact or company."]})
    if not isinstance(body, str) or not body.strip():
        raise ValidationError({"body": ["Write something first."]})
    if len(body) > NOTE_MAX:
        raise ValidationError({"body": [f"Ensure this value has at most {NOTE_MAX} characters."]})
    text = "\n".join(clean_text(line) for line in body.strip().splitlines())
    if contact is not None:
        target = _lock_contact(actor, contact)
        note = Note.objects.create(contact=target, body=text, author=actor)
        contact_id, company_id = target.pk, None
    else:
        cpk = company.pk if isinstance(company, Company) else int(company)  # type: ignore[union-attr, arg-type]
        comp = companies_visible_to(actor).filter(pk=cpk).first()
        if comp is None:
            raise PermissionDenied("You cannot add notes to this company.")
        note = Note.objects.create(company=comp, body=text, author=actor)
        contact_id, company_id = None, comp.pk
    activity_record(
        actor=actor,
        verb="note.added",
        subject=note,
        contact_id=contact_id,
        company_id=company_id,
        changes={"after": {"body": text[:500]}},
    )
    return note


# --- static lists --------------------------------------------------------------------


@transaction.atomic
def list_create(*, actor: User, name: str, description: str = "") -> ContactList:
    require(actor, P.LIST_MANAGE)
    name = clean_text(name, max_length=200)
    if not name:
        raise ValidationError({"name": ["This field is required."]})
    cl = ContactList.objects.create(name=name, description=description[:2000], owner=actor)
    activity_record(actor=actor, verb="list.created", subject=cl, changes={"after": {"name": name}})
    return cl


@transaction.atomic
@transaction.atomic
def list_add_contacts(*, actor: User, contact_list: ContactList, contact_ids: Iterable[int]) -> int:
    """Add the contacts the actor may see to a static list; returns how many were new.

    On PostgreSQL the contacts are locked ``FOR KEY SHARE`` (in id order) before their
    memberships are inserted: a merge taking one of them away waits for the list add and
    moves its membership, or, if it came first, that contact is left out like any that no
    longer exists (not a foreign key error at commit, ADR 0089). The lock does not block
    edits of the contacts, only their deletion."""
    require(actor, P.LIST_MANAGE)
    ids = list(
        contacts_visible_to(actor).filter(pk__in=list(contact_ids)).values_list("pk", flat=True)
    )
    if ids and connection.vendor == "postgresql":
        table = connection.ops.quote_name(Contact._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608 (name)
                [sorted(ids)],
            )
            ids = [row[0] for row in cursor.fetchall()]
    existing = set(
        ContactListMember.objects.filter(contact_list=contact_list, contact_id__in=ids).values_list(
            "contact_id", flat=True
        )
    )
    new = [
        ContactListMember(contact_list=contact_list, contact_id=i) for i in ids if i not in existing
    ]
    ContactListMember.objects.bulk_create(new)
    contacts_changed([m.contact_id for m in new], what={"lists"})
    if new:
        activity_record(
            actor=actor,
            verb="list.contacts_added",
            subject=contact_list,
            changes={
                "after": {"contact_ids": [m.contact_id for m in new][:1000], "count": len(new)}
            },
        )
    return len(new)
