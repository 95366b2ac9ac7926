from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from patron.core.permissions import P

#: (section key, label, url name, permission, icon id): only sections that exist.
NAV = [
    ("contacts", "Contacts", "web:contacts", P.CONTACT_VIEW, "i-users"),
    ("companies", "Companies", "web:companies", P.COMPANY_VIEW, "i-building"),
    ("segments", "Segments", "segments:list", P.SEGMENT_VIEW, "i-tag"),
    ("quality", "Data quality", "hygiene:quality", P.QUALITY_VIEW, "i-shield"),
    ("sources", "Sources", "events:sources", P.SETTINGS_MANAGE, "i-activity"),
    ("webhooks", "Webhooks", "webhooks:list", P.WEBHOOK_MANAGE, "i-link"),
]


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items = []
    if user is not None and user.is_authenticated:
        items = [
            {"key": key, "label": label, "url": url, "icon": icon}
            for key, label, url, perm, icon in NAV
            if user.has_perm_code(perm)
        ]
    return {"nav_section": getattr(request, "nav_section", ""), "nav_items": items}
