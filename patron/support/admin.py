"""Admin for support tickets (through the ticket services) and survey responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from patron.core.admin_base import (
    LargeTableAdmin,
    ServiceForm,
    ServiceFormAdmin,
    ViewOnlyAdmin,
    form_changes,
)
from patron.support.models import SurveyResponse, Ticket
from patron.support.services import (
    TICKET_CREATE_KEYS,
    ticket_create,
    ticket_delete,
    ticket_update,
)

FORM_FIELDS = tuple(k.removesuffix("_id") if k != "external_id" else k for k in TICKET_CREATE_KEYS)


class TicketForm(ServiceForm):
    class Meta:
        model = Ticket
        fields = FORM_FIELDS

    def service_data(self) -> dict[str, Any]:
        return form_changes(self, TICKET_CREATE_KEYS)


@admin.register(Ticket)
class TicketAdmin(ServiceFormAdmin, LargeTableAdmin):
    form = TicketForm
    list_display = (
        "subject",
        "contact",
        "status",
        "priority",
        "channel",
        "assignee",
        "opened_at",
        "resolved_at",
    )
    list_filter = ("status", "priority", "channel", "assignee")
    list_select_related = ("contact", "assignee")
    search_fields = ("subject", "=external_id")
    raw_id_fields = ("contact",)
    ordering = ("-id",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # A ticket stays with its contact; resolved_at follows the status.
        return ("contact", "resolved_at") if obj is not None else ("resolved_at",)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*FORM_FIELDS, "resolved_at"]

    def create(self, request: HttpRequest, data: Mapping[str, Any]) -> Ticket:
        return ticket_create(actor=request.user, data=data)  # type: ignore[arg-type]

    def update(self, request: HttpRequest, obj: Ticket, data: Mapping[str, Any]) -> Ticket:
        if not data:
            return obj
        data = {k: v for k, v in data.items() if k != "contact_id"}
        return ticket_update(actor=request.user, ticket=obj.pk, data=data)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Ticket) -> None:
        ticket_delete(actor=request.user, ticket=obj.pk)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            ticket_delete(actor=request.user, ticket=pk)  # type: ignore[arg-type]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """What customers answered: recorded by the API or imports, not edited by hand."""

    list_display = ("kind", "score", "contact", "ticket", "responded_at", "comment")
    list_filter = ("kind", "score")
    list_select_related = ("contact", "ticket")
    search_fields = ("comment",)
    raw_id_fields = ("contact", "ticket")
    ordering = ("-id",)
