"""The Webhooks pages in a real Chromium: create an endpoint, see the secret once, send
a test event to a loopback receiver, refresh the log with htmx. No CSP violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.webhooks.models import WebhookEndpoint
from patron.webhooks.tests.conftest import Receiver
from patron.webhooks.vault import decrypt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple-42"


def test_create_test_and_log(
    live_server: Any, page: Any, receiver: Receiver, tmp_path: Any
) -> None:
    roles_ensure_defaults()
    user_create(actor=None, username="ada", password=PASSWORD, role_key="admin")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click("nav >> text=Webhooks")
    page.click("text=New endpoint")
    page.fill("#id_name", "<b>CRM</b> sync")
    page.fill("#id_url", receiver.url("/in"))
    page.check("input[name=event_types][value='segment.entered']")
    page.click("button:has-text('Create endpoint')")
    endpoint = WebhookEndpoint.objects.get()
    secret = decrypt(endpoint.secret_encrypted)
    expect(page.locator("#webhook-secret")).to_have_value(secret)
    page.screenshot(path=str(tmp_path / "secret.png"), full_page=True)
    page.click("text=Done")
    expect(page.locator("h1")).to_have_text("<b>CRM</b> sync")
    assert secret not in page.content()
    page.click("button:has-text('Send a test event')")
    expect(page.locator(".flash")).to_contain_text("Test event delivered (HTTP 200)")
    expect(page.locator("#delivery-log")).to_contain_text("Succeeded")
    page.click("button:has-text('Refresh')")
    expect(page.locator("#delivery-log")).to_contain_text("webhook.test")
    page.screenshot(path=str(tmp_path / "detail.png"), full_page=True)
    assert len(receiver.requests) == 1
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
