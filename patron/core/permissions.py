"""Permission codes: named constants, grouped into roles (see accounts.roles)."""

from __future__ import annotations

from enum import StrEnum


class P(StrEnum):
    CONTACT_VIEW = "contact.view"
    CONTACT_CREATE = "contact.create"
    CONTACT_EDIT = "contact.edit"
    CONTACT_DELETE = "contact.delete"
    CONTACT_VIEW_SENSITIVE = "contact.view_sensitive"
    CONTACT_MERGE = "contact.merge"
    QUALITY_VIEW = "quality.view"
    COMPANY_VIEW = "company.view"
    COMPANY_CREATE = "company.create"
    COMPANY_EDIT = "company.edit"
    COMPANY_DELETE = "company.delete"
    NOTE_ADD = "note.add"
    TAG_MANAGE = "tag.manage"
    LIST_MANAGE = "list.manage"
    ORDER_VIEW = "order.view"
    ORDER_EDIT = "order.edit"
    TICKET_VIEW = "ticket.view"
    TICKET_EDIT = "ticket.edit"
    EVENT_VIEW = "event.view"
    CONSENT_VIEW = "consent.view"
    CONSENT_RECORD = "consent.record"
    CUSTOM_FIELD_MANAGE = "customfield.manage"
    EXPORT = "data.export"
    IMPORT = "data.import"
    SEGMENT_VIEW = "segment.view"
    SEGMENT_MANAGE = "segment.manage"
    AUDIT_VIEW = "audit.view"
    USER_MANAGE = "user.manage"
    APIKEY_MANAGE = "apikey.manage"
    SETTINGS_MANAGE = "settings.manage"
    WEBHOOK_MANAGE = "webhook.manage"


ALL_PERMISSIONS: frozenset[str] = frozenset(p.value for p in P)

_READ = {
    P.CONTACT_VIEW,
    P.COMPANY_VIEW,
    P.ORDER_VIEW,
    P.TICKET_VIEW,
    P.EVENT_VIEW,
    P.CONSENT_VIEW,
}

# Role key -> (label, permissions, restricted by the workspace's record-visibility setting)
DEFAULT_ROLES: dict[str, tuple[str, frozenset[str], bool]] = {
    "admin": ("Administrator", ALL_PERMISSIONS, False),
    "manager": (
        "Manager",
        frozenset(
            ALL_PERMISSIONS
            - {P.USER_MANAGE, P.APIKEY_MANAGE, P.SETTINGS_MANAGE, P.AUDIT_VIEW, P.WEBHOOK_MANAGE}
        ),
        False,
    ),
    "sales": (
        "Sales",
        frozenset(
            _READ
            | {
                P.CONTACT_CREATE,
                P.CONTACT_EDIT,
                P.CONTACT_VIEW_SENSITIVE,
                P.COMPANY_CREATE,
                P.COMPANY_EDIT,
                P.NOTE_ADD,
                P.TAG_MANAGE,
                P.ORDER_EDIT,
                P.CONSENT_RECORD,
                P.SEGMENT_VIEW,
            }
        ),
        True,
    ),
    "marketing": (
        "Marketing",
        frozenset(
            _READ
            | {
                P.CONTACT_CREATE,
                P.CONTACT_EDIT,
                P.NOTE_ADD,
                P.TAG_MANAGE,
                P.LIST_MANAGE,
                P.CONSENT_RECORD,
                P.EXPORT,
                P.IMPORT,
                P.QUALITY_VIEW,
                P.SEGMENT_VIEW,
                P.SEGMENT_MANAGE,
            }
        ),
        False,
    ),
    "support": (
        "Support",
        frozenset(
            _READ
            | {
                P.CONTACT_EDIT,
                P.NOTE_ADD,
                P.TICKET_EDIT,
                P.CONTACT_VIEW_SENSITIVE,
                P.SEGMENT_VIEW,
            }
        ),
        False,
    ),
    "readonly": ("Read-only", frozenset({P.CONTACT_VIEW, P.COMPANY_VIEW}), False),
}


class PermissionDenied(Exception):
    """Raised by services when the actor lacks a permission or the object is out of scope."""

    def __init__(self, message: str = "You do not have permission to do this.") -> None:
        super().__init__(message)
        self.message = message
