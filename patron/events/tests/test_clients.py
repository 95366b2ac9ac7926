"""Real client libraries against a live Patron server on loopback.

segment-analytics-python sends the write key in the body (and as Basic auth; the body key
is used); rudder-sdk-python sends it as HTTP Basic only, with gzip bodies. Every event must
arrive exactly once, also when the server fails after storing a batch and the client
retries it, or when the client times out and sends the batch again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished
from django.db import connections
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from patron.commerce.models import Order
from patron.contacts.models import Contact
from patron.events import tracking
from patron.events.models import ContactEventCount, ContactEventSummary, Event
from patron.events.services import source_create

pytestmark = pytest.mark.django_db(transaction=True)

USERS = 5
TRACKS_PER_USER = 40


def _close_connections(**kwargs: Any) -> None:
    connections.close_all()


@pytest.fixture
def live(live_server: Any, settings: Any) -> Iterator[str]:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    # Each request thread of the live server opens its own connection, kept open by
    # CONN_MAX_AGE; close it when the request ends so the test database can be dropped.
    request_finished.connect(_close_connections)
    yield str(live_server.url)
    request_finished.disconnect(_close_connections)


class Flaky:
    """Store the batch, then answer 503 (or stall past the client's timeout) on some calls."""

    def __init__(self, monkeypatch: Any, *, fail_first: int, stall: float = 0.0) -> None:
        self.real = tracking._handle
        self.calls = 0
        self.fail_first = fail_first
        self.stall = stall
        self.lock = threading.Lock()
        monkeypatch.setattr(tracking, "_handle", self)

    def __call__(self, request: Any, kind: str) -> Any:
        response = self.real(request, kind)  # the events are stored and committed
        with self.lock:
            self.calls += 1
            fail = self.calls <= self.fail_first
        if fail and self.stall:
            time.sleep(self.stall)
            return response
        if fail:
            return tracking._error(503, "unavailable", "Try again.")
        return response


def _send_all(client: Any, prefix: str) -> int:
    sent = 0
    for u in range(USERS):
        uid = f"{prefix}-user-{u}"
        client.identify(
            uid, {"email": f"{prefix}{u}@example.com", "name": f"User {u}"}, anonymous_id=f"a-{u}"
        )
        client.page(uid, "Docs", "Home", {"url": "https://example.com/"})
        client.group(uid, f"{prefix}-org", {"name": "Example Org"})
        sent += 3
        for i in range(TRACKS_PER_USER):
            client.track(uid, "Button Clicked", {"i": i})
            sent += 1
        client.track(
            uid,
            "Order Completed",
            {
                "order_id": f"{prefix}-o-{u}",
                "total": 19.5,
                "currency": "USD",
                "products": [{"sku": "S1", "name": "Socks", "price": 19.5, "quantity": 1}],
            },
        )
        sent += 1
    client.flush()
    client.join()
    return sent


def _assert_exactly_once(prefix: str, sent: int) -> None:
    events = Event.objects.filter(user_id__startswith=f"{prefix}-user-")
    assert events.count() == sent
    assert events.values("message_id").distinct().count() == sent
    assert not events.filter(processed=False).exists()
    contacts = Contact.objects.filter(
        identities__kind="user_id", identities__value__startswith=f"{prefix}-user-"
    ).distinct()
    assert contacts.count() == USERS
    for contact in contacts:
        assert contact.first_name == "User" and contact.email.startswith(prefix)
        summary = ContactEventSummary.objects.get(contact=contact)
        assert summary.event_count == 3 + TRACKS_PER_USER + 1
        assert summary.page_views == 1
        clicks = ContactEventCount.objects.get(contact=contact, event="Button Clicked")
        assert clicks.count == TRACKS_PER_USER
        assert contact.companies.get().name == "Example Org"
        assert Order.objects.filter(contact=contact).count() == 1


def test_segment_client_with_write_key_in_body(live: str, monkeypatch: Any) -> None:
    _, key = source_create(actor=None, name="segment")
    seen: list[dict[str, str]] = []
    real = tracking._read_body

    def spy(request: Any, limit: int) -> bytes:
        seen.append({"auth": request.headers.get("Authorization", "")})
        return real(request, limit)

    monkeypatch.setattr(tracking, "_read_body", spy)
    errors: list[Any] = []
    client = SegmentClient(
        write_key=key, host=live, upload_size=50, on_error=lambda e, b: errors.append(e)
    )
    sent = _send_all(client, "seg")
    assert not errors
    assert len(seen) >= sent // 50
    _assert_exactly_once("seg", sent)


def test_segment_client_retries_after_server_errors_store_once(live: str, monkeypatch: Any) -> None:
    _, key = source_create(actor=None, name="segment")
    flaky = Flaky(monkeypatch, fail_first=3)
    errors: list[Any] = []
    client = SegmentClient(
        write_key=key,
        host=live,
        upload_size=50,
        max_retries=5,
        on_error=lambda e, b: errors.append(e),
    )
    sent = _send_all(client, "segr")
    assert not errors and flaky.calls > 3
    _assert_exactly_once("segr", sent)


def test_rudder_client_with_basic_auth_and_gzip(live: str, monkeypatch: Any) -> None:
    _, key = source_create(actor=None, name="rudder")
    encodings: list[str] = []
    real = tracking._read_body

    def spy(request: Any, limit: int) -> bytes:
        encodings.append(request.headers.get("Content-Encoding", ""))
        assert request.headers.get("Authorization", "").startswith("Basic ")
        return real(request, limit)

    monkeypatch.setattr(tracking, "_read_body", spy)
    errors: list[Any] = []
    client = RudderClient(
        write_key=key, host=live, gzip=True, upload_size=50, on_error=lambda e, b: errors.append(e)
    )
    sent = _send_all(client, "rud")
    assert not errors
    assert encodings and set(encodings) == {"gzip"}
    _assert_exactly_once("rud", sent)


def test_rudder_client_retries_after_timeouts_store_once(live: str, monkeypatch: Any) -> None:
    _, key = source_create(actor=None, name="rudder")
    flaky = Flaky(monkeypatch, fail_first=2, stall=1.5)
    errors: list[Any] = []
    client = RudderClient(
        write_key=key,
        host=live,
        gzip=True,
        upload_size=100,
        timeout=1,
        max_retries=5,
        on_error=lambda e, b: errors.append(e),
    )
    sent = _send_all(client, "rudt")
    assert not errors and flaky.calls > 2
    _assert_exactly_once("rudt", sent)


def test_a_rotated_out_key_is_refused_by_the_live_server(live: str) -> None:
    from patron.events.services import source_rotate_key

    source, old = source_create(actor=None, name="old")
    source_rotate_key(actor=None, source=source, grace=__import__("datetime").timedelta(0))
    errors: list[Any] = []
    client = RudderClient(
        write_key=old, host=live, max_retries=0, on_error=lambda e, b: errors.append(e)
    )
    client.track("u1", "Anything")
    client.flush()
    client.join()
    assert errors and getattr(errors[0], "status", None) == 401
    assert not Event.objects.exists()
