"""Contact pages: list with live search, 360° profile, create/edit, notes and tags."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.contacts.models import Contact
from patron.contacts.selectors import (
    MASK,
    ContactFilters,
    can_see_sensitive,
    contact_get,
    contacts_filter,
    identities_of,
    keyset,
    lifecycle_stages,
    owners_for_filter,
    require,
    tags_all,
)
from patron.contacts.services import (
    contact_create,
    contact_tag,
    contact_untag,
    contact_update,
    note_create,
)
from patron.contacts.timeline import TimelineItem, contact_timeline
from patron.core.permissions import P
from patron.web.forms import ContactForm, NoteForm, TagForm, country_choices
from patron.web.selectors import contact_consents, contact_memberships
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
TIMELINE_SIZE = 30
SORTABLE = {
    "name": "Name",
    "email": "Email and phone",
    "stage": "Stage",
    "country": "Country",
    "created": "Created",
}


# --- list -----------------------------------------------------------------------------


def _filters_from(request: AuthedRequest) -> ContactFilters:
    g = request.GET
    return ContactFilters(
        q=g.get("q", "")[:200],
        tag=g.get("tag", "")[:80],
        stage=g.get("stage", "")[:40],
        owner=g.get("owner", "")[:20],
        country=g.get("country", "")[:2],
    )


@require_GET
@web_view("contacts")
def contact_list(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    filters = _filters_from(request)
    sort = request.GET.get("sort", "name")
    sort = sort if sort in SORTABLE else "name"
    descending = request.GET.get("dir") == "desc"
    kind = f"contacts:{sort}:{'d' if descending else 'a'}"
    after = cursor_values(request.GET.get("after"), kind)
    try:
        qs = contacts_filter(actor, filters)
    except ValidationError:
        filters = replace(filters, owner="")
        qs = contacts_filter(actor, filters)
    qs = qs.select_related("owner")
    try:
        rows, nxt = keyset(qs, sort=sort, descending=descending, after=after, size=PAGE_SIZE)
    except ValidationError:
        after = None
        rows, nxt = keyset(qs, sort=sort, descending=descending, after=None, size=PAGE_SIZE)
    filtered = any((filters.q, filters.tag, filters.stage, filters.owner, filters.country))
    context: dict[str, Any] = {
        "rows": rows,
        "filters": filters,
        "filtered": filtered,
        "sort": sort,
        "descending": descending,
        "columns": SORTABLE,
        "next_cursor": page_cursor(kind, nxt) if nxt else "",
        "paged": after is not None,
        "sensitive_ok": can_see_sensitive(actor),
        "mask": MASK,
        "stage_labels": {s["key"]: s["label"] for s in lifecycle_stages()},
        "can_create": actor.has_perm_code(P.CONTACT_CREATE),
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "contact-results":
        return render(request, "web/contacts/_results.html", context)
    context.update(
        tags=tags_all()[:500],
        stages=lifecycle_stages(),
        owners=owners_for_filter(actor),
        countries=country_choices(),
    )
    return render(request, "web/contacts/list.html", context)


# --- profile --------------------------------------------------------------------------


def _timeline(
    actor: Any, contact: Contact, before: dt.datetime | None
) -> tuple[list[TimelineItem], bool]:
    """One page of the timeline, and whether older items may exist."""
    items = contact_timeline(actor, contact.pk, limit=TIMELINE_SIZE, before=before)
    return items, len(items) >= TIMELINE_SIZE


def _timeline_kinds(actor: Any) -> list[tuple[str, str]]:
    """The timeline kinds the actor can see, for the filter buttons."""
    kinds = [("note", "Notes"), ("activity", "Changes")]
    if actor.has_perm_code(P.ORDER_VIEW):
        kinds.append(("order", "Orders"))
    if actor.has_perm_code(P.TICKET_VIEW):
        kinds += [("ticket", "Tickets"), ("survey", "Surveys")]
    if actor.has_perm_code(P.EVENT_VIEW):
        kinds.append(("event", "Events"))
    return kinds


def _profile_context(request: AuthedRequest, contact: Contact) -> dict[str, Any]:
    actor = request.user
    memberships = list(contact_memberships(actor, contact))
    stage_labels = {s["key"]: s["label"] for s in lifecycle_stages()}
    identities = list(identities_of(actor, contact))
    timeline, timeline_more = _timeline(actor, contact, None)
    can_edit = actor.has_perm_code(P.CONTACT_EDIT)
    return {
        "contact": contact,
        "stage_label": stage_labels.get(contact.lifecycle_stage, contact.lifecycle_stage),
        "memberships": memberships,
        "primary_membership": memberships[0] if memberships else None,
        "tags": list(contact.tags.order_by("name")),
        "extra_emails": [i for i in identities if i.kind == "email" and i.value != contact.email],
        "extra_phones": [i for i in identities if i.kind == "phone" and i.value != contact.phone],
        "other_identities": [i for i in identities if i.kind not in ("email", "phone")],
        "custom_rows": custom_rows(actor, contact, "contact"),
        "consents": (
            contact_consents(actor, contact) if actor.has_perm_code(P.CONSENT_VIEW) else None
        ),
        "timeline": timeline,
        "timeline_more": timeline_more,
        "timeline_kinds": _timeline_kinds(actor),
        "sensitive_ok": can_see_sensitive(actor),
        "mask": MASK,
        "can_edit": can_edit,
        "can_note": actor.has_perm_code(P.NOTE_ADD),
        "note_form": NoteForm(),
        "tag_form": TagForm(),
        "tag_suggestions": tags_all()[:200] if can_edit else [],
    }


@require_GET
@web_view("contacts")
def contact_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    contact = contact_get(request.user, pk)
    return render(request, "web/contacts/detail.html", _profile_context(request, contact))


@require_GET
@web_view("contacts")
def contact_timeline_more(request: AuthedRequest, pk: int) -> HttpResponse:
    """Older timeline items (htmx "Show older")."""
    contact = contact_get(request.user, pk)
    before = parse_datetime(request.GET.get("before", "")[:40])
    items, more = _timeline(request.user, contact, before)
    return render(
        request,
        "web/contacts/_timeline_page.html" if is_htmx(request) else "web/contacts/timeline.html",
        {
            "contact": contact,
            "timeline": items,
            "timeline_more": more,
            "sensitive_ok": can_see_sensitive(request.user),
            "mask": MASK,
        },
    )


# --- notes and tags -------------------------------------------------------------------


@require_POST
@web_view("contacts")
def contact_note_add(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = contact_get(actor, pk)
    require(actor, P.NOTE_ADD)
    form = NoteForm(request.POST)
    note = None
    if form.is_valid():
        try:
            note = note_create(actor=actor, contact=contact, body=form.cleaned_data["body"])
        except ValidationError as exc:
            for key, msgs in exc.message_dict.items():
                for msg in msgs:
                    form.add_error("body" if key in ("body", "__all__") else None, msg)
    if not is_htmx(request):
        if note is not None:
            messages.success(request, "Note added.")
        else:
            messages.error(
                request, " ".join(str(e) for e in form.errors.get("body") or ["Note not saved."])
            )
        return redirect("web:contact_detail", pk=contact.pk)
    if note is None:
        response = render(
            request, "web/contacts/_note_form.html", {"contact": contact, "note_form": form}
        )
        response["HX-Retarget"] = "#note-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    item = TimelineItem(
        note.created_at, "note", "Note", note.body, {"author": str(note.author or "")}
    )
    return render(
        request,
        "web/contacts/_note_added.html",
        {"contact": contact, "item": item, "note_form": NoteForm()},
    )


def _tags_response(request: AuthedRequest, contact: Contact, error: str = "") -> HttpResponse:
    if not is_htmx(request):
        if error:
            messages.error(request, error)
        return redirect("web:contact_detail", pk=contact.pk)
    return render(
        request,
        "web/contacts/_tags.html",
        {
            "contact": contact,
            "tags": list(contact.tags.order_by("name")),
            "can_edit": True,
            "tag_form": TagForm(),
            "tag_error": error,
            "tag_suggestions": tags_all()[:200],
        },
    )


@require_POST
@web_view("contacts")
def contact_tag_add(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = contact_get(actor, pk)
    require(actor, P.CONTACT_EDIT)
    form = TagForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            contact_tag(actor=actor, contact=contact, tag_name=form.cleaned_data["tag"])
        except ValidationError as exc:
            error = " ".join(m for msgs in exc.message_dict.values() for m in msgs)
    else:
        error = "Enter a tag name of at most 80 characters."
    return _tags_response(request, contact, error)


@require_POST
@web_view("contacts")
def contact_tag_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = contact_get(actor, pk)
    require(actor, P.CONTACT_EDIT)
    form = TagForm(request.POST)
    if form.is_valid():
        contact_untag(actor=actor, contact=contact, tag_name=form.cleaned_data["tag"])
    return _tags_response(request, contact)


# --- create and edit ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@web_view("contacts")
def contact_new(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    require(actor, P.CONTACT_CREATE)

    def done(obj: Any, data: dict[str, Any]) -> HttpResponse:
        messages.success(request, f"{obj.display_name} was added.")
        return redirect("web:contact_detail", pk=obj.pk)

    return service_form_page(
        request,
        ContactForm(request.POST or None, actor=actor),
        save=lambda data: contact_create(actor=actor, data=data),
        done=done,
        context={
            "title": "New contact",
            "submit": "Create contact",
            "cancel_url": reverse("web:contacts"),
            "crumbs": [("Contacts", reverse("web:contacts"))],
        },
    )


@require_http_methods(["GET", "POST"])
@web_view("contacts")
def contact_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    contact = contact_get(actor, pk)
    require(actor, P.CONTACT_EDIT)

    def save(data: dict[str, Any]) -> None:
        if data:
            contact_update(actor=actor, contact=contact, data=data)

    def done(_: Any, data: dict[str, Any]) -> HttpResponse:
        messages.success(request, "Changes saved." if data else "Nothing changed.")
        return redirect("web:contact_detail", pk=contact.pk)

    return service_form_page(
        request,
        ContactForm(request.POST or None, actor=actor, instance=contact),
        save=save,
        done=done,
        context={
            "title": f"Edit {contact.display_name}",
            "submit": "Save changes",
            "cancel_url": reverse("web:contact_detail", args=[contact.pk]),
            "crumbs": [
                ("Contacts", reverse("web:contacts")),
                (contact.display_name, reverse("web:contact_detail", args=[contact.pk])),
            ],
            "crumb_current": "Edit",
        },
    )
