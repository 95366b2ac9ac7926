"""Company pages: list with search, profile, create/edit and notes."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.contacts.selectors import MASK, company_get, require
from patron.contacts.services import company_create, company_update, note_create
from patron.core.permissions import P
from patron.web.forms import CompanyForm, NoteForm
from patron.web.selectors import (
    companies_page,
    companies_search,
    company_activity,
    company_notes,
    company_people,
)
from patron.web.views._common import (
    AuthedRequest,
    cursor_values,
    custom_rows,
    is_htmx,
    page_cursor,
    service_form_page,
    web_view,
)

PAGE_SIZE = 50
CURSOR_KIND = "companies:name"


@require_GET
@web_view("companies")
def company_list(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    q = request.GET.get("q", "")[:200]
    after = cursor_values(request.GET.get("after"), CURSOR_KIND)
    qs = companies_search(actor, q)
    try:
        rows, nxt = companies_page(qs, after=after, size=PAGE_SIZE)
    except ValidationError:
        after = None
        rows, nxt = companies_page(qs, after=None, size=PAGE_SIZE)
    context: dict[str, Any] = {
        "rows": rows,
        "q": q,
        "next_cursor": page_cursor(CURSOR_KIND, nxt) if nxt else "",
        "paged": after is not None,
        "can_create": actor.has_perm_code(P.COMPANY_CREATE),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "company-results":
        return render(request, "web/companies/_results.html", context)
    return render(request, "web/companies/list.html", context)


@require_GET
@web_view("companies")
def company_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    company = company_get(actor, pk)
    return render(
        request,
        "web/companies/detail.html",
        {
            "company": company,
            "people": list(company_people(actor, company)),
            "notes": list(company_notes(actor, company)),
            "activity": list(company_activity(actor, company)),
            "tags": list(company.tags.order_by("name")),
            "custom_rows": custom_rows(actor, company, "company"),
            "can_edit": actor.has_perm_code(P.COMPANY_EDIT),
            "can_note": actor.has_perm_code(P.NOTE_ADD),
            "note_form": NoteForm(),
            "mask": MASK,
        },
    )


@require_POST
@web_view("companies")
def company_note_add(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    company = company_get(actor, pk)
    require(actor, P.NOTE_ADD)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            note_create(actor=actor, company=company, body=form.cleaned_data["body"])
        except ValidationError as exc:
            for msgs in exc.message_dict.values():
                for msg in msgs:
                    form.add_error("body", msg)
        else:
            messages.success(request, "Note added.")
            return redirect("web:company_detail", pk=company.pk)
    messages.error(
        request, " ".join(str(e) for e in form.errors.get("body") or ["Note not saved."])
    )
    return redirect("web:company_detail", pk=company.pk)


@require_http_methods(["GET", "POST"])
@web_view("companies")
def company_new(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    require(actor, P.COMPANY_CREATE)

    def done(obj: Any, data: dict[str, Any]) -> HttpResponse:
        messages.success(request, f"{obj.name} was added.")
        return redirect("web:company_detail", pk=obj.pk)

    return service_form_page(
        request,
        CompanyForm(request.POST or None, actor=actor),
        save=lambda data: company_create(actor=actor, data=data),
        done=done,
        context={
            "title": "New company",
            "submit": "Create company",
            "cancel_url": reverse("web:companies"),
            "crumbs": [("Companies", reverse("web:companies"))],
        },
    )


@require_http_methods(["GET", "POST"])
@web_view("companies")
def company_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    company = company_get(actor, pk)
    require(actor, P.COMPANY_EDIT)

    def save(data: dict[str, Any]) -> None:
        if data:
            company_update(actor=actor, company=company, data=data)

    def done(_: Any, data: dict[str, Any]) -> HttpResponse:
        messages.success(request, "Changes saved." if data else "Nothing changed.")
        return redirect("web:company_detail", pk=company.pk)

    return service_form_page(
        request,
        CompanyForm(request.POST or None, actor=actor, instance=company),
        save=save,
        done=done,
        context={
            "title": f"Edit {company.name}",
            "submit": "Save changes",
            "cancel_url": reverse("web:company_detail", args=[company.pk]),
            "crumbs": [
                ("Companies", reverse("web:companies")),
                (company.name, reverse("web:company_detail", args=[company.pk])),
            ],
            "crumb_current": "Edit",
        },
    )
