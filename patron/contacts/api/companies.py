"""/api/v1/companies: list (filters, keyset pages), get, create, patch, delete."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from patron.contacts.api.schemas import CompanyIn, CompanyOut, CompanyPage, CompanyQuery
from patron.contacts.api.serialize import companies_out
from patron.contacts.models import Company
from patron.contacts.selectors import companies_visible_to, company_get
from patron.contacts.services import company_create, company_delete, company_update
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, PathId

router = Router(tags=["companies"])


def companies_filter(actor: Any, f: CompanyQuery) -> QuerySet[Company]:
    """Companies the actor sees, narrowed by a fixed set of filters (never raw lookups)."""
    qs = companies_visible_to(actor)
    for word in f.q.split()[:5]:
        qs = qs.filter(Q(name__icontains=word) | Q(domain__icontains=word))
    if f.domain:
        qs = qs.filter(domain=f.domain.strip().lower().removeprefix("www."))
    if f.external_id:
        qs = qs.filter(external_id=f.external_id)
    if f.tag:
        qs = qs.filter(tags__name=f.tag)
    if f.owner == "me":
        qs = qs.filter(owner=actor)
    elif f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner:
        qs = qs.filter(owner_id=int(f.owner))
    if f.country:
        qs = qs.filter(country=f.country.strip().upper()[:2])
    return qs


def _one(actor: Any, company_id: int) -> dict[str, Any]:
    return companies_out(actor, [company_get(actor, company_id)])[0]


@router.get("", response={200: CompanyPage, **ERRORS}, summary="List companies")
def list_companies(request: HttpRequest, filters: Query[CompanyQuery]) -> dict[str, Any]:
    """Companies you can see, oldest first, one keyset page at a time (`next_cursor`)."""
    actor = actor_of(request)
    page = keyset_page(
        companies_filter(actor, filters), cursor=filters.cursor, limit=filters.limit, order="id"
    )
    page["items"] = companies_out(actor, page["items"])
    return page


@router.post("", response={201: CompanyOut, **ERRORS}, summary="Create a company")
def create_company(request: HttpRequest, payload: CompanyIn) -> Status[dict[str, Any]]:
    actor = actor_of(request)
    company = company_create(actor=actor, data=payload.model_dump(exclude_unset=True))
    return Status(201, _one(actor, company.pk))


@router.get("/{company_id}", response={200: CompanyOut, **ERRORS}, summary="Get a company")
def get_company(request: HttpRequest, company_id: PathId) -> dict[str, Any]:
    return _one(actor_of(request), company_id)


@router.patch("/{company_id}", response={200: CompanyOut, **ERRORS}, summary="Update a company")
def update_company(request: HttpRequest, company_id: PathId, payload: CompanyIn) -> dict[str, Any]:
    """Change only the fields given."""
    actor = actor_of(request)
    company = company_get(actor, company_id)
    company_update(actor=actor, company=company, data=payload.model_dump(exclude_unset=True))
    return _one(actor, company.pk)


@router.delete("/{company_id}", response={204: None, **ERRORS}, summary="Delete a company")
def delete_company(request: HttpRequest, company_id: PathId) -> Status[None]:
    actor = actor_of(request)
    company_delete(actor=actor, company=company_get(actor, company_id))
    return Status(204, None)
