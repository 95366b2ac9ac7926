"""Admin for the workspace settings and the (read-only) activity log."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from patron.core.admin_base import LargeTableAdmin, ViewOnlyAdmin, choices_filter
from patron.core.models import Activity, Workspace
from patron.core.permissions import PermissionDenied
from patron.core.services import workspace_update


class WorkspaceForm(forms.ModelForm):
    request: HttpRequest

    class Meta:
        model = Workspace
        fields = ("name", "restricted_visibility", "default_region", "lifecycle_stages")

    def clean(self) -> Any:
        cleaned: Any = super().clean()
        if not self.errors and self.instance.pk is not None:
            changed = {f: cleaned[f] for f in self.changed_data if f in cleaned}
            if changed:
                try:
                    workspace_update(actor=self.request.user, **changed)
                except (ValueError, PermissionDenied) as exc:
                    raise ValidationError(str(exc)) from exc
        return cleaned


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    """The one settings row; saved through workspace_update (validated and logged)."""

    form = WorkspaceForm
    list_display = ("name", "restricted_visibility", "default_region", "updated_at")
    readonly_fields = ("updated_at",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        return type(base.__name__, (base,), {"request": request})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.refresh_from_db()  # written by workspace_update during validation

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


SUBJECT_TYPES = [
    (k, k)
    for k in (
        "contact",
        "company",
        "note",
        "order",
        "ticket",
        "surveyresponse",
        "consent",
        "user",
        "apikey",
        "source",
        "workspace",
    )
]


@admin.register(Activity)
class ActivityAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """The activity log is append-only: no add, change or delete here."""

    list_display = (
        "created_at",
        "actor_label",
        "verb",
        "subject_type",
        "subject_id",
        "subject_label",
        "contact_id",
    )
    list_filter = (choices_filter("subject_type", "subject type", SUBJECT_TYPES),)
    search_fields = ("=verb", "actor_label", "subject_label")
    ordering = ("-id",)
