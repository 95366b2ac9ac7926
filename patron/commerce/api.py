"""/api/v1/orders: purchase history. List (filters, keyset pages), get, create, patch, delete."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.commerce.models import Order, OrderLine
from patron.commerce.selectors import order_get, orders_filter
from patron.commerce.services import order_create, order_delete, order_update
from patron.contacts.selectors import contact_get
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import (
    ERRORS,
    Filter,
    Id,
    InputSchema,
    IsoDateTime,
    PageQuery,
    PathId,
    page_schema,
)

router = Router(tags=["orders"])

Money = Decimal
OrderStatus = Literal["pending", "completed", "refunded", "partially_refunded", "cancelled"]


class OrderLineIn(InputSchema):
    sku: str | None = None
    name: str | None = Field(None, description="Required unless a SKU is given.")
    category: str | None = None
    quantity: Decimal = Field(Decimal("1"), description="Greater than 0, up to 3 decimals.")
    unit_price: Money = Decimal("0")
    total: Money | None = Field(None, description="Defaults to quantity x unit_price.")


class OrderCreateIn(InputSchema):
    """An order. Omitted totals are computed from the lines; given totals must agree."""

    contact_id: Id
    external_id: str | None = Field(None, description="Your system's id; unique when set.")
    status: OrderStatus | None = None
    currency: str = Field("USD", description="ISO 4217 code.")
    subtotal: Money | None = None
    discount: Money | None = None
    tax: Money | None = None
    shipping: Money | None = None
    total: Money | None = None
    refunded_amount: Money | None = None
    placed_at: IsoDateTime | None = Field(None, description="Defaults to now.")
    source: str | None = None
    lines: list[OrderLineIn] = Field(default_factory=list, max_length=1000)


class OrderPatchIn(InputSchema):
    """Status, refunds, external id, time and source; lines and amounts do not change."""

    external_id: str | None = None
    status: OrderStatus | None = None
    refunded_amount: Money | None = None
    placed_at: IsoDateTime | None = None
    source: str | None = None


class OrderLineOut(Schema):
    id: int
    sku: str
    name: str
    category: str
    quantity: Decimal
    unit_price: Decimal
    total: Decimal
    product_id: int | None


class OrderOut(Schema):
    id: int
    contact_id: int
    external_id: str | None
    status: str
    currency: str
    subtotal: Decimal
    discount: Decimal
    tax: Decimal
    shipping: Decimal
    total: Decimal
    refunded_amount: Decimal
    placed_at: dt.datetime
    source: str
    lines: list[OrderLineOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderQuery(PageQuery):
    contact_id: Id | None = None
    status: OrderStatus | None = None
    external_id: Filter = ""


OrderPage = page_schema(OrderOut, "OrderPage")


def _out(orders: list[Order]) -> list[Order]:
    """Orders with their lines loaded in one query (the schema reads the attributes)."""
    prefetch_related_objects(orders, Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
    return orders


def _one(actor: Any, order_id: int) -> Order:
    return _out([order_get(actor, order_id)])[0]


@router.get("", response={200: OrderPage, **ERRORS}, summary="List orders")
def list_orders(request: HttpRequest, filters: Query[OrderQuery]) -> dict[str, Any]:
    """Orders you can see, newest first; `contact_id` narrows to one contact."""
    actor = actor_of(request)
    contact_id = None
    if filters.contact_id is not None:
        contact_id = contact_get(actor, filters.contact_id).pk
    qs = orders_filter(
        actor,
        contact_id=contact_id,
        status=filters.status or "",
        external_id=filters.external_id,
    )
    page = keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id")
    page["items"] = _out(page["items"])
    return page


@router.post("", response={201: OrderOut, **ERRORS}, summary="Record an order")
def create_order(request: HttpRequest, payload: OrderCreateIn) -> Status[Order]:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    data["contact_id"] = contact_get(actor, payload.contact_id).pk
    order = order_create(actor=actor, data=data)
    return Status(201, _one(actor, order.pk))


@router.get("/{order_id}", response={200: OrderOut, **ERRORS}, summary="Get an order")
def get_order(request: HttpRequest, order_id: PathId) -> Order:
    return _one(actor_of(request), order_id)


@router.patch("/{order_id}", response={200: OrderOut, **ERRORS}, summary="Update an order")
def update_order(request: HttpRequest, order_id: PathId, payload: OrderPatchIn) -> Order:
    actor = actor_of(request)
    order = order_get(actor, order_id)
    order_update(actor=actor, order=order, data=payload.model_dump(exclude_unset=True))
    return _one(actor, order.pk)


@router.delete("/{order_id}", response={204: None, **ERRORS}, summary="Delete an order")
def delete_order(request: HttpRequest, order_id: PathId) -> Status[None]:
    actor = actor_of(request)
    order_delete(actor=actor, order=order_get(actor, order_id))
    return Status(204, None)


ROUTERS = [("/orders", router)]
