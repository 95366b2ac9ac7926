"""Webhook endpoints and their deliveries (the outbox; see docs/adr/0050-webhooks.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

#: Event types an endpoint may subscribe to.
EVENT_TYPES: dict[str, str] = {
    "segment.entered": "A contact entered a segment",
    "segment.exited": "A contact left a segment",
}
#: Sent only by "Send a test event"; no subscription needed.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """A URL that receives signed events. The secret signs; it is shown once.

    Secrets are stored encrypted (``patron.webhooks.vault``): these columns hold Fernet
    tokens, never the ``whsec_...`` text, and nothing displays them.
    """

    name = models.CharField(max_length=200)
    url = models.CharField(max_length=2000)
    secret_encrypted = models.CharField(max_length=255)
    previous_secret_encrypted = models.CharField(max_length=255, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    event_types = models.JSONField(default=list, blank=True)
    #: Only these segments' events (ids); empty means every segment.
    segment_ids = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class WebhookDelivery(models.Model):
    """One event for one endpoint: created with the change, sent after commit."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        DEAD = "dead", "Dead"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.CharField(max_length=64)
    event_type = models.CharField(max_length=64)
    #: The contact the event is about (none for test events): erasure finds them by it.
    contact_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(
                fields=["contact_id"],
                condition=models.Q(contact_id__isnull=False),
                name="webhook_delivery_contact_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} -> {self.endpoint_id}"
