"""Write services for contacts: create, update, delete, tags, company links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.custom_fields import custom_values_clean, custom_values_write
from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    Tag,
)
from patron.contacts.normalize import clean_text
from patron.contacts.selectors import (
    companies_visible_to,
    require,
)
from patron.contacts.services._common import (
    CONTACT_EXTRA_KEYS,
    CONTACT_FIELDS,
    _clean_tag_names,
    _contact_values,
    _lock_contact,
    _note_change,
    _owner_for,
    _refresh_search_text,
    _reject_unknown,
    _set_extra_identities,
    _set_tags,
    _validate_and_save,
)
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record, diff, snapshot
from patron.hygiene.normalize import OnInvalid
from patron.hygiene.tasks import enqueue_duplicate_refresh
from patron.segments.tasks import contacts_changed

# --- contacts ------------------------------------------------------------------------


TRACKED = (*CONTACT_FIELDS, "owner")


@transaction.atomic
def contact_create(
    *, actor: User, data: Mapping[str, Any], on_invalid: OnInvalid = "error"
) -> Contact:
    """Create a contact. ``on_invalid="flag"`` (imports, tracking) keeps values that cannot
    be normalised in ``invalid_fields`` instead of refusing them (see patron.hygiene)."""
    require(actor, P.CONTACT_CREATE)
    _reject_unknown(data, (*CONTACT_FIELDS, *CONTACT_EXTRA_KEYS))
    values, errors, norm = _contact_values(data, existing=None, on_invalid=on_invalid)
    default_owner = None if actor.is_service else actor
    try:
        owner = _owner_for(actor, data, default_owner)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        owner = None
    custom: dict[Any, Any] = {}
    try:
        custom = custom_values_clean("contact", data.get("custom") or {}, creating=True)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        tags = _clean_tag_names(data.get("tags"))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    emails = norm.values.get("emails") or []
    phones = norm.values.get("phones") or []
    if not errors and not any(
        values.get(k) for k in ("first_name", "last_name", "full_name", "email", "phone")
    ):
        errors["__all__"] = ["A contact needs at least a name, an email or a phone."]
    if errors:
        raise ValidationError(errors)
    if values.get("full_name") is None or not values.get("full_name"):
        values["full_name"] = " ".join(
            p
            for p in (values.get("first_name"), values.get("middle_name"), values.get("last_name"))
            if p
        )
    contact = Contact(owner=owner, **values)
    _refresh_search_text(contact)
    _validate_and_save(contact, "contact")
    after = snapshot(contact, TRACKED)
    if tags:
        after["tags"] = _set_tags(contact, tags)[1]
    for kind, vals in (("email", emails), ("phone", phones)):
        if vals:
            after[f"{kind}s"] = _set_extra_identities(contact, kind, vals)[1]
    if custom:
        after["custom"] = {k: v[1] for k, v in custom_values_write(contact, custom).items()}
    activity_record(
        actor=actor,
        verb="contact.created",
        subject=contact,
        contact_id=contact.pk,
        changes={"after": {k: v for k, v in after.items() if v not in ("", None, [])}},
    )
    enqueue_duplicate_refresh(contact.pk)
    contacts_changed([contact.pk], what={"profile"})
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: User,
    contact: Contact | int,
    data: Mapping[str, Any],
    on_invalid: OnInvalid = "error",
) -> Contact:
    require(actor, P.CONTACT_EDIT)
    _reject_unknown(data, (*CONTACT_FIELDS, *CONTACT_EXTRA_KEYS))
    contact = _lock_contact(actor, contact)
    values, errors, norm = _contact_values(data, existing=contact, on_invalid=on_invalid)
    owner = contact.owner
    try:
        owner = _owner_for(actor, data, contact.owner)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    custom: dict[Any, Any] = {}
    try:
        if "custom" in data:
            custom = custom_values_clean("contact", data.get("custom") or {}, creating=False)
        tags = _clean_tag_names(data["tags"]) if "tags" in data else None
    except ValidationError as exc:
        errors.update(exc.message_dict)
    emails = norm.values.get("emails")
    phones = norm.values.get("phones")
    if errors:
        raise ValidationError(errors)
    before = snapshot(contact, TRACKED)
    for key, value in values.items():
        setattr(contact, key, value)
    contact.owner = owner
    _refresh_search_text(contact)
    _validate_and_save(contact, "contact")
    changes = diff(before, snapshot(contact, TRACKED))
    if tags is not None:
        _note_change(changes, "tags", *_set_tags(contact, tags))
    for kind, vals in (("email", emails), ("phone", phones)):
        if vals is not None:
            _note_change(changes, f"{kind}s", *_set_extra_identities(contact, kind, vals))
    if custom:
        for key, (b, a) in custom_values_write(contact, custom).items():
            _note_change(changes, key, b, a, group="custom")
    if changes["after"] or changes["before"]:
        activity_record(
            actor=actor,
            verb="contact.updated",
            subject=contact,
            contact_id=contact.pk,
            changes=changes,
        )
        enqueue_duplicate_refresh(contact.pk)
        contacts_changed([contact.pk], what={"profile"})
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact | int) -> None:
    require(actor, P.CONTACT_DELETE)
    contact = _lock_contact(actor, contact)
    pk, label = contact.pk, str(contact)
    contact.delete()
    contacts_changed([pk], what={"delete"})
    activity_record(
        actor=actor,
        verb="contact.deleted",
        subject_type="contact",
        subject_id=pk,
        subject_label=label,
        contact_id=pk,
    )


@transaction.atomic
def contact_tag(*, actor: User, contact: Contact | int, tag_name: str) -> Tag:
    require(actor, P.CONTACT_EDIT)
    contact = _lock_contact(actor, contact)
    names = _clean_tag_names([tag_name])
    if not names:
        raise ValidationError({"tag": ["Enter a tag name."]})
    tag, _ = Tag.objects.get_or_create(name=names[0])
    if not contact.tags.filter(pk=tag.pk).exists():
        contact.tags.add(tag)
        activity_record(
            actor=actor,
            verb="contact.tagged",
            subject=contact,
            contact_id=contact.pk,
            changes={"after": {"tag": tag.name}},
        )
        contacts_changed([contact.pk], what={"profile"})
    return tag


@transaction.atomic
def contact_untag(*, actor: User, contact: Contact | int, tag_name: str) -> None:
    require(actor, P.CONTACT_EDIT)
    contact = _lock_contact(actor, contact)
    tag = contact.tags.filter(name=tag_name).first()
    if tag is not None:
        contact.tags.remove(tag)
        activity_record(
            actor=actor,
            verb="contact.untagged",
            subject=contact,
            contact_id=contact.pk,
            changes={"before": {"tag": tag.name}},
        )
        contacts_changed([contact.pk], what={"profile"})


@transaction.atomic
def contact_company_link(
    *, actor: User, contact: Contact | int, company: Company | int, role: str = ""
) -> ContactCompany:
    require(actor, P.CONTACT_EDIT)
    contact = _lock_contact(actor, contact)
    cpk = company.pk if isinstance(company, Company) else int(company)
    company_obj = companies_visible_to(actor).filter(pk=cpk).first()
    if company_obj is None:
        raise PermissionDenied("You cannot link to this company.")
    role = clean_text(role, max_length=120)
    link, created = ContactCompany.objects.get_or_create(
        contact=contact, company=company_obj, defaults={"role": role}
    )
    if not created and link.role != role:
        before = link.role
        link.role = role
        link.save(update_fields=["role"])
        changes = {"before": {"role": before}, "after": {"role": role}}
    elif created:
        changes = {"after": {"company": company_obj.name, "role": role}}
    else:
        return link
    activity_record(
        actor=actor,
        verb="contact.company_linked",
        subject=contact,
        contact_id=contact.pk,
        company_id=company_obj.pk,
        changes=changes,
    )
    contacts_changed([contact.pk], what={"profile"})
    return link


@transaction.atomic
def contact_company_unlink(*, actor: User, contact: Contact | int, company: Company | int) -> None:
    require(actor, P.CONTACT_EDIT)
    contact = _lock_contact(actor, contact)
    cpk = company.pk if isinstance(company, Company) else int(company)
    deleted, _ = ContactCompany.objects.filter(contact=contact, company_id=cpk).delete()
    if deleted:
        activity_record(
            actor=actor,
            verb="contact.company_unlinked",
            subject=contact,
            contact_id=contact.pk,
            company_id=cpk,
        )
        contacts_changed([contact.pk], what={"profile"})
