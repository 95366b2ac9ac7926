"""/api/v1/webhooks: CRUD, secret shown once, deliveries, retry; refusals change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from patron.core.models import Activity
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services import endpoint_create, endpoint_send_test
from patron.webhooks.signing import sign_headers, verify

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks"


def _client(make_api_key: Any, role: str) -> Client:
    return Client(headers={"authorization": f"Bearer {make_api_key(role)}"})


def _send(c: Client, method: str, url: str, body: Any = None) -> Any:
    if method == "get":
        return c.get(url)
    return getattr(c, method)(url, json.dumps(body or {}), content_type="application/json")


def _state() -> tuple[Any, ...]:
    return (
        list(WebhookEndpoint.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.order_by("pk").values()),
        Activity.objects.count(),
    )


@pytest.fixture
def hook(admin_user_p: Any, fake_dns: Any) -> WebhookEndpoint:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    endpoint, _ = endpoint_create(
        actor=admin_user_p,
        data={
            "name": "Target hook",
            "url": "https://hooks.example.com/in",
            "event_types": ["segment.entered"],
        },
    )
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="dead", attempts=8)
    return endpoint


def test_crud_round_trip_and_the_secret_once(make_api_key: Any, fake_dns: Any) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    c = _client(make_api_key, "admin")
    body = {
        "name": "CRM sync",
        "url": "https://hooks.example.com/in",
        "event_types": ["segment.entered", "segment.exited"],
    }
    created = _send(c, "post", URL, body)
    assert created.status_code == 201, created.content
    data = created.json()
    secret = data["secret"]
    assert secret.startswith("whsec_")
    pk = data["id"]
    # The secret signs (what a receiver would check)
    verify(secret, sign_headers([secret], "msg_x", b"{}"), b"{}")
    got = c.get(f"{URL}/{pk}")
    assert got.status_code == 200 and "secret" not in got.json()
    assert not {"secret_encrypted", "previous_secret_encrypted"} & set(got.json())
    stored = WebhookEndpoint.objects.get(pk=pk).secret_encrypted
    assert stored and stored != secret
    for page in (got.content.decode(), c.get(URL).content.decode(), created.content.decode()):
        assert stored not in page  # the ciphertext is never shown either
    assert secret not in c.get(URL).content.decode()
    patched = _send(c, "patch", f"{URL}/{pk}", {"name": "Renamed", "is_active": False})
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["is_active"]) == ("Renamed", False)
    rotated = _send(c, "post", f"{URL}/{pk}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (secret, "")
    assert rotated.json()["previous_secret_expires_at"] is not None
    assert _send(c, "delete", f"{URL}/{pk}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://127.0.0.1/"}, "url"),
        ({"url": "https://[::ffff:169.254.169.254]/"}, "url"),
        ({"url": "https://2130706433/"}, "url"),
        ({"event_types": ["contact.deleted"]}, "event_types.0"),
        ({"event_types": []}, "event_types"),
        ({"segment_ids": [999999]}, "segment_ids"),
        ({"role": "admin"}, "role"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_input_is_a_clear_422_and_creates_nothing(
    make_api_key: Any, fake_dns: Any, body: dict[str, Any], field: str
) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    c = _client(make_api_key, "admin")
    before = _state()
    full = {"name": "x", "url": "https://hooks.example.com/in", "event_types": ["segment.entered"]}
    response = _send(c, "post", URL, {**full, **body})
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert _state() == before


def test_deliveries_list_and_retry(make_api_key: Any, hook: WebhookEndpoint) -> None:
    c = _client(make_api_key, "admin")
    page = c.get(f"{URL}/{hook.pk}/deliveries?status=dead")
    assert page.status_code == 200
    [item] = page.json()["items"]
    assert item["status"] == "dead" and item["event_type"] == "webhook.test"
    assert c.get(f"{URL}/{hook.pk}/deliveries?status=bogus").status_code == 422
    retried = _send(c, "post", f"{URL}/deliveries/{item['id']}/retry")
    assert retried.status_code == 200
    assert (retried.json()["status"], retried.json()["attempts"]) == ("pending", 0)
    again = _send(c, "post", f"{URL}/deliveries/{item['id']}/retry")
    assert again.status_code == 422


CALLS = [
    ("get", URL),
    ("post", URL),
    ("get", "{URL}/{pk}"),
    ("patch", "{URL}/{pk}"),
    ("delete", "{URL}/{pk}"),
    ("post", "{URL}/{pk}/rotate-secret"),
    ("get", "{URL}/{pk}/deliveries"),
    ("get", "{URL}/deliveries/{did}"),
    ("post", "{URL}/deliveries/{did}/retry"),
]


@pytest.mark.parametrize("role", ["manager", "marketing", "readonly"])
@pytest.mark.parametrize(("method", "url"), CALLS)
def test_every_call_refuses_keys_without_the_permission(
    make_api_key: Any, hook: WebhookEndpoint, role: str, method: str, url: str
) -> None:
    did = WebhookDelivery.objects.get().pk
    c = _client(make_api_key, role)
    before = _state()
    body = {"name": "x", "url": "https://hooks.example.com/in", "event_types": ["segment.entered"]}
    response = _send(c, method, url.format(URL=URL, pk=hook.pk, did=did), body)
    assert response.status_code == 403, (method, url)
    assert "Target hook" not in response.content.decode()
    assert _state() == before


def test_anonymous_is_refused(hook: WebhookEndpoint) -> None:
    assert Client().get(URL).status_code == 401
    assert Client().get(f"{URL}/{hook.pk}/deliveries").status_code == 401
