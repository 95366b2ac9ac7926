"""Admin for tracking sources, events and what the event processor derives (read-only).

Events are what was received; aggregates are rebuilt by the processor. Sources are
created with `patron source create` (the write key is shown once, there).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from patron.core.admin_base import LargeTableAdmin, ViewOnlyAdmin
from patron.events.models import (
    ContactEventCount,
    ContactEventSummary,
    ContactTraits,
    Event,
    IdentityConflict,
    RejectedMessage,
    Source,
)
from patron.events.services import source_set_active


@admin.register(Source)
class SourceAdmin(ViewOnlyAdmin):
    list_display = ("name", "key_prefix", "is_active", "rejected_count", "created_at", "rotated_at")
    list_filter = ("is_active",)
    search_fields = ("name",)
    exclude = ("key_hash", "previous_key_hash")
    actions = ("enable", "disable")

    def _set(self, request: HttpRequest, queryset: QuerySet[Source], active: bool) -> None:
        for source in queryset:
            source_set_active(actor=request.user, source=source, active=active)
        self.message_user(request, f"Updated {queryset.count()} source(s).", messages.SUCCESS)

    @admin.action(description="Enable selected sources")
    def enable(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        self._set(request, queryset, True)

    @admin.action(description="Disable selected sources (their keys are refused)")
    def disable(self, request: HttpRequest, queryset: QuerySet[Source]) -> None:
        self._set(request, queryset, False)


@admin.register(Event)
class EventAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = (
        "timestamp",
        "type",
        "label",
        "contact",
        "user_id",
        "anonymous_id",
        "source",
        "processed",
    )
    list_filter = ("type", "processed")
    list_select_related = ("contact",)
    search_fields = ("=user_id", "=anonymous_id", "=message_id", "=event")
    raw_id_fields = ("contact",)
    ordering = ("-id",)

    @admin.display(description="event / page")
    def label(self, obj: Event) -> str:
        return obj.event or obj.name


@admin.register(RejectedMessage)
class RejectedMessageAdmin(ViewOnlyAdmin):
    list_display = ("received_at", "source", "stage", "type", "reason")
    list_filter = ("stage", "source")
    list_select_related = ("source",)
    search_fields = ("reason", "=message_id")
    ordering = ("-id",)


@admin.register(ContactEventSummary)
class ContactEventSummaryAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = (
        "contact",
        "event_count",
        "page_views",
        "screen_views",
        "sessions",
        "first_seen",
        "last_seen",
    )
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    ordering = ("-last_seen",)


@admin.register(ContactEventCount)
class ContactEventCountAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = ("contact", "event", "count", "first_at", "last_at")
    list_select_related = ("contact",)
    search_fields = ("=event",)
    raw_id_fields = ("contact",)
    ordering = ("-id",)


@admin.register(ContactTraits)
class ContactTraitsAdmin(ViewOnlyAdmin, LargeTableAdmin):
    list_display = ("contact", "trait_count", "updated_at")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)

    @admin.display(description="traits")
    def trait_count(self, obj: Any) -> int:
        return len(obj.traits or {})


@admin.register(IdentityConflict)
class IdentityConflictAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Resolved by merging (hygiene merge service) or dismissing, not edited here."""

    list_display = ("created_at", "kind", "value", "survivor", "merged", "status")
    list_filter = ("status", "kind")
    list_select_related = ("survivor", "merged")
    search_fields = ("=value",)
    raw_id_fields = ("survivor", "merged", "event")
    ordering = ("-id",)
