"""End to end in a real Chromium: from the profile's Privacy card, erase a person with the
typed confirmation, see the result page and the erasure log (root conftest's browser)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.privacy.models import Erasure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "a-long-test-password-123"


def test_erase_a_person_from_the_profile(live_server: Any, page: Any) -> None:
    roles_ensure_defaults()
    admin = user_create(
        actor=None, username="grace", password=PASSWORD, role_key="admin", first_name="Grace"
    )
    ada = contact_create(
        actor=admin, data={"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    )
    base = live_server.url
    page.goto(f"{base}/login/")
    page.fill("#id_username", "grace")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/contacts/")

    page.goto(f"{base}/contacts/{ada.pk}/")
    page.click("#privacy-erase")
    page.wait_for_url(f"{base}/privacy/contacts/{ada.pk}/erase/")
    # A wrong name is refused and nothing happens.
    page.fill("#erase-confirm", "Ada Byron")
    page.click("#erase-submit")
    expect(page.locator("#erase-error")).to_be_visible()
    assert Contact.objects.filter(pk=ada.pk).exists()
    # The name as shown confirms.
    page.fill("#erase-confirm", "ada lovelace")
    page.click("#erase-submit")
    expect(page.locator("h1")).to_have_text(f"Contact #{ada.pk} was erased")
    record = Erasure.objects.get()
    assert page.url == f"{base}/privacy/erasures/{record.pk}/"
    assert not Contact.objects.filter(pk=ada.pk).exists()
    expect(page.locator("#erasure-counts")).to_contain_text("contacts.Contact")
    assert "Lovelace" not in page.content()
    page.goto(f"{base}/privacy/erasures/")
    expect(page.locator("#erasure-log tbody tr")).to_have_count(1)
