"""Delivery against a real HTTP receiver on 127.0.0.1: signatures, retries, failures,
timeouts, redirects, Retry-After, the response cap, and disabling failing endpoints."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.utils import timezone

from patron.core.models import Activity
from patron.webhooks.models import WebhookDelivery
from patron.webhooks.services import delivery_retry, endpoint_rotate_secret, endpoint_send_test
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.signing import verify
from patron.webhooks.tests.conftest import Receiver, Reply

pytestmark = pytest.mark.django_db
S = WebhookDelivery.Status


def _send_test(admin: Any, endpoint: Any) -> WebhookDelivery:
    delivery = endpoint_send_test(actor=admin, endpoint=endpoint)
    deliveries_send_due(max_seconds=10)
    delivery.refresh_from_db()
    return delivery


def test_delivery_is_signed_and_verifies(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    endpoint, secret = make_endpoint(receiver.url("/in?token=abc"))
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.SUCCEEDED
    assert (delivery.attempts, delivery.last_status_code) == (1, 200)
    assert delivery.delivered_at is not None
    [req] = receiver.requests
    assert req.path == "/in?token=abc"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["webhook-id"] == delivery.event_id
    verify(secret, req.headers, req.body)
    payload = json.loads(req.body)
    assert payload["type"] == "webhook.test"
    assert payload["data"] == {"endpoint": {"id": endpoint.pk}, "test": True}


def test_host_header_is_the_name_while_the_connection_goes_to_the_checked_address(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, fake_dns: Any
) -> None:
    fake_dns({"hooks.example.test": ["127.0.0.1"]})
    endpoint, secret = make_endpoint(f"http://hooks.example.test:{receiver.port}/in")
    assert _send_test(admin_user_p, endpoint).status == S.SUCCEEDED
    [req] = receiver.requests
    assert req.headers["host"] == f"hooks.example.test:{receiver.port}"


def test_retry_after_500_then_success_with_the_same_id(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    receiver.reply(Reply(500), Reply(503), Reply(200))
    endpoint, secret = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.SUCCEEDED
    assert delivery.attempts == 3
    assert len(receiver.requests) == 3
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    for req in receiver.requests:
        verify(secret, req.headers, req.body)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_client_errors_are_not_retried(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, status: int
) -> None:
    receiver.reply(Reply(status))
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.FAILED
    assert (delivery.attempts, delivery.last_status_code) == (1, status)
    assert delivery.last_error == f"HTTP {status}"
    assert delivery.next_attempt_at is None
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("status", [408, 429])
def test_408_and_429_are_retried(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, status: int
) -> None:
    receiver.reply(Reply(status), Reply(200))
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert (delivery.status, delivery.attempts) == (S.SUCCEEDED, 2)


def test_retry_after_is_honoured_within_the_cap(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_RETRY_AFTER_CAP = 600
    receiver.reply(Reply(429, headers={"Retry-After": "120"}))
    endpoint, _ = make_endpoint(receiver.url())
    before = timezone.now()
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.PENDING
    wait = (delivery.next_attempt_at - before).total_seconds()
    assert 119 <= wait <= 135
    # A huge Retry-After is capped
    delivery_b = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    receiver.reply(Reply(503, headers={"Retry-After": "999999"}))
    deliveries_send_due(max_seconds=10, delivery_ids=[delivery_b.pk])
    delivery_b.refresh_from_db()
    wait_b = (delivery_b.next_attempt_at - before).total_seconds()
    assert 590 <= wait_b <= 615


def test_timeouts_are_retried_then_dead(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_TOTAL_TIMEOUT = 0.3
    settings.PATRON_WEBHOOKS_MAX_ATTEMPTS = 2
    receiver.reply(Reply(200, delay=1.0), Reply(200, delay=1.0))
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.DEAD
    assert delivery.attempts == 2
    assert delivery.last_error == "timed out waiting for the answer"
    assert delivery.last_status_code is None


def test_connection_refused_is_a_network_error(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_MAX_ATTEMPTS = 1
    endpoint, _ = make_endpoint(receiver.url())
    receiver.stop()
    delivery = _send_test(admin_user_p, endpoint)
    assert (delivery.status, delivery.last_error) == (S.DEAD, "connection failed")


def test_redirects_are_not_followed(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    receiver.reply(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.FAILED
    assert delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error
    assert [r.path for r in receiver.requests] == ["/hook"]


def test_a_huge_answer_is_read_only_up_to_the_cap(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_MAX_RESPONSE_BYTES = 1024
    receiver.reply(Reply(200, body=b"x" * 5_000_000))
    endpoint, _ = make_endpoint(receiver.url())
    assert _send_test(admin_user_p, endpoint).status == S.SUCCEEDED


def test_failing_endpoint_is_disabled_with_an_activity_entry(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_DISABLE_AFTER = 3
    settings.PATRON_WEBHOOKS_MAX_ATTEMPTS = 10
    receiver.reply(*[Reply(500)] * 10)
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "3 failed attempts" in endpoint.disabled_reason
    assert len(receiver.requests) == 3  # nothing more is sent to a disabled endpoint
    assert delivery.status == S.PENDING
    entry = Activity.objects.get(verb="webhook.disabled", subject_id=endpoint.pk)
    assert entry.actor is None and "failed attempts" in entry.changes["reason"]


def test_a_dead_delivery_can_be_retried(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.reply(Reply(500))
    endpoint, _ = make_endpoint(receiver.url())
    delivery = _send_test(admin_user_p, endpoint)
    assert delivery.status == S.DEAD
    delivery_retry(actor=admin_user_p, delivery=delivery)
    deliveries_send_due(max_seconds=10)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SUCCEEDED, 1)
    assert Activity.objects.filter(verb="webhook.delivery_retried").count() == 1


def test_after_rotation_both_secrets_sign_until_the_grace_ends(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    endpoint, old = make_endpoint(receiver.url())
    new = endpoint_rotate_secret(actor=admin_user_p, endpoint=endpoint)
    assert new != old
    _send_test(admin_user_p, endpoint)
    req = receiver.requests[-1]
    verify(old, req.headers, req.body)
    verify(new, req.headers, req.body)
    # After the grace period only the new one signs
    endpoint.refresh_from_db()
    endpoint.previous_secret_expires_at = timezone.now() - dt.timedelta(seconds=1)
    endpoint.save(update_fields=["previous_secret_expires_at"])
    _send_test(admin_user_p, endpoint)
    req = receiver.requests[-1]
    assert len(req.headers["webhook-signature"].split()) == 1
    verify(new, req.headers, req.body)


def test_a_lease_left_by_a_dead_worker_is_picked_up_again(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    from patron.webhooks.services.delivery import claim

    endpoint, _ = make_endpoint(receiver.url())
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    assert len(claim(timezone.now(), 10)) == 1  # a worker claims it, then dies
    assert deliveries_send_due(max_seconds=5) == (0, False)  # leased: not sent twice
    # The lease (next_attempt_at = claim + 10 minutes) runs out:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - dt.timedelta(seconds=1)
    )
    deliveries_send_due(max_seconds=5)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (S.SUCCEEDED, 2)
    assert len(receiver.requests) == 1
