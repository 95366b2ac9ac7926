"""Endpoint management: create, edit, rotate the secret, enable/disable, test, retry.

Every service checks ``webhook.manage`` and writes an activity entry in its
transaction. Secrets are stored encrypted (``patron.webhooks.vault``), returned in clear
only by create and rotate (to be shown once), and never written to the activity log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.core.clean import clean_str, reject_unknown
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record, diff, snapshot
from patron.webhooks import conf
from patron.webhooks.models import EVENT_TYPES, TEST_EVENT, WebhookDelivery, WebhookEndpoint
from patron.webhooks.services.outbox import deliveries_create, envelope, new_event_id
from patron.webhooks.signing import secret_generate
from patron.webhooks.ssrf import UnsafeURL, check_url
from patron.webhooks.vault import encrypt, rekey

FIELDS = ("name", "url", "event_types", "segment_ids")
AUDITED = ("name", "url", "event_types", "segment_ids", "is_active")
MAX_SEGMENTS = 100


def require_manage(actor: Any) -> None:
    if not (actor and actor.is_authenticated and actor.has_perm_code(P.WEBHOOK_MANAGE)):
        raise PermissionDenied()


def _clean(data: dict[str, Any], current: WebhookEndpoint | None) -> dict[str, Any]:
    reject_unknown(data, FIELDS)
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    if "name" in data or current is None:
        try:
            out["name"] = clean_str(data.get("name"), "name", max_length=200, required=True)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "url" in data or current is None:
        url = data.get("url")
        try:
            check_url(url if isinstance(url, str) else "")
        except UnsafeURL as exc:
            errors["url"] = [str(exc)]
        else:
            out["url"] = str(url).strip()
    if "event_types" in data or current is None:
        types = data.get("event_types")
        if not isinstance(types, (list, tuple)) or not types:
            errors["event_types"] = ["Choose at least one event type."]
        elif any(t not in EVENT_TYPES for t in types):
            errors["event_types"] = [f"Known event types: {', '.join(sorted(EVENT_TYPES))}."]
        else:
            out["event_types"] = sorted(set(types))
    if "segment_ids" in data:
        out["segment_ids"] = _segments(data.get("segment_ids"), errors)
    if errors:
        raise ValidationError(errors)
    return out


def _segments(raw: Any, errors: dict[str, list[str]]) -> list[int]:
    from patron.segments.models import Segment

    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)) or len(raw) > MAX_SEGMENTS:
        errors["segment_ids"] = [f"A list of at most {MAX_SEGMENTS} segment ids."]
        return []
    ids = set()
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, int | str) or not str(v).isdigit():
            errors["segment_ids"] = ["Segment ids are whole numbers."]
            return []
        ids.add(int(v))
    found = set(Segment.objects.filter(pk__in=ids, is_template=False).values_list("pk", flat=True))
    if ids - found:
        errors["segment_ids"] = [f"No such segment: {', '.join(map(str, sorted(ids - found)))}."]
    return sorted(ids)


@transaction.atomic
def endpoint_create(*, actor: Any, data: dict[str, Any]) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned once: show it, then it is never shown)."""
    require_manage(actor)
    fields = _clean(dict(data), None)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        **fields,
        secret_encrypted=encrypt(secret),
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    activity_record(
        actor=actor,
        verb="webhook.created",
        subject=endpoint,
        changes={"after": snapshot(endpoint, AUDITED)},
    )
    return endpoint, secret


@transaction.atomic
def endpoint_update(
    *, actor: Any, endpoint: WebhookEndpoint, data: dict[str, Any]
) -> WebhookEndpoint:
    require_manage(actor)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    fields = _clean(dict(data), endpoint)
    before = snapshot(endpoint, AUDITED)
    for key, value in fields.items():
        setattr(endpoint, key, value)
    endpoint.save(update_fields=[*fields, "updated_at"])
    activity_record(
        actor=actor,
        verb="webhook.updated",
        subject=endpoint,
        changes=diff(before, snapshot(endpoint, AUDITED)),
    )
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(
    *, actor: Any, endpoint: WebhookEndpoint, now: dt.datetime | None = None
) -> str:
    """A new secret; the old one keeps signing too until the grace period ends."""
    require_manage(actor)
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = secret_generate()
    endpoint.previous_secret_encrypted = rekey(endpoint.secret_encrypted)
    endpoint.previous_secret_expires_at = now + dt.timedelta(
        seconds=float(conf.get("PATRON_WEBHOOKS_SECRET_GRACE"))
    )
    endpoint.secret_encrypted = encrypt(secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_expires_at",
            "updated_at",
        ]
    )
    activity_record(
        actor=actor,
        verb="webhook.secret_rotated",
        subject=endpoint,
        changes={"previous_valid_until": endpoint.previous_secret_expires_at.isoformat()},
    )
    return secret


@transaction.atomic
def endpoint_set_active(
    *, actor: Any, endpoint: WebhookEndpoint, active: bool, reason: str = ""
) -> WebhookEndpoint:
    """Enable or disable. ``actor=None`` is the delivery engine disabling a failing one."""
    if actor is not None:
        require_manage(actor)
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if endpoint.is_active == active:
        return endpoint
    endpoint.is_active = active
    endpoint.disabled_reason = "" if active else (reason or "Disabled by a user.")[:300]
    endpoint.consecutive_failures = 0
    endpoint.save(
        update_fields=["is_active", "disabled_reason", "consecutive_failures", "updated_at"]
    )
    activity_record(
        actor=actor,
        verb="webhook.enabled" if active else "webhook.disabled",
        subject=endpoint,
        changes={"reason": endpoint.disabled_reason} if not active else {},
    )
    if active:
        from patron.webhooks.tasks import deliver_schedule

        transaction.on_commit(deliver_schedule)
    return endpoint


@transaction.atomic
def endpoint_delete(*, actor: Any, endpoint: WebhookEndpoint) -> None:
    require_manage(actor)
    activity_record(
        actor=actor,
        verb="webhook.deleted",
        subject=endpoint,
        changes={"before": snapshot(endpoint, AUDITED)},
    )
    endpoint.delete()


@transaction.atomic
def endpoint_send_test(*, actor: Any, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A ``webhook.test`` delivery to this endpoint (sent like any other)."""
    require_manage(actor)
    now = timezone.now()
    event_id = new_event_id()
    payload = envelope(TEST_EVENT, now, {"endpoint": {"id": endpoint.pk}, "test": True})
    deliveries_create([endpoint], [(event_id, TEST_EVENT, payload)], now)
    activity_record(actor=actor, verb="webhook.test_sent", subject=endpoint)
    return WebhookDelivery.objects.get(endpoint=endpoint, event_id=event_id)


@transaction.atomic
def delivery_retry(*, actor: Any, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a dead or failed delivery again, with a fresh set of attempts."""
    require_manage(actor)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.status not in (WebhookDelivery.Status.DEAD, WebhookDelivery.Status.FAILED):
        raise ValidationError({"status": ["Only dead or failed deliveries can be retried."]})
    before = delivery.status
    delivery.status = WebhookDelivery.Status.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at", "updated_at"])
    activity_record(
        actor=actor,
        verb="webhook.delivery_retried",
        subject_type="webhookdelivery",
        subject_id=delivery.pk,
        subject_label=f"{delivery.event_type} {delivery.event_id}",
        changes={"before": {"status": before}, "after": {"status": "pending"}},
    )
    from patron.webhooks.tasks import deliver_schedule

    transaction.on_commit(deliver_schedule)
    return delivery


@transaction.atomic
def endpoint_secrets_rekey() -> int:
    """Re-encrypt every endpoint's secrets under the first key (``patron webhooks rekey``).

    All or nothing: a secret no configured key opens raises SecretUnreadable and nothing
    changes. An operator's command (no actor); the activity log gets one entry.
    """
    done = 0
    for endpoint in WebhookEndpoint.objects.select_for_update().order_by("pk"):
        endpoint.secret_encrypted = rekey(endpoint.secret_encrypted)
        endpoint.previous_secret_encrypted = rekey(endpoint.previous_secret_encrypted)
        endpoint.save(update_fields=["secret_encrypted", "previous_secret_encrypted"])
        done += 1
    if done:
        activity_record(
            actor=None,
            verb="webhook.secrets_rekeyed",
            subject_type="webhookendpoint",
            subject_label=f"{done} endpoint(s)",
        )
    return done
