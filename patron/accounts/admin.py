"""Admin for users, roles, teams and API keys."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from patron.accounts.models import ApiKey, Role, Team, User
from patron.accounts.services import apikey_revoke
from patron.core.permissions import P


@admin.register(User)
class PatronUserAdmin(UserAdmin):
    list_display = (
        "username",
        "email",
        "first_name",
        "last_name",
        "role",
        "team",
        "is_service",
        "is_staff",
        "is_active",
        "last_login",
    )
    list_filter = ("role", "team", "is_service", "is_staff", "is_superuser", "is_active")
    list_select_related = ("role", "team")
    fieldsets = (*UserAdmin.fieldsets, ("Patron", {"fields": ("role", "team", "is_service")}))  # type: ignore[misc]
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Patron", {"fields": ("role", "team")}))


class RoleForm(forms.ModelForm):
    permissions = forms.MultipleChoiceField(
        choices=[(p.value, p.value) for p in P],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Role
        fields = ("key", "name", "permissions", "restricted")

    def clean_permissions(self) -> list[str]:
        return sorted(self.cleaned_data["permissions"])


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    form = RoleForm
    list_display = ("name", "key", "restricted", "permission_count")
    list_filter = ("restricted",)
    search_fields = ("name", "key")

    @admin.display(description="permissions")
    def permission_count(self, obj: Role) -> int:
        return len(obj.permissions or [])


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "member_count", "created_at")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Team]:
        return super().get_queryset(request).annotate(n_members=Count("members"))

    @admin.display(description="members", ordering="n_members")
    def member_count(self, obj: Any) -> int:
        return int(obj.n_members)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made with `patron apikey create` (the secret is shown once, there).

    Only the prefix is ever shown; the hash never leaves the database.
    """

    list_display = (
        "name",
        "prefix",
        "user",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    list_select_related = ("user", "created_by")
    search_fields = ("name", "=prefix")
    fields = ("name", "prefix", "user", "created_by", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the key's activity stays attributable

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        n = 0
        for key in queryset.filter(revoked_at__isnull=True):
            apikey_revoke(actor=request.user, key=key)  # type: ignore[arg-type]
            n += 1
        self.message_user(request, f"Revoked {n} key(s).", messages.SUCCESS)
