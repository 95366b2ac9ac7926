"""Admin for the consent ledger and erasure records: read-only (written by services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from patron.core.admin_base import LargeTableAdmin, ViewOnlyAdmin
from patron.privacy.models import Consent, Erasure, ErasureMatch


@admin.register(Consent)
class ConsentAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = (
        "contact",
        "purpose",
        "channel",
        "status",
        "lawful_basis",
        "source",
        "wording_version",
        "recorded_at",
        "recorded_by",
    )
    list_filter = ("purpose", "channel", "status", "lawful_basis")
    list_select_related = ("contact", "recorded_by")
    search_fields = ("source", "wording_version")
    raw_id_fields = ("contact",)
    ordering = ("-id",)


class ErasureMatchInline(admin.TabularInline):
    model = ErasureMatch
    fields = ("digest",)
    readonly_fields = ("digest",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Erasure)
class ErasureAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Erasure records: who erased which contact id when, and how much went (no personal data)."""

    list_display = ("contact_id", "actor_label", "erased_at")
    search_fields = ("=contact_id", "actor_label")
    readonly_fields = ("contact_id", "actor", "actor_label", "removed", "erased_at")
    ordering = ("-id",)
    inlines = (ErasureMatchInline,)


@admin.register(ErasureMatch)
class ErasureMatchAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = ("digest", "erasure")
    search_fields = ("=digest",)
    raw_id_fields = ("erasure",)
    ordering = ("-id",)
