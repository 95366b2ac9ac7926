"""Request and response schemas of the contacts, companies and notes API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from patron.core.api_schemas import Filter, Id, InputSchema, IsoDate, PageQuery, page_schema

Text = str | None
TagList = list[str] | None
ValueList = list[str] | None
CONTACT_SORTS = ("id", "name", "first_name", "email", "created", "updated", "stage", "country")
ContactSort = Literal[
    "id", "-id", "name", "-name", "first_name", "-first_name", "email", "-email",
    "created", "-created", "updated", "-updated", "stage", "-stage", "country", "-country",
]  # fmt: skip


class ContactIn(InputSchema):
    """A contact's fields. On create, give at least a name, an email or a phone; on PATCH,
    only the fields to change (``null`` or ``""`` clears a field)."""

    full_name: Text = None
    prefix: Text = None
    first_name: Text = None
    middle_name: Text = None
    last_name: Text = None
    suffix: Text = None
    email: Text = None
    phone: Text = None
    address_line1: Text = None
    address_line2: Text = None
    city: Text = None
    region: Text = None
    postal_code: Text = None
    country: Text = Field(None, description="ISO 3166 code or country name.")
    language: Text = None
    time_zone: Text = None
    birthday: IsoDate | None = None
    job_title: Text = None
    lifecycle_stage: Text = None
    source: Text = None
    external_id: Text = Field(None, description="Your system's id; unique when set.")
    owner_id: Id | None = Field(None, description="The owning user (restricted roles: self).")
    tags: TagList = Field(None, max_length=100, description="Replaces the contact's tags.")
    emails: ValueList = Field(None, max_length=20, description="Further email addresses.")
    phones: ValueList = Field(None, max_length=20, description="Further phone numbers.")
    custom: dict[str, Any] | None = Field(
        None, max_length=200, description="Custom field values by key."
    )


class CompanyRef(Schema):
    id: int
    name: str
    role: str


class ContactOut(Schema):
    """A contact. Sensitive values read "•••" for roles without contact.view_sensitive."""

    id: int
    display_name: str
    full_name: str
    prefix: str
    first_name: str
    middle_name: str
    last_name: str
    suffix: str
    email: str
    phone: str
    emails: list[str]
    phones: list[str]
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    language: str
    time_zone: str
    birthday: str | None
    job_title: str
    lifecycle_stage: str
    source: str
    external_id: str | None
    owner_id: int | None
    tags: list[str]
    companies: list[CompanyRef]
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class ContactQuery(PageQuery):
    q: Filter = Field("", description="Words in the name, email or phone.")
    email: Filter = ""
    external_id: Filter = ""
    tag: Filter = ""
    stage: Filter = ""
    owner: str = Field("", pattern=r"^(|me|none|[1-9][0-9]{0,17})$", description="id|me|none")
    country: Filter = ""
    company_id: Id | None = None
    user_id: Filter = Field("", description="Contacts holding this tracking user id.")
    anonymous_id: Filter = Field("", description="Contacts holding this anonymous id.")
    sort: ContactSort = "id"


class CompanyLinkIn(InputSchema):
    company_id: Id
    role: str = Field("", max_length=120)


class TimelineItemOut(Schema):
    at: dt.datetime
    kind: str
    title: str
    detail: str
    meta: dict[str, Any]


class TimelineOut(Schema):
    items: list[TimelineItemOut]


class TimelineQuery(Schema):
    limit: int = Field(100, ge=1, le=500)
    before: dt.datetime | None = Field(None, description="Only items before this time.")


class CompanyIn(InputSchema):
    """A company's fields. ``name`` is required on create; PATCH changes only what is given."""

    name: Text = None
    domain: Text = None
    industry: Text = None
    size: Text = None
    employees: int | None = Field(None, ge=0, le=2_147_483_647)
    annual_revenue: Decimal | None = Field(None, ge=0)
    phone: Text = None
    website: Text = None
    address_line1: Text = None
    address_line2: Text = None
    city: Text = None
    region: Text = None
    postal_code: Text = None
    country: Text = None
    external_id: Text = None
    owner_id: Id | None = None
    tags: TagList = Field(None, max_length=100)
    custom: dict[str, Any] | None = Field(None, max_length=200)


class CompanyOut(Schema):
    id: int
    name: str
    domain: str
    industry: str
    size: str
    employees: int | None
    annual_revenue: Decimal | None
    phone: str
    website: str
    address_line1: str
    address_line2: str
    city: str
    region: str
    postal_code: str
    country: str
    external_id: str | None
    owner_id: int | None
    tags: list[str]
    custom: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class CompanyQuery(PageQuery):
    q: Filter = Field("", description="Part of the name or domain.")
    domain: Filter = ""
    external_id: Filter = ""
    tag: Filter = ""
    owner: str = Field("", pattern=r"^(|me|none|[1-9][0-9]{0,17})$", description="id|me|none")
    country: Filter = ""


class NoteIn(InputSchema):
    """A plain-text note on exactly one contact or company."""

    contact_id: Id | None = None
    company_id: Id | None = None
    body: str = Field(..., description="Plain text (never rendered as HTML).")


class NoteOut(Schema):
    id: int
    contact_id: int | None
    company_id: int | None
    body: str
    author_id: int | None
    author: str
    created_at: dt.datetime
    updated_at: dt.datetime


class NoteQuery(PageQuery):
    contact_id: Id | None = None
    company_id: Id | None = None


ContactPage = page_schema(ContactOut, "ContactPage")
CompanyPage = page_schema(CompanyOut, "CompanyPage")
NotePage = page_schema(NoteOut, "NotePage")
