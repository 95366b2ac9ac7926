"""Admin for the consent ledger: read-only (append-only; record consent via services)."""

from __future__ import annotations

from django.contrib import admin

from patron.core.admin_base import LargeTableAdmin, ViewOnlyAdmin
from patron.privacy.models import Consent


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
