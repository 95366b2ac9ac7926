"""Admin for contacts, companies, custom fields, tags, lists and notes.

Contacts and companies are created, changed and deleted through their write services
(normalised, permission-checked, written to the activity log). Foreign keys to contacts
and companies are raw ids: there can be millions of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from patron.contacts.models import (
    Company,
    Contact,
    ContactCompany,
    ContactIdentity,
    ContactList,
    ContactListMember,
    CustomField,
    CustomFieldValue,
    Note,
    Tag,
)
from patron.contacts.services import (
    company_create,
    company_delete,
    company_update,
    contact_create,
    contact_delete,
    contact_update,
)
from patron.contacts.services._common import COMPANY_FIELDS, CONTACT_FIELDS
from patron.core.admin_base import (
    LargeTableAdmin,
    ServiceForm,
    ServiceFormAdmin,
    ViewOnlyInline,
)


def _service_data(form: ServiceForm, fields: tuple[str, ...]) -> dict[str, Any]:
    """Service input from a model form: what changed (edit) or what was filled (add)."""
    cleaned = form.cleaned_data
    if form.instance.pk is not None:
        names = list(form.changed_data)
    else:
        names = [n for n in form.fields if n == "tags" or cleaned.get(n) not in (None, "")]
    data: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        value = cleaned.get(name)
        if name == "owner":
            data["owner_id"] = value.pk if value is not None else None
        elif name == "tags":
            data["tags"] = sorted(t.name for t in value or [])
        elif name in fields:
            data[name] = "" if value is None and name != "external_id" else value
    return data


class ContactForm(ServiceForm):
    class Meta:
        model = Contact
        fields = (*CONTACT_FIELDS, "owner", "tags")

    def service_data(self) -> dict[str, Any]:
        return _service_data(self, CONTACT_FIELDS)


class CompanyForm(ServiceForm):
    website = forms.URLField(max_length=300, required=False, assume_scheme="https")

    class Meta:
        model = Company
        fields = (*COMPANY_FIELDS, "owner", "tags")

    def service_data(self) -> dict[str, Any]:
        return _service_data(self, COMPANY_FIELDS)


class IdentityInline(ViewOnlyInline):
    model = ContactIdentity
    fields = ("kind", "value", "label", "first_seen", "last_seen")
    readonly_fields = fields


class MembershipInline(ViewOnlyInline):
    model = ContactCompany
    fields = ("company", "contact", "role", "is_primary", "created_at")
    readonly_fields = fields


class CustomValueInline(ViewOnlyInline):
    model = CustomFieldValue
    fields = ("field", "value_text", "value_number", "value_date", "value_bool")
    readonly_fields = fields


@admin.register(Contact)
class ContactAdmin(ServiceFormAdmin, LargeTableAdmin):
    form = ContactForm
    list_display = (
        "__str__",
        "email",
        "phone",
        "country",
        "lifecycle_stage",
        "owner",
        "source",
        "created_at",
    )
    list_filter = ("lifecycle_stage", "country", "owner", "tags")
    list_select_related = ("owner",)
    search_fields = ("search_text",)
    search_help_text = "Name, email, phone (digits) or external id; every word must match."
    ordering = ("-id",)
    filter_horizontal = ("tags",)
    readonly_fields = (
        "search_text",
        "email_match_key",
        "name_key",
        "invalid_fields",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            "Name",
            {
                "fields": (
                    ("prefix", "first_name", "middle_name", "last_name", "suffix"),
                    "full_name",
                )
            },
        ),
        ("Contact points", {"fields": ("email", "phone")}),
        (
            "Address",
            {
                "fields": (
                    "address_line1",
                    "address_line2",
                    ("postal_code", "city"),
                    "region",
                    "country",
                )
            },
        ),
        (
            "Profile",
            {"fields": (("language", "time_zone"), "birthday", "job_title", "lifecycle_stage")},
        ),
        ("Ownership", {"fields": ("owner", "source", "external_id", "tags")}),
        (
            "Data hygiene",
            {"classes": ("collapse",), "fields": readonly_fields[:4]},
        ),
        ("History", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (IdentityInline, MembershipInline, CustomValueInline)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Contact], search_term: str
    ) -> tuple[QuerySet[Contact], bool]:
        # search_text is stored lower-cased: a case-sensitive contains uses its index
        # (trigram on PostgreSQL), like the contacts selector does.
        for word in search_term.lower().split()[:5]:
            queryset = queryset.filter(search_text__contains=word.lstrip("+"))
        return queryset, False

    def create(self, request: HttpRequest, data: Mapping[str, Any]) -> Contact:
        return contact_create(actor=request.user, data=data)  # type: ignore[arg-type]

    def update(self, request: HttpRequest, obj: Contact, data: Mapping[str, Any]) -> Contact:
        if not data:
            return obj
        return contact_update(actor=request.user, contact=obj.pk, data=data)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        contact_delete(actor=request.user, contact=obj.pk)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            contact_delete(actor=request.user, contact=pk)  # type: ignore[arg-type]


@admin.register(Company)
class CompanyAdmin(ServiceFormAdmin, LargeTableAdmin):
    form = CompanyForm
    list_display = ("name", "domain", "industry", "size", "country", "owner", "created_at")
    list_filter = ("industry", "size", "country", "owner")
    list_select_related = ("owner",)
    search_fields = ("name", "=domain")
    ordering = ("-id",)
    filter_horizontal = ("tags",)
    readonly_fields = ("created_at", "updated_at")

    def create(self, request: HttpRequest, data: Mapping[str, Any]) -> Company:
        return company_create(actor=request.user, data=data)  # type: ignore[arg-type]

    def update(self, request: HttpRequest, obj: Company, data: Mapping[str, Any]) -> Company:
        if not data:
            return obj
        return company_update(actor=request.user, company=obj.pk, data=data)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Company) -> None:
        company_delete(actor=request.user, company=obj.pk)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Company]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            company_delete(actor=request.user, company=pk)  # type: ignore[arg-type]


@admin.register(ContactIdentity)
class ContactIdentityAdmin(LargeTableAdmin):
    list_display = ("value", "kind", "label", "contact", "first_seen", "last_seen")
    list_filter = ("kind",)
    list_select_related = ("contact",)
    search_fields = ("=value",)
    raw_id_fields = ("contact",)
    ordering = ("-id",)


@admin.register(ContactCompany)
class ContactCompanyAdmin(LargeTableAdmin):
    list_display = ("contact", "company", "role", "is_primary", "created_at")
    list_filter = ("is_primary",)
    list_select_related = ("contact", "company")
    search_fields = ("role", "company__name")
    raw_id_fields = ("contact", "company")
    ordering = ("-id",)


@admin.register(CustomField)
class CustomFieldAdmin(admin.ModelAdmin):
    list_display = ("label", "key", "entity", "type", "required", "sensitive")
    list_filter = ("entity", "type", "required", "sensitive")
    search_fields = ("key", "label")


@admin.register(CustomFieldValue)
class CustomFieldValueAdmin(LargeTableAdmin):
    list_display = ("field", "contact", "company", "value")
    list_filter = ("field",)
    list_select_related = ("field", "contact", "company")
    search_fields = ("=value_text",)
    raw_id_fields = ("contact", "company")
    ordering = ("-id",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "color", "created_at")
    search_fields = ("name",)


@admin.register(ContactList)
class ContactListAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "member_count", "created_at")
    list_select_related = ("owner",)
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactList]:
        return super().get_queryset(request).annotate(n_members=Count("contactlistmember"))

    @admin.display(description="members", ordering="n_members")
    def member_count(self, obj: Any) -> int:
        return int(obj.n_members)


@admin.register(ContactListMember)
class ContactListMemberAdmin(LargeTableAdmin):
    list_display = ("contact_list", "contact", "added_at")
    list_filter = ("contact_list",)
    list_select_related = ("contact_list", "contact")
    raw_id_fields = ("contact",)
    ordering = ("-id",)


@admin.register(Note)
class NoteAdmin(LargeTableAdmin):
    list_display = ("__str__", "contact", "company", "author", "created_at")
    list_select_related = ("contact", "company", "author")
    list_filter = ("author",)
    search_fields = ("body",)
    raw_id_fields = ("contact", "company")
    ordering = ("-id",)
