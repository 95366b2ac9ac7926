"""Webhook pages: list, create, edit, rotate the secret, enable/disable, send a test
event, delivery log with retry. Every view checks ``webhook.manage`` (selectors and
services raise PermissionDenied, shown as the 403 page) and changes go through services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.core.permissions import P
from patron.web.views._common import AuthedRequest, is_htmx, service_form_page, web_view
from patron.webhooks.forms import EndpointForm
from patron.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint
from patron.webhooks.selectors import (
    deliveries_of,
    delivery_get,
    endpoint_get,
    endpoints_visible_to,
)
from patron.webhooks.services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_set_active,
    endpoint_update,
)
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.services.endpoints import require_manage

SECTION = "webhooks"
LOG_PAGE = 50


def _segments(actor: Any) -> list[tuple[int, str]]:
    """Segments the filter may name: through the segments' selector (none without the
    permission to see segments)."""
    from patron.segments.selectors import segments_visible_to

    if not actor.has_perm_code(P.SEGMENT_VIEW):
        return []
    rows = segments_visible_to(actor).filter(is_template=False).order_by("name")
    return list(rows.values_list("pk", "name"))


def _secret_page(request: AuthedRequest, endpoint: WebhookEndpoint, secret: str, title: str) -> Any:
    response = render(
        request,
        "webhooks/secret.html",
        {"endpoint": endpoint, "secret": secret, "title": title},
    )
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@web_view(SECTION)
def endpoint_list(request: AuthedRequest) -> HttpResponse:
    endpoints = endpoints_visible_to(request.user).order_by("name", "pk")
    return render(
        request, "webhooks/list.html", {"endpoints": endpoints, "event_labels": EVENT_TYPES}
    )


@require_http_methods(["GET", "POST"])
@web_view(SECTION)
def endpoint_new(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    require_manage(actor)
    form = EndpointForm(request.POST or None, segments=_segments(request.user))
    return service_form_page(
        request,
        form,
        save=lambda data: endpoint_create(actor=actor, data=data),
        done=lambda result, data: _secret_page(request, result[0], result[1], "Endpoint created"),
        context={
            "title": "New webhook endpoint",
            "submit": "Create endpoint",
            "cancel_url": reverse("webhooks:list"),
            "crumbs": [("Webhooks", reverse("webhooks:list"))],
        },
    )


@require_http_methods(["GET", "POST"])
@web_view(SECTION)
def endpoint_edit(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    form = EndpointForm(request.POST or None, segments=_segments(request.user), instance=endpoint)

    def done(result: Any, data: dict[str, Any]) -> HttpResponse:
        messages.success(request, "Endpoint saved.")
        return redirect("webhooks:detail", pk=endpoint.pk)

    return service_form_page(
        request,
        form,
        save=lambda data: endpoint_update(actor=actor, endpoint=endpoint, data=data),
        done=done,
        context={
            "title": f"Edit {endpoint.name}",
            "submit": "Save",
            "cancel_url": reverse("webhooks:detail", args=[endpoint.pk]),
            "crumbs": [("Webhooks", reverse("webhooks:list"))],
        },
    )


@require_GET
@web_view(SECTION)
def endpoint_detail(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    status = request.GET.get("status") or ""
    before = request.GET.get("before") or ""
    qs = deliveries_of(actor, endpoint, status or None).order_by("-pk")
    if before.isdigit():
        qs = qs.filter(pk__lt=int(before))
    rows = list(qs[: LOG_PAGE + 1])
    more = len(rows) > LOG_PAGE
    rows = rows[:LOG_PAGE]
    context = {
        "endpoint": endpoint,
        "deliveries": rows,
        "older": rows[-1].pk if more and rows else None,
        "status": status,
        "statuses": WebhookDelivery.Status.choices,
        "segment_names": dict(_segments(request.user)),
        "event_labels": EVENT_TYPES,
    }
    if is_htmx(request) and request.headers.get("HX-Target") == "delivery-log":
        return render(request, "webhooks/_log.html", context)
    return render(request, "webhooks/detail.html", context)


@require_POST
@web_view(SECTION)
def endpoint_rotate(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    secret = endpoint_rotate_secret(actor=actor, endpoint=endpoint)
    endpoint.refresh_from_db()
    return _secret_page(request, endpoint, secret, "New signing secret")


@require_POST
@web_view(SECTION)
def endpoint_active(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    active = request.POST.get("active") == "1"
    endpoint_set_active(actor=actor, endpoint=endpoint, active=active)
    messages.success(request, "Endpoint enabled." if active else "Endpoint disabled.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@require_POST
@web_view(SECTION)
def endpoint_test(request: AuthedRequest, pk: int) -> HttpResponse:
    """Queue a ``webhook.test`` event and make its first attempt now."""
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    delivery = endpoint_send_test(actor=actor, endpoint=endpoint)
    if endpoint.is_active:
        deliveries_send_due(max_seconds=1, delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    if delivery.status == WebhookDelivery.Status.SUCCEEDED:
        messages.success(request, f"Test event delivered (HTTP {delivery.last_status_code}).")
    elif not endpoint.is_active:
        messages.error(request, "The endpoint is disabled: the test event waits until enabled.")
    else:
        messages.error(request, f"Test event not delivered: {delivery.last_error or 'pending'}.")
    return redirect("webhooks:detail", pk=endpoint.pk)


@require_POST
@web_view(SECTION)
def endpoint_remove(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    endpoint = endpoint_get(actor, pk)
    endpoint_delete(actor=actor, endpoint=endpoint)
    messages.success(request, "Endpoint deleted.")
    return redirect("webhooks:list")


@require_POST
@web_view(SECTION)
def delivery_retry_view(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    delivery = delivery_get(actor, pk)
    try:
        delivery_retry(actor=actor, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Delivery queued again.")
    return redirect("webhooks:detail", pk=delivery.endpoint_id)
