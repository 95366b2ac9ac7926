"""Sources pages: the list with write-key management, and a source's live debugger; the
identity graph and behaviour card of the contact profile (loaded into it by htmx).

Every view reads through scoped selectors and writes through services; a refused request
(403/404) changes nothing. POST-only for writes, CSRF-protected, no inline script/style.
The debugger's live part is a fragment the page polls with ``hx-get`` (no websocket).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from patron.contacts.selectors import require
from patron.core.permissions import P
from patron.events.forms import ActiveForm, RotateForm, SourceForm
from patron.events.selectors import (
    identity_graph,
    source_get,
    source_recent_events,
    source_recent_rejections,
    source_stats,
    sources_overview,
)
from patron.events.services import source_create, source_rotate_key, source_set_active
from patron.web.views._common import AuthedRequest, is_htmx, web_view

DEBUGGER_ROWS = 50
POLL_SECONDS = 2


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(str(m) for errs in exc.message_dict.values() for m in errs)
    return "; ".join(exc.messages)


def _key_page(request: AuthedRequest, source: Any, raw: str, what: str) -> HttpResponse:
    """The one time a write key is shown (never stored, never in a URL or a message)."""
    response = render(
        request, "events/source_key.html", {"source": source, "key": raw, "what": what}
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@web_view("sources")
def sources(request: AuthedRequest) -> HttpResponse:
    rows = sources_overview(request.user)
    return render(request, "events/sources.html", {"rows": rows, "form": SourceForm()})


@require_POST
@web_view("sources")
def source_new(request: AuthedRequest) -> HttpResponse:
    require(request.user, P.SETTINGS_MANAGE)
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            source, raw = source_create(actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", _errors(exc))
        else:
            return _key_page(request, source, raw, "created")
    rows = sources_overview(request.user)
    return render(request, "events/sources.html", {"rows": rows, "form": form}, status=400)


@require_GET
@web_view("sources")
def source_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    source = source_get(request.user, pk)
    context = {
        "source": source,
        "rotate_form": RotateForm(),
        "poll_seconds": POLL_SECONDS,
        **_debugger(request.user, source),
    }
    return render(request, "events/source_detail.html", context)


def _debugger(actor: Any, source: Any) -> dict[str, Any]:
    return {
        "stats": source_stats(actor, source),
        "events": source_recent_events(actor, source, DEBUGGER_ROWS),
        "rejections": source_recent_rejections(actor, source, DEBUGGER_ROWS),
        "updated_at": dt.datetime.now(dt.UTC),
    }


@require_GET
@web_view("sources")
def source_debugger(request: AuthedRequest, pk: int) -> HttpResponse:
    """The live part of the debugger (a fragment, polled by the detail page)."""
    source = source_get(request.user, pk)
    context = {"source": source, "poll_seconds": POLL_SECONDS, **_debugger(request.user, source)}
    return render(request, "events/_debugger.html", context)


@require_POST
@web_view("sources")
def source_rotate(request: AuthedRequest, pk: int) -> HttpResponse:
    source = source_get(request.user, pk)
    form = RotateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the old key's grace period in hours (0 to 720).")
        return redirect("events:source", pk=source.pk)
    try:
        source, raw = source_rotate_key(
            actor=request.user,
            source=source,
            grace=dt.timedelta(hours=form.cleaned_data["grace_hours"]),
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
        return redirect("events:source", pk=source.pk)
    return _key_page(request, source, raw, "rotated")


@require_POST
@web_view("sources")
def source_active(request: AuthedRequest, pk: int) -> HttpResponse:
    source = source_get(request.user, pk)
    form = ActiveForm(request.POST)
    form.is_valid()
    active = bool(form.cleaned_data.get("active"))
    source_set_active(actor=request.user, source=source, active=active)
    state = "enabled: its keys work again" if active else "disabled: its keys are refused"
    messages.success(request, f'Source "{source.name}" {state}.')
    return redirect("events:source", pk=source.pk)


@require_GET
@web_view("contacts")
def contact_behaviour_card(request: AuthedRequest, contact_id: int) -> HttpResponse:
    """The profile's identity graph and recent behaviour (a fragment)."""
    graph = identity_graph(request.user, contact_id)
    template = (
        "events/_profile_behaviour_body.html"
        if is_htmx(request)
        else "events/contact_behaviour.html"
    )
    return render(request, template, {"graph": graph})
