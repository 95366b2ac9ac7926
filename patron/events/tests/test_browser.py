"""End to end in a real Chromium: create a source, watch the live debugger pick up events
sent with its write key (htmx polling under the CSP), and the profile's behaviour card.

Runs Debian's Chromium through Playwright (the root conftest's session browser); skipped
without it, except in CI.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Contact

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-123"


@pytest.fixture
def browser_page(chromium_browser: Any) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    page.problems = problems
    yield page
    context.close()


def _track(base: str, key: str, message: dict[str, Any]) -> None:
    """A tracking call as a library makes it (HTTP Basic, write key as user name)."""
    token = base64.b64encode(f"{key}:".encode()).decode()
    request = urllib.request.Request(
        f"{base}/v1/{message['type']}",
        data=json.dumps(message).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        assert response.status == 200


def test_sources_page_and_live_debugger(live_server: Any, browser_page: Any, settings) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    roles_ensure_defaults()
    user_create(actor=None, username="grace", password=PASSWORD, role_key="admin")
    page, base = browser_page, live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "grace")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/contacts/")

    # the nav leads to Sources; a new source shows its write key once
    page.click("nav.nav >> text=Sources")
    page.wait_for_url(f"{base}/events/sources/")
    page.fill("#id_name", "Website")
    page.click("text=Create source")
    key = page.locator("code.events-key").inner_text().strip()
    assert key.startswith("wk_")
    page.click("text=Open the debugger")
    expect(page.locator("#debugger")).to_contain_text("No events received recently")

    # events sent with the key appear without reloading the page (hx-get polling)
    _track(base, key, {"type": "identify", "userId": "u1", "traits": {"name": "Ann Lee"}})
    _track(base, key, {"type": "track", "userId": "u1", "event": "Signed Up"})
    expect(page.locator("#debugger")).to_contain_text("Signed Up", timeout=8_000)
    page.locator("#debugger details summary").first.click()
    page.screenshot(path="/tmp/patron-debugger.png", full_page=True)

    # the profile loads the identity graph and behaviour card
    contact = Contact.objects.get()
    page.goto(f"{base}/contacts/{contact.pk}/")
    card = page.locator("#behaviour-card")
    expect(card).to_contain_text("Signed Up")
    expect(card).to_contain_text("u1")
    page.screenshot(path="/tmp/patron-behaviour.png", full_page=True)
    assert page.problems == []
