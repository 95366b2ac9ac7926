"""Products, orders and order lines: purchase history. Money is Decimal."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q


class Product(models.Model):
    sku = models.CharField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=120, blank=True, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class Order(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        CANCELLED = "cancelled", "Cancelled"

    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=120, null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.COMPLETED)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    discount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    tax = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    shipping = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    refunded_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    placed_at = models.DateTimeField(db_index=True)
    source = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="order_external_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-placed_at"], name="order_contact_idx"),
            # Segments' purchase aggregates (count / total / average per contact, in a
            # window) read only these columns: an index-only scan in contact order.
            models.Index(
                fields=["contact", "status", "placed_at", "total", "refunded_amount"],
                name="order_contact_spend_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.external_id or self.pk}"


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="order_lines"
    )
    product = models.ForeignKey(Product, null=True, blank=True, on_delete=models.SET_NULL)
    sku = models.CharField(max_length=80, blank=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=120, blank=True)
    quantity = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class ContactPurchaseSummary(models.Model):
    """One contact's counted purchases (``summary.COUNTED_STATUSES``), kept exact by
    ``summary.purchase_summary_refresh`` on every path that writes orders: segments read
    order count, net total and average (total / count) from here instead of grouping the
    orders table. No row: no counted order (count 0, total 0, no average)."""

    contact = models.OneToOneField(
        "contacts.Contact",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="purchase_summary",
    )
    order_count = models.PositiveIntegerField()
    #: Sum of ``total - refunded_amount`` over the counted orders.
    total = models.DecimalField(max_digits=18, decimal_places=2)
    first_order_at = models.DateTimeField()
    last_order_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["total"], name="purchase_summary_total_idx"),
            models.Index(fields=["order_count"], name="purchase_summary_count_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.order_count} orders, {self.total}"
