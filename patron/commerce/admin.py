"""Admin for products, orders and order lines.

Orders are recorded by the shop integration, the API or tracking; here they can be
corrected (status, refunds, ids, time) and deleted through the order services.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from patron.commerce.models import ContactPurchaseSummary, Order, OrderLine, Product
from patron.commerce.services import ORDER_UPDATE_KEYS, order_delete, order_update
from patron.core.admin_base import (
    LargeTableAdmin,
    ServiceForm,
    ServiceFormAdmin,
    ViewOnlyAdmin,
    ViewOnlyInline,
    form_changes,
)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "category", "price", "currency", "created_at")
    list_filter = ("category", "currency")
    search_fields = ("name", "=sku")


class OrderForm(ServiceForm):
    class Meta:
        model = Order
        fields = ORDER_UPDATE_KEYS

    def service_data(self) -> dict[str, Any]:
        return form_changes(self, ORDER_UPDATE_KEYS)


class LineInline(ViewOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "category", "quantity", "unit_price", "total")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ServiceFormAdmin, LargeTableAdmin):
    form = OrderForm
    list_display = (
        "__str__",
        "contact",
        "status",
        "total",
        "currency",
        "refunded_amount",
        "placed_at",
        "source",
    )
    list_filter = ("status", "currency")
    list_select_related = ("contact",)
    search_fields = ("=external_id",)
    raw_id_fields = ("contact",)
    ordering = ("-id",)
    readonly_fields = (
        "contact",
        "currency",
        "subtotal",
        "discount",
        "tax",
        "shipping",
        "total",
        "created_at",
        "updated_at",
    )
    fields = ("contact", *ORDER_UPDATE_KEYS, *readonly_fields[1:])
    inlines = (LineInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the shop, the API or tracking (with their lines)

    def create(self, request: HttpRequest, data: Mapping[str, Any]) -> Order:  # pragma: no cover
        raise NotImplementedError

    def update(self, request: HttpRequest, obj: Order, data: Mapping[str, Any]) -> Order:
        if not data:
            return obj
        return order_update(actor=request.user, order=obj.pk, data=data)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Order) -> None:
        order_delete(actor=request.user, order=obj.pk)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        for pk in queryset.values_list("pk", flat=True):
            order_delete(actor=request.user, order=pk)  # type: ignore[arg-type]


@admin.register(OrderLine)
class OrderLineAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Lines change only with their order (the order services keep totals consistent)."""

    list_display = ("name", "sku", "order", "contact", "quantity", "unit_price", "total")
    list_filter = ("category",)
    list_select_related = ("order", "contact")
    search_fields = ("=sku",)
    raw_id_fields = ("order", "contact", "product")
    ordering = ("-id",)


@admin.register(ContactPurchaseSummary)
class ContactPurchaseSummaryAdmin(ViewOnlyAdmin, LargeTableAdmin):
    """Derived from the orders (``summary.purchase_summary_refresh``): shown, never edited."""

    list_display = ("contact", "order_count", "total", "first_order_at", "last_order_at")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    ordering = ("-last_order_at",)
