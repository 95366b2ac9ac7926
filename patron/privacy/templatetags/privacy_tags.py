"""Template tags of the privacy app: the "Privacy" card of the contact profile."""

from __future__ import annotations

from typing import Any

from django import template

from patron.core.permissions import P
from patron.privacy.selectors import can_erase, can_export

register = template.Library()


@register.inclusion_tag("web/privacy/_actions.html", takes_context=True)
def privacy_actions(context: Any, contact: Any) -> dict[str, Any]:
    """Export and erase buttons for a contact the page already fetched through its scoped
    selector; each shown only with its permissions (the views check them again)."""
    user = context.get("user")
    if contact is None or user is None or not getattr(user, "is_authenticated", False):
        return {"contact": contact}
    return {
        "contact": contact,
        "csrf_token": context.get("csrf_token"),
        "can_export": can_export(user),
        "can_erase": can_erase(user),
        "can_audit": user.has_perm_code(P.AUDIT_VIEW),
    }
