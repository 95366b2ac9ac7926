"""Template tags of the hygiene app: the likely-duplicate notice for the contact profile."""

from __future__ import annotations

from typing import Any

from django import template

from patron.hygiene.selectors import duplicates_notice_for

register = template.Library()


@register.inclusion_tag("hygiene/_duplicates_notice_body.html", takes_context=True)
def duplicates_notice(context: dict[str, Any], contact: Any) -> dict[str, Any]:
    """Likely duplicates of ``contact`` that the logged-in user may see (scoped selector)."""
    user = context.get("user")
    if contact is None or user is None or not getattr(user, "is_authenticated", False):
        return {"matches": [], "can_merge": False}
    return {"contact": contact, **duplicates_notice_for(user, contact)}


VERDICT_TONES = {
    "agree": "green",
    "swapped": "teal",
    "similar": "blue",
    "disagree": "red",
    "missing": "slate",
}


@register.filter
def verdict_tone(verdict: str) -> str:
    return VERDICT_TONES.get(str(verdict), "slate")


@register.filter
def field_label(name: str) -> str:
    return str(name).replace("_", " ").capitalize()


@register.filter
def percent(value: Any, digits: int = 0) -> str:
    try:
        return f"{float(value) * 100:.{int(digits)}f}%"
    except (TypeError, ValueError):
        return "—"
