"""Explicit HTML forms for contacts, companies and notes.

Forms only declare which fields a page offers and how they render. Validation and
normalisation live in the services: a form turns its input into the service's ``data``
(``to_service_data``) and maps the service's ``ValidationError.message_dict`` back onto
its fields (``add_service_errors``). Nothing else (``role``, ``is_staff``, ids of other
records) can be posted through them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable, Mapping
from decimal import Decimal
from functools import cache
from typing import Any

import pycountry
from django import forms
from django.forms.boundfield import BoundField

from patron.accounts.models import User
from patron.contacts.models import Company, Contact, CustomField
from patron.contacts.selectors import (
    can_see_sensitive,
    custom_fields_for,
    custom_values_of,
    lifecycle_stages,
    owners_for_filter,
)

CUSTOM_PREFIX = "custom."
NOTE_MAX = 20_000


@cache
def country_choices() -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda pair: pair[1])
    )


@cache
def time_zone_choices() -> tuple[tuple[str, str], ...]:
    return tuple((tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones()))


def _with_current(
    choices: Iterable[tuple[str, str]], current: str, empty: str
) -> list[tuple[str, str]]:
    """Choices with an empty first entry, keeping a stored value that is no longer offered."""
    out = [("", empty), *choices]
    if current and current not in {key for key, _ in out}:
        out.append((current, current))
    return out


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


def _plain(value: Any) -> Any:
    """A stored custom value as the form shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _custom_field(cf: CustomField, *, required: bool) -> forms.Field:
    common: dict[str, Any] = {"label": cf.label, "required": required}
    t = cf.type
    if t == CustomField.Type.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if t == CustomField.Type.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if t == CustomField.Type.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")], **common)
    if t == CustomField.Type.CHOICE:
        return forms.ChoiceField(choices=[("", "—"), *((c, c) for c in cf.choices)], **common)
    if t == CustomField.Type.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            choices=[(c, c) for c in cf.choices], widget=forms.CheckboxSelectMultiple, **common
        )
    if t == CustomField.Type.URL:
        return forms.CharField(
            widget=forms.URLInput(attrs={"placeholder": "https://"}),
            max_length=cf.max_length,
            **common,
        )
    return forms.CharField(max_length=cf.max_length, **common)


class ServiceForm(forms.Form):
    """Shared plumbing: sections for rendering, service data out, service errors in."""

    entity: str = ""
    #: service error key -> form field name, for keys the form shows under another name
    aliases: dict[str, str] = {}
    #: form field name -> service data key, where they differ
    data_keys: dict[str, str] = {}
    sections: list[tuple[str, list[str]]] = []

    def __init__(self, *args: Any, actor: User, instance: Any = None, **kwargs: Any) -> None:
        self.actor = actor
        self.instance = instance
        super().__init__(*args, **kwargs)
        self.custom_keys: list[str] = []
        self._add_custom_fields()

    # --- building -------------------------------------------------------------------

    def _add_custom_fields(self) -> None:
        sensitive_ok = can_see_sensitive(self.actor)
        creating = self.instance is None
        current = {} if creating else custom_values_of(self.actor, self.instance)
        for cf in custom_fields_for(self.entity):
            if cf.sensitive and not sensitive_ok and not creating:
                continue  # neither shown nor overwritten by someone who cannot see it
            name = CUSTOM_PREFIX + cf.key
            self.fields[name] = _custom_field(cf, required=cf.required)
            if cf.key in current:
                value = current[cf.key]
                self.initial[name] = (
                    [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
                )
            self.custom_keys.append(name)

    def grouped(self) -> list[tuple[str, list[BoundField]]]:
        """(section title, bound fields) in display order, empty sections left out."""
        out: list[tuple[str, list[BoundField]]] = []
        for title, names in self.sections:
            bound = [self[name] for name in names if name in self.fields]
            if bound:
                out.append((title, bound))
        if self.custom_keys:
            out.append(("Custom fields", [self[name] for name in self.custom_keys]))
        return out

    def _choices(
        self, name: str, choices: Iterable[tuple[str, str]], current: str, empty: str
    ) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _with_current(choices, current, empty)

    def _owner_field(self, current: User | None) -> None:
        """The owner select, only for roles that may give records to anyone."""
        if self.actor.is_restricted:
            return
        choices = [("", "— No owner —")]
        choices += [(str(u.pk), str(u)) for u in owners_for_filter(self.actor)]
        self.fields["owner"] = forms.ChoiceField(choices=choices, required=False, label="Owner")
        self.initial["owner"] = str(current.pk) if current else ""

    # --- service data ---------------------------------------------------------------

    def to_service_data(self) -> dict[str, Any]:
        """The service's ``data``: every field when creating, changed fields when editing."""
        names = list(self.fields) if self.instance is None else list(self.changed_data)
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name in names:
            value = self.cleaned_data.get(name)
            if name.startswith(CUSTOM_PREFIX):
                custom[name.removeprefix(CUSTOM_PREFIX)] = value
                continue
            data[self.data_keys.get(name, name)] = self.convert(name, value)
        if custom:
            data["custom"] = custom
        return data

    def convert(self, name: str, value: Any) -> Any:
        return value

    def add_service_errors(self, message_dict: Mapping[str, Iterable[str]]) -> None:
        """Put each service error next to the field it is about (or on top of the form)."""
        for key, messages in message_dict.items():
            field = self.aliases.get(key, key)
            if field in self.fields:
                for message in messages:
                    self.add_error(field, message)
            else:
                label = "" if key == "__all__" else key.replace("_", " ").capitalize() + ": "
                for message in messages:
                    self.add_error(None, f"{label}{message}")


class ContactForm(ServiceForm):
    entity = "contact"
    aliases = {
        "owner_id": "owner",
        "emails": "extra_emails",
        "phones": "extra_phones",
        "full_name": "first_name",
        "prefix": "first_name",
        "middle_name": "first_name",
        "suffix": "last_name",
    }
    data_keys = {"owner": "owner_id", "extra_emails": "emails", "extra_phones": "phones"}
    sections = [
        ("Person", ["first_name", "last_name", "job_title", "lifecycle_stage", "owner", "tags"]),
        ("Contact points", ["email", "phone", "extra_emails", "extra_phones"]),
        (
            "Address",
            ["address_line1", "address_line2", "city", "region", "postal_code", "country"],
        ),
        ("Preferences", ["language", "time_zone", "birthday"]),
    ]

    first_name = forms.CharField(max_length=120, required=False)
    last_name = forms.CharField(max_length=120, required=False)
    job_title = forms.CharField(max_length=200, required=False)
    lifecycle_stage = forms.ChoiceField(required=False, label="Lifecycle stage")
    tags = forms.CharField(
        required=False, help_text="Separate tags with commas.", widget=forms.TextInput()
    )
    email = forms.CharField(
        max_length=254, required=False, widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    extra_emails = forms.CharField(
        required=False,
        label="Further emails",
        help_text="One per line.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput({"type": "tel"}))
    extra_phones = forms.CharField(
        required=False,
        label="Further phones",
        help_text="One per line.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    address_line1 = forms.CharField(max_length=200, required=False, label="Address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=120, required=False)
    region = forms.CharField(max_length=120, required=False, label="Region / state")
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.ChoiceField(required=False)
    language = forms.CharField(
        max_length=16, required=False, widget=forms.TextInput({"placeholder": "e.g. en, de-AT"})
    )
    time_zone = forms.ChoiceField(required=False, label="Time zone")
    birthday = forms.CharField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, actor: User, instance: Contact | None = None, **kw: Any) -> None:
        super().__init__(*args, actor=actor, instance=instance, **kw)
        c = instance
        stages = [(s["key"], s["label"]) for s in lifecycle_stages()]
        self._choices("lifecycle_stage", stages, c.lifecycle_stage if c else "", "— None —")
        self._choices("country", country_choices(), c.country if c else "", "— Country —")
        self._choices("time_zone", time_zone_choices(), c.time_zone if c else "", "— Time zone —")
        self._owner_field(c.owner if c else (None if actor.is_restricted else actor))
        if c is not None and not can_see_sensitive(actor):
            # Editing what one cannot see would overwrite it blind: leave it out.
            for name in ("phone", "extra_phones", "birthday"):
                del self.fields[name]
        if c is not None:
            for name in (
                "first_name",
                "last_name",
                "job_title",
                "email",
                "phone",
                "address_line1",
                "address_line2",
                "city",
                "region",
                "postal_code",
                "language",
            ):
                self.initial[name] = getattr(c, name)
            self.initial["birthday"] = c.birthday.isoformat() if c.birthday else ""
            self.initial["tags"] = ", ".join(t.name for t in c.tags.order_by("name"))
            extra = {kind: [] for kind in ("email", "phone")}  # type: dict[str, list[str]]
            for ident in c.identities.filter(kind__in=("email", "phone")).order_by("id"):
                primary = c.email if ident.kind == "email" else c.phone
                if ident.value != primary:
                    extra[ident.kind].append(ident.value)
            self.initial["extra_emails"] = "\n".join(extra["email"])
            self.initial["extra_phones"] = "\n".join(extra["phone"])
            for name in ("lifecycle_stage", "country", "time_zone"):
                self.initial[name] = getattr(c, name)

    def convert(self, name: str, value: Any) -> Any:
        if name in ("extra_emails", "extra_phones"):
            return _lines(value)
        return value


COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-500", "501-1000", "1001-5000", "5000+"]


class CompanyForm(ServiceForm):
    entity = "company"
    aliases = {"owner_id": "owner"}
    data_keys = {"owner": "owner_id"}
    sections = [
        ("Company", ["name", "domain", "website", "industry", "size", "owner", "tags"]),
        ("Figures", ["employees", "annual_revenue"]),
        (
            "Contact and address",
            ["phone", "address_line1", "address_line2", "city", "region", "postal_code", "country"],
        ),
    ]

    name = forms.CharField(max_length=200)
    domain = forms.CharField(
        max_length=253, required=False, widget=forms.TextInput({"placeholder": "example.com"})
    )
    website = forms.CharField(
        max_length=300, required=False, widget=forms.URLInput({"placeholder": "https://"})
    )
    industry = forms.CharField(max_length=120, required=False)
    size = forms.ChoiceField(required=False, label="Company size")
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")
    employees = forms.CharField(required=False, widget=forms.NumberInput({"min": "0", "step": "1"}))
    annual_revenue = forms.CharField(
        required=False, label="Annual revenue", widget=forms.NumberInput({"step": "0.01"})
    )
    phone = forms.CharField(max_length=40, required=False, widget=forms.TextInput({"type": "tel"}))
    address_line1 = forms.CharField(max_length=200, required=False, label="Address")
    address_line2 = forms.CharField(max_length=200, required=False, label="Address line 2")
    city = forms.CharField(max_length=120, required=False)
    region = forms.CharField(max_length=120, required=False, label="Region / state")
    postal_code = forms.CharField(max_length=20, required=False)
    country = forms.ChoiceField(required=False)

    def __init__(self, *args: Any, actor: User, instance: Company | None = None, **kw: Any) -> None:
        super().__init__(*args, actor=actor, instance=instance, **kw)
        c = instance
        self._choices("size", ((s, s) for s in COMPANY_SIZES), c.size if c else "", "—")
        self._choices("country", country_choices(), c.country if c else "", "— Country —")
        self._owner_field(c.owner if c else (None if actor.is_restricted else actor))
        if c is not None:
            for name in (
                "name",
                "domain",
                "website",
                "industry",
                "size",
                "phone",
                "address_line1",
                "address_line2",
                "city",
                "region",
                "postal_code",
                "country",
            ):
                self.initial[name] = getattr(c, name)
            self.initial["employees"] = "" if c.employees is None else str(c.employees)
            self.initial["annual_revenue"] = (
                "" if c.annual_revenue is None else _plain(c.annual_revenue)
            )
            self.initial["tags"] = ", ".join(t.name for t in c.tags.order_by("name"))

    def convert(self, name: str, value: Any) -> Any:
        if name in ("employees", "annual_revenue"):
            return (value or "").strip() or None
        return value


class NoteForm(forms.Form):
    body = forms.CharField(
        max_length=NOTE_MAX,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Write a note…"}),
    )


class TagForm(forms.Form):
    tag = forms.CharField(max_length=80)
