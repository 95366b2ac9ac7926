"""Privacy pages: erase a person (with a typed confirmation), the erasure record and log,
and the download of everything held about a person (GDPR Art. 15/17/20).

Every page reads through the privacy selectors and writes through the privacy services,
which check the permissions per object; a refusal is the 403 page (or 404 for a contact
out of the user's scope) and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.contacts.models import Contact
from patron.contacts.selectors import contact_get, require
from patron.core.permissions import P
from patron.privacy.selectors import erasure_get, erasures_visible_to, require_export
from patron.privacy.services import contact_erase, contact_export
from patron.web.views._common import AuthedRequest, cursor_values, page_cursor, web_view

PAGE_SIZE = 50


def confirmation_matches(contact: Contact, typed: str) -> bool:
    """The typed text names the contact: its display name or its email (any case)."""
    typed = " ".join(typed.split()).casefold()
    if not typed:
        return False
    names = {contact.display_name, contact.email, contact.full_name}
    return any(typed == " ".join(n.split()).casefold() for n in names if n and n.strip())


@web_view("contacts")
@require_http_methods(["GET", "POST"])
def contact_erase_page(request: AuthedRequest, pk: int) -> HttpResponse:
    contact = contact_get(request.user, pk)
    require(request.user, P.CONTACT_DELETE)
    error = ""
    if request.method == "POST":
        if confirmation_matches(contact, request.POST.get("confirm", "")[:400]):
            record = contact_erase(actor=request.user, contact=contact)
            messages.success(request, f"Contact #{record.contact_id} was erased.")
            return redirect("privacy:erasure", pk=record.pk)
        error = "Type the contact's name or email exactly as shown to confirm."
    return render(
        request,
        "web/privacy/erase_confirm.html",
        {"contact": contact, "error": error},
        status=422 if error else 200,
    )


@web_view("contacts")
@require_POST
def contact_export_download(request: AuthedRequest, pk: int) -> HttpResponse:
    require_export(request.user)
    result = contact_export(actor=request.user, contact=contact_get(request.user, pk))
    response = StreamingHttpResponse(result.body, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response  # type: ignore[return-value]


@web_view("contacts")
@require_GET
def erasure_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    record = erasure_get(request.user, pk)
    return render(
        request,
        "web/privacy/erasure_detail.html",
        {
            "record": record,
            "removed": sorted((record.removed or {}).items()),
            "can_audit": request.user.has_perm_code(P.AUDIT_VIEW),
        },
    )


@web_view("contacts")
@require_GET
def erasure_list(request: AuthedRequest) -> HttpResponse:
    qs = erasures_visible_to(request.user).order_by("-id")
    after = cursor_values(request.GET.get("cursor"), "erasures")
    if after and isinstance(after[0], int):
        qs = qs.filter(id__lt=after[0])
    rows = list(qs[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    entries = [
        {"record": r, "total": sum(int(v) for v in (r.removed or {}).values())} for r in rows
    ]
    return render(
        request,
        "web/privacy/erasures.html",
        {
            "entries": entries,
            "next_cursor": page_cursor("erasures", [rows[-1].pk]) if more and rows else "",
        },
    )
