"""Presentation helpers for the web templates (formatting only, no data access)."""

from __future__ import annotations

import datetime as dt
import zlib
from decimal import Decimal
from typing import Any

import phonenumbers
import pycountry
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

register = template.Library()

STAGE_TONES = {
    "subscriber": "slate",
    "lead": "blue",
    "mql": "indigo",
    "sql": "violet",
    "opportunity": "amber",
    "customer": "green",
    "evangelist": "teal",
    "churned": "red",
}
TIMELINE_ICONS = {
    "activity": "i-activity",
    "event": "i-cursor",
    "order": "i-cart",
    "ticket": "i-lifebuoy",
    "survey": "i-star",
    "note": "i-note",
}
TIMELINE_LABELS = {
    "activity": "Activity",
    "event": "Event",
    "order": "Order",
    "ticket": "Ticket",
    "survey": "Survey",
    "note": "Note",
}


@register.filter
def phone_display(value: str) -> str:
    """An E.164 number in international format (+49 30 1234567)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@register.filter
def country_name(code: str) -> str:
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code.upper())
    return str(getattr(country, "common_name", None) or country.name) if country else code


@register.filter
def initials(name: str) -> str:
    parts = [p for p in str(name or "").replace("@", " ").split() if p[:1].isalnum()]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


@register.filter
def tone(value: Any) -> int:
    """A stable colour slot 0-7 for avatars and tags (classes .tone-0 ... .tone-7)."""
    return zlib.crc32(str(value).encode()) % 8


@register.filter
def stage_tone(stage: str) -> str:
    return STAGE_TONES.get(stage or "", "slate")


@register.filter
def timeline_icon(kind: str) -> str:
    return TIMELINE_ICONS.get(kind, "i-activity")


@register.filter
def timeline_label(kind: str) -> str:
    return TIMELINE_LABELS.get(kind, kind.capitalize())


@register.filter
def changed_fields(meta: dict[str, Any]) -> str:
    """The field names an activity changed ("email, lifecycle stage"), never their values.

    Values may be sensitive (phone, birthday); names alone are safe for every role.
    """
    changes = (meta or {}).get("changes") or {}
    keys: list[str] = []
    for side in ("after", "before"):
        for key in changes.get(side) or {}:
            if key not in keys:
                keys.append(key)
    return ", ".join(k.replace("_", " ") for k in keys[:8]) + ("…" if len(keys) > 8 else "")


@register.filter
def custom_display(value: Any) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, Decimal):
        return format(value.normalize(), ",f")
    if isinstance(value, dt.date):
        return value.strftime("%-d %b %Y")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


@register.filter
def is_http_url(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


@register.simple_tag
def icon(name: str, extra_class: str = "") -> str:
    """An icon from the sprite in web/_icons.html (decorative: hidden from screen readers)."""
    return format_html(
        '<svg class="icon {}" aria-hidden="true" focusable="false"><use href="#{}"></use></svg>',
        extra_class,
        name,
    )


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    """``mapping[key]`` or "" (dict look-ups with a variable key)."""
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def activity_title(verb: str) -> str:
    """ "contact.company_linked" -> "Contact company linked"."""
    noun, _, action = (verb or "").partition(".")
    return f"{noun.replace('_', ' ').capitalize()} {action.replace('_', ' ')}".strip()


@register.filter
def ago(value: dt.datetime | None) -> str:
    """ "just now", "5 minutes ago", "3 days ago" (the exact time goes in a title)."""
    if value is None:
        return ""
    delta = timezone.now() - value
    if delta < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(value).split(',')[0]} ago"
