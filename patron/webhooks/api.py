"""/api/v1/webhooks: endpoints (create, read, update, delete, rotate the secret) and
their deliveries (list, retry). Every call needs ``webhook.manage``. The signing secret
is in the answer of create and rotate only."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, Id, InputSchema, PageQuery, PathId, page_schema
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
    endpoint_set_active,
    endpoint_update,
)

router = Router(tags=["webhooks"])
EventType = Literal["segment.entered", "segment.exited"]
DeliveryStatus = Literal["pending", "succeeded", "failed", "dead"]


class EndpointPatchIn(InputSchema):
    name: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=2000, description="https:// only; public hosts.")
    event_types: list[EventType] | None = Field(None, min_length=1, max_length=10)
    segment_ids: list[Id] | None = Field(
        None, max_length=100, description="Only these segments' events; empty: every segment."
    )
    is_active: bool | None = None


class EndpointCreateIn(InputSchema):
    name: str = Field(..., max_length=200)
    url: str = Field(..., max_length=2000, description="https:// only; public hosts.")
    event_types: list[EventType] = Field(..., min_length=1, max_length=10)
    segment_ids: list[Id] = Field(default_factory=list, max_length=100)


class EndpointOut(Schema):
    id: int
    name: str
    url: str
    event_types: list[str]
    segment_ids: list[int]
    is_active: bool
    disabled_reason: str
    previous_secret_expires_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(..., description="Shown once: store it to verify signatures.")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None


class DeliveryQuery(PageQuery):
    status: DeliveryStatus | None = None


EndpointPage = page_schema(EndpointOut, "WebhookEndpointPage")
DeliveryPage = page_schema(DeliveryOut, "WebhookDeliveryPage")


def _out(endpoint: Any) -> dict[str, Any]:
    return {f: getattr(endpoint, f) for f in EndpointOut.model_fields}


def _delivery(d: Any) -> dict[str, Any]:
    return {f: getattr(d, f) for f in DeliveryOut.model_fields}


@router.get("", response={200: EndpointPage, **ERRORS}, summary="List webhook endpoints")
def list_endpoints(request: HttpRequest, filters: Query[PageQuery]) -> dict[str, Any]:
    qs = endpoints_visible_to(actor_of(request))
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id", serialize=_out)


@router.post("", response={201: EndpointWithSecretOut, **ERRORS}, summary="Create an endpoint")
def create_endpoint(request: HttpRequest, payload: EndpointCreateIn) -> Status[dict[str, Any]]:
    endpoint, secret = endpoint_create(actor=actor_of(request), data=payload.model_dump())
    return Status(201, {**_out(endpoint), "secret": secret})


@router.get(
    "/deliveries/{delivery_id}", response={200: DeliveryOut, **ERRORS}, summary="A delivery"
)
def get_delivery(request: HttpRequest, delivery_id: PathId) -> dict[str, Any]:
    return _delivery(delivery_get(actor_of(request), delivery_id))


@router.post(
    "/deliveries/{delivery_id}/retry",
    response={200: DeliveryOut, **ERRORS},
    summary="Retry a dead or failed delivery",
)
def retry_delivery(request: HttpRequest, delivery_id: PathId) -> dict[str, Any]:
    actor = actor_of(request)
    return _delivery(delivery_retry(actor=actor, delivery=delivery_get(actor, delivery_id)))


@router.get("/{endpoint_id}", response={200: EndpointOut, **ERRORS}, summary="Get an endpoint")
def get_endpoint(request: HttpRequest, endpoint_id: PathId) -> dict[str, Any]:
    return _out(endpoint_get(actor_of(request), endpoint_id))


@router.patch("/{endpoint_id}", response={200: EndpointOut, **ERRORS}, summary="Update an endpoint")
def update_endpoint(
    request: HttpRequest, endpoint_id: PathId, payload: EndpointPatchIn
) -> dict[str, Any]:
    actor = actor_of(request)
    endpoint = endpoint_get(actor, endpoint_id)
    data = payload.model_dump(exclude_unset=True)
    active = data.pop("is_active", None)
    if data:
        endpoint = endpoint_update(actor=actor, endpoint=endpoint, data=data)
    if active is not None:
        endpoint = endpoint_set_active(actor=actor, endpoint=endpoint, active=active)
    return _out(endpoint_get(actor, endpoint.pk))


@router.delete("/{endpoint_id}", response={204: None, **ERRORS}, summary="Delete an endpoint")
def delete_endpoint(request: HttpRequest, endpoint_id: PathId) -> Status[None]:
    actor = actor_of(request)
    endpoint_delete(actor=actor, endpoint=endpoint_get(actor, endpoint_id))
    return Status(204, None)


@router.post(
    "/{endpoint_id}/rotate-secret",
    response={200: EndpointWithSecretOut, **ERRORS},
    summary="Rotate the signing secret",
)
def rotate_secret(request: HttpRequest, endpoint_id: PathId) -> dict[str, Any]:
    """A new secret (shown once); the previous one keeps signing during a grace period."""
    actor = actor_of(request)
    endpoint = endpoint_get(actor, endpoint_id)
    secret = endpoint_rotate_secret(actor=actor, endpoint=endpoint)
    return {**_out(endpoint_get(actor, endpoint.pk)), "secret": secret}


@router.get(
    "/{endpoint_id}/deliveries", response={200: DeliveryPage, **ERRORS}, summary="Deliveries"
)
def list_deliveries(
    request: HttpRequest, endpoint_id: PathId, filters: Query[DeliveryQuery]
) -> dict[str, Any]:
    """The endpoint's deliveries, newest first (keyset pages: pass `next_cursor` back)."""
    actor = actor_of(request)
    qs = deliveries_of(actor, endpoint_get(actor, endpoint_id), filters.status)
    return keyset_page(
        qs, cursor=filters.cursor, limit=filters.limit, order="-id", serialize=_delivery
    )


ROUTERS = [("/webhooks", router)]
