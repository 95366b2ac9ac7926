"""Webhook pages: every route refuses users without ``webhook.manage`` (and changes
nothing), the secret is shown once, hostile strings are escaped, SSRF URLs are refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from patron.core.models import Activity
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services import endpoint_send_test
from patron.webhooks.tests.conftest import Receiver, Reply
from patron.webhooks.urls import urlpatterns
from patron.webhooks.vault import decrypt

pytestmark = pytest.mark.django_db

# name -> (method, object kind or None, POST data, allowed answer)
ROUTES: dict[str, tuple[str, str | None, dict[str, Any] | None, int]] = {
    "list": ("GET", None, None, 200),
    "new": (
        "POST",
        None,
        {"name": "Refused", "url": "https://93.184.216.34/", "event_types": ["segment.entered"]},
        200,
    ),
    "detail": ("GET", "endpoint", None, 200),
    "edit": (
        "POST",
        "endpoint",
        {
            "name": "Changed",
            "url": "https://hooks.example.com/in",
            "event_types": ["segment.entered"],
        },
        302,
    ),
    "rotate": ("POST", "endpoint", {}, 200),
    "active": ("POST", "endpoint", {"active": "0"}, 302),
    "test": ("POST", "endpoint", {}, 302),
    "delete": ("POST", "endpoint", {}, 302),
    "retry": ("POST", "delivery", {}, 302),
}


def test_the_route_table_lists_every_webhooks_url() -> None:
    assert {p.name for p in urlpatterns} == set(ROUTES)


def db_state() -> tuple[Any, ...]:
    return (
        list(WebhookEndpoint.objects.order_by("pk").values()),
        list(WebhookDelivery.objects.order_by("pk").values()),
        Activity.objects.count(),
    )


@pytest.fixture
def records(admin_user_p: Any, settings: Any, fake_dns: Any) -> dict[str, Any]:
    # A public name (faked), so saving passes; its deliveries are refused at send time
    # by the rebinding below, so nothing leaves this machine.
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    from patron.webhooks.services import endpoint_create

    endpoint, _ = endpoint_create(
        actor=admin_user_p,
        data={
            "name": "Target hook",
            "url": "https://hooks.example.com/in",
            "event_types": ["segment.entered"],
        },
    )
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="dead")
    fake_dns({"hooks.example.com": ["127.0.0.1"]})
    return {"endpoint": endpoint, "delivery": delivery}


def _url(name: str, records: dict[str, Any]) -> str:
    kind = ROUTES[name][1]
    return reverse(f"webhooks:{name}", args=[records[kind].pk] if kind else [])


def _request(client: Client, name: str, records: dict[str, Any]) -> Any:
    method, _, data, _ = ROUTES[name]
    url = _url(name, records)
    return client.post(url, data or {}) if method == "POST" else client.get(url)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_admin_is_allowed(admin_user_p: Any, client_for: Any, records: Any, name: str) -> None:
    response = _request(client_for(admin_user_p), name, records)
    assert response.status_code == ROUTES[name][3], name


@pytest.mark.parametrize("role", ["manager", "marketing", "readonly"])
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_roles_without_the_permission_are_refused_and_nothing_changes(
    make_user: Any, client_for: Any, records: Any, name: str, role: str
) -> None:
    client = client_for(make_user(role))
    before = db_state()
    response = _request(client, name, records)
    assert response.status_code == 403, name
    assert b"Target hook" not in response.content
    assert b"whsec_" not in response.content
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_anonymous_is_sent_to_login_and_nothing_changes(records: Any, name: str) -> None:
    before = db_state()
    response = _request(Client(), name, records)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r[1]))
def test_missing_records_are_404(
    admin_user_p: Any, client_for: Any, records: Any, name: str
) -> None:
    method, kind, data, _ = ROUTES[name]
    url = reverse(f"webhooks:{name}", args=[999_999])
    client = client_for(admin_user_p)
    response = client.post(url, data or {}) if method == "POST" else client.get(url)
    assert response.status_code == 404


def test_nav_shows_webhooks_to_admins_only(
    admin_user_p: Any, make_user: Any, client_for: Any
) -> None:
    link = reverse("webhooks:list").encode()
    assert link in client_for(admin_user_p).get(reverse("web:contacts")).content
    assert link not in client_for(make_user("manager")).get(reverse("web:contacts")).content


def test_create_shows_the_secret_once_and_escapes_hostile_names(
    admin_user_p: Any, client_for: Any, fake_dns: Any
) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    client = client_for(admin_user_p)
    hostile = '<script>alert(1)</script><svg onload=x> =cmd|"/c calc"'
    response = client.post(
        reverse("webhooks:new"),
        {
            "name": hostile,
            "url": "https://hooks.example.com/in",
            "event_types": ["segment.entered", "segment.exited"],
        },
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    secret = decrypt(endpoint.secret_encrypted)
    assert secret.startswith("whsec_") and secret.encode() in response.content
    assert endpoint.secret_encrypted.encode() not in response.content
    assert response["Cache-Control"] == "no-store"
    assert b"<script>alert(1)" not in response.content
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in response.content
    for page in (reverse("webhooks:list"), reverse("webhooks:detail", args=[endpoint.pk])):
        body = client.get(page).content
        assert secret.encode() not in body
        assert endpoint.secret_encrypted.encode() not in body
        assert b"<svg onload" not in body
    entry = Activity.objects.get(verb="webhook.created")
    assert secret not in str(entry.changes)
    assert endpoint.secret_encrypted not in str(entry.changes)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://169.254.169.254/latest/meta-data/",
        "https://0x7f000001/",
        "http://93.184.216.34/",
    ],
)
def test_the_form_refuses_internal_urls_and_saves_nothing(
    admin_user_p: Any, client_for: Any, url: str
) -> None:
    response = client_for(admin_user_p).post(
        reverse("webhooks:new"),
        {"name": "internal", "url": url, "event_types": ["segment.entered"]},
    )
    assert response.status_code == 422
    assert b"https" in response.content or b"private, loopback" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_edit_refuses_an_internal_url(admin_user_p: Any, client_for: Any, records: Any) -> None:
    endpoint = records["endpoint"]
    response = client_for(admin_user_p).post(
        reverse("webhooks:edit", args=[endpoint.pk]),
        {"name": "x", "url": "https://10.1.2.3/", "event_types": ["segment.entered"]},
    )
    assert response.status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.url == "https://hooks.example.com/in"


def test_send_a_test_event_and_retry_from_the_log(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, client_for: Any
) -> None:
    endpoint, _ = make_endpoint(receiver.url())
    client = client_for(admin_user_p)
    receiver.reply(Reply(410))
    response = client.post(reverse("webhooks:test", args=[endpoint.pk]), follow=True)
    assert b"Test event not delivered: HTTP 410" in response.content
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    log = client.get(
        reverse("webhooks:detail", args=[endpoint.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="delivery-log",
    )
    assert b'id="delivery-log"' in log.content and b"HTTP 410" in log.content
    assert b'class="shell"' not in log.content
    client.post(reverse("webhooks:retry", args=[delivery.pk]))
    from patron.webhooks.services.delivery import deliveries_send_due

    deliveries_send_due(max_seconds=5)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert len(receiver.requests) == 2
