"""Writes of the webhooks app. ``enqueue_segment_changes`` is the hook segments call."""

from patron.webhooks.services.endpoints import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_send_test,
    endpoint_set_active,
    endpoint_update,
)
from patron.webhooks.services.outbox import enqueue_segment_changes

__all__ = [
    "delivery_retry",
    "endpoint_create",
    "endpoint_delete",
    "endpoint_rotate_secret",
    "endpoint_send_test",
    "endpoint_set_active",
    "endpoint_update",
    "enqueue_segment_changes",
]
