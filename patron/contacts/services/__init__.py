"""Write services for contacts, companies, notes and lists (see the modules)."""

from patron.contacts.services._common import COMPANY_FIELDS, CONTACT_FIELDS
from patron.contacts.services.company import company_create, company_delete, company_update
from patron.contacts.services.contact import (
    contact_company_link,
    contact_company_unlink,
    contact_create,
    contact_delete,
    contact_tag,
    contact_untag,
    contact_update,
)
from patron.contacts.services.note import list_add_contacts, list_create, note_create

__all__ = [
    "COMPANY_FIELDS",
    "CONTACT_FIELDS",
    "company_create",
    "company_delete",
    "company_update",
    "contact_company_link",
    "contact_company_unlink",
    "contact_create",
    "contact_delete",
    "contact_tag",
    "contact_untag",
    "contact_update",
    "list_add_contacts",
    "list_create",
    "note_create",
]
