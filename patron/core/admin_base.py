"""Shared pieces of the Django admin (a back office for superusers, not the main UI).

- ``ViewOnlyAdmin``: for append-only or derived tables (no add, change or delete).
- ``LargeTableAdmin``: for tables with millions of rows (no full COUNT(*) per page, an
  estimated row count on PostgreSQL when the list is not filtered).
- ``ServiceFormAdmin``: saves through the app's write services, so admin edits are
  normalised, permission-checked and written to the activity log like any other edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db import connection, models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from patron.core.permissions import PermissionDenied

ESTIMATE_ABOVE = 100_000


class EstimatedCountPaginator(Paginator):
    """Paginator that uses PostgreSQL's row estimate for big, unfiltered tables."""

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        qs = self.object_list
        if (
            connection.vendor == "postgresql"
            and isinstance(qs, QuerySet)
            and not qs.query.where
            and not qs.query.distinct
        ):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                    [qs.model._meta.db_table],
                )
                row = cursor.fetchone()
            if row and row[0] and row[0] > ESTIMATE_ABOVE:
                return int(row[0])
        return super().count


class LargeTableAdmin(admin.ModelAdmin):
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records nobody edits by hand: append-only logs and derived aggregates."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ViewOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def choices_filter(field: str, title: str, choices: list[tuple[str, str]]) -> type:
    """A list filter with fixed options (no SELECT DISTINCT over a big table)."""

    class ChoicesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
            value = self.value()
            return queryset.filter(**{field: value}) if value else queryset

    ChoicesFilter.title = title
    return ChoicesFilter


class ServiceForm(forms.ModelForm):
    """A model form whose save is a write service, run while the form is validated.

    Running the service in ``clean()`` turns its ValidationError / PermissionDenied into
    form errors. The admin's change view runs in one transaction, so the write commits
    only with the rest of the request.
    """

    request: HttpRequest
    service: Callable[..., models.Model]  # set by ServiceFormAdmin.get_form
    saved: models.Model | None = None

    def service_data(self) -> dict[str, Any]:
        raise NotImplementedError

    def clean(self) -> Any:
        cleaned: Any = super().clean()
        if self.errors:
            return cleaned
        try:
            with transaction.atomic():
                self.saved = self.service(self.service_data())
        except ValidationError as exc:
            self._add_service_errors(exc)
        except PermissionDenied as exc:
            raise ValidationError(exc.message) from exc
        except ObjectDoesNotExist as exc:
            raise ValidationError(str(exc) or "No such record.") from exc
        return cleaned

    def _add_service_errors(self, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            raise exc
        for key, errors in exc.message_dict.items():
            name = key.removesuffix("_id")
            target = name if name in self.fields else None
            for message in errors:
                self.add_error(target, message if target else f"{key}: {message}")

    def validate_unique(self) -> None:
        """The service checks uniqueness; re-checking would see the row it just wrote."""


def form_changes(form: forms.ModelForm, keys: tuple[str, ...]) -> dict[str, Any]:
    """Service input from a model form: the changed fields (edit) or the filled ones (add).

    Foreign keys become ``<name>_id`` when the service takes ids (e.g. ``contact_id``).
    """
    cleaned = form.cleaned_data
    if form.instance.pk is not None:
        names = [n for n in form.changed_data if n in cleaned]
    else:
        names = [n for n in form.fields if cleaned.get(n) not in (None, "")]
    data: dict[str, Any] = {}
    for name in names:
        value = cleaned.get(name)
        if f"{name}_id" in keys:
            data[f"{name}_id"] = value.pk if value is not None else None
        elif name in keys:
            data[name] = value
    return data


class ServiceFormAdmin(admin.ModelAdmin):
    """Admin whose add/change goes through ``create``/``update`` services."""

    form: type[ServiceForm]

    def create(self, request: HttpRequest, data: Mapping[str, Any]) -> models.Model:
        raise NotImplementedError

    def update(self, request: HttpRequest, obj: Any, data: Mapping[str, Any]) -> models.Model:
        raise NotImplementedError

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        base = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        def service(form: ServiceForm, data: Mapping[str, Any]) -> models.Model:
            if form.instance.pk is None:
                return model_admin.create(request, data)
            return model_admin.update(request, form.instance, data)

        return type(base.__name__, (base,), {"service": service, "request": request})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        saved = form.saved
        if saved is not None:
            obj.pk = saved.pk
            for field in obj._meta.concrete_fields:
                setattr(obj, field.attname, getattr(saved, field.attname))

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The delete service checks the permission and logs the deletion; rows removed
        # with the record (its events, consents...) need no admin permission of their own.
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Many-to-many values went to the service; only inlines are saved here.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
