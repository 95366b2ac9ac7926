"""The visual builder in a real Chromium: add conditions, see the text and the live count
follow, edit the text and see the builder follow, save. (No console errors: CSP holds.)"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Contact, Tag
from patron.segments.models import Segment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple-42"


def test_builder_text_and_live_count(live_server: Any, page: Any) -> None:
    roles_ensure_defaults()
    user_create(actor=None, username="mia", password=PASSWORD, role_key="marketing")
    vip = Tag.objects.create(name="vip")
    for i in range(3):
        c = Contact.objects.create(first_name=f"P{i}", city="Berlin" if i else "Rome")
        c.tags.add(vip)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "mia")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/segments/new/")
    # Add a tag condition in the builder: the text and the count follow
    page.select_option("#segment-builder select[aria-label='add condition']", "tag")
    page.fill("#segment-builder input[aria-label='tag']", "vip")
    page.press("#segment-builder input[aria-label='tag']", "Tab")
    expect(page.locator("#rules-text")).to_have_value('tag "vip"')
    expect(page.locator("[data-count]")).to_have_text("3")
    # Edit the text: the builder and the count follow
    page.fill("#rules-text", 'tag "vip" and city = "Berlin"')
    page.press("#rules-text", "Tab")
    expect(page.locator("[data-count]")).to_have_text("2")
    expect(page.locator("#segment-builder .seg-cond")).to_have_count(2)
    page.fill("#f-name", "Berlin VIPs")
    page.click("button:has-text('Save')")
    expect(page.locator("h1")).to_have_text("Berlin VIPs")
    seg = Segment.objects.get(name="Berlin VIPs")
    assert seg.rules["and"][1] == {"kind": "field", "field": "city", "op": "eq", "value": "Berlin"}
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
