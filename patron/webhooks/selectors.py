"""Permission-scoped reads: endpoints and deliveries need ``webhook.manage``."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services.endpoints import require_manage


def endpoints_visible_to(actor: Any) -> QuerySet[WebhookEndpoint]:
    require_manage(actor)
    return WebhookEndpoint.objects.all()


def _pk(raw: Any) -> int:
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise Http404 from exc
    if not 1 <= pk < 2**63:
        raise Http404
    return pk


def endpoint_get(actor: Any, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = endpoints_visible_to(actor).filter(pk=_pk(endpoint_id)).first()
    if endpoint is None:
        raise Http404("No such webhook endpoint.")
    return endpoint


def deliveries_of(
    actor: Any, endpoint: WebhookEndpoint, status: str | None = None
) -> QuerySet[WebhookDelivery]:
    require_manage(actor)
    qs = WebhookDelivery.objects.filter(endpoint=endpoint)
    if status:
        if status not in WebhookDelivery.Status.values:
            raise Http404("No such status.")
        qs = qs.filter(status=status)
    return qs


def delivery_get(actor: Any, delivery_id: Any) -> WebhookDelivery:
    require_manage(actor)
    delivery = (
        WebhookDelivery.objects.select_related("endpoint").filter(pk=_pk(delivery_id)).first()
    )
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery
