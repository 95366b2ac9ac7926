"""End to end in a real Chromium: log in, live search, open a profile, see the timeline.

Runs Debian's Chromium through Playwright (the root conftest's session browser). Without it the
test is skipped, except in CI (``CI=true``) where a missing browser is a failure.
Screenshots go to ``$PATRON_SCREENSHOT_DIR`` (default ``/tmp``).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.commerce.models import Order
from patron.contacts.services import (
    company_create,
    contact_company_link,
    contact_create,
    note_create,
)
from patron.events.models import Event
from patron.privacy.models import Consent
from patron.support.models import SurveyResponse, Ticket
from patron.web.tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("PATRON_SCREENSHOT_DIR", "/tmp"))


@pytest.fixture
def chromium(chromium_browser: Any) -> Any:
    """The session's one Chromium (root conftest): one Playwright loop per process."""
    return chromium_browser


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))

    def on_console(msg: Any) -> None:
        # A form with errors answers 422 on purpose; anything else is a problem.
        if msg.type in ("error", "warning") and "status of 422" not in msg.text:
            problems.append(msg.text)

    page.on("console", on_console)
    page.problems = problems
    yield page
    context.close()


def _seed() -> Any:
    roles_ensure_defaults()
    admin = user_create(
        actor=None,
        username="grace",
        password=PASSWORD,
        role_key="admin",
        first_name="Grace",
        last_name="Owner",
        email="grace@patron.example",
    )
    rep = user_create(
        actor=None, username="sam", password=PASSWORD, role_key="sales", first_name="Sam"
    )
    acme = company_create(actor=admin, data={"name": "Acme Analytics", "domain": "acme.example"})
    people = [
        ("Ada", "Lovelace", "ada@acme.example", "+44 20 7946 0018", "GB", "customer", ["vip"]),
        ("Alan", "Turing", "alan@bletchley.example", "+44 161 496 0000", "GB", "sql", []),
        ("Grace", "Hopper", "grace@navy.example", "+1 202 555 0143", "US", "evangelist", []),
        ("Katherine", "Johnson", "kj@nasa.example", "+1 757 555 0199", "US", "lead", ["b2b"]),
        ("Hedy", "Lamarr", "hedy@films.example", "+43 1 5134567", "AT", "opportunity", []),
        ("Linus", "Torvalds", "linus@kernel.example", "+358 9 4242424", "FI", "mql", []),
        ("Margaret", "Hamilton", "margaret@mit.example", "+1 617 555 0123", "US", "customer", []),
        ("Tim", "Berners-Lee", "tim@w3.example", "+41 22 767 6111", "CH", "subscriber", []),
        ("Barbara", "Liskov", "liskov@mit.example", "+1 617 555 0456", "US", "churned", []),
        ("Radia", "Perlman", "radia@net.example", "+1 408 555 0111", "US", "lead", []),
    ]
    contacts = {}
    for first, last, email, phone, country, stage, tags in people:
        contacts[last] = contact_create(
            actor=admin,
            data={
                "first_name": first,
                "last_name": last,
                "email": email,
                "phone": phone,
                "country": country,
                "lifecycle_stage": stage,
                "tags": tags,
                "job_title": "Engineer" if last != "Lovelace" else "Head of Analytics",
                "owner_id": rep.pk if last in ("Turing", "Hopper") else admin.pk,
                "city": "London" if country == "GB" else "",
                "language": "en",
                "time_zone": "Europe/London" if country == "GB" else "",
            },
        )
    ada = contacts["Lovelace"]
    contact_company_link(actor=admin, contact=ada, company=acme, role="Head of Analytics")
    now = timezone.now()
    Event.objects.create(
        contact=ada,
        type="page",
        name="Pricing",
        properties={"url": "https://acme.example/pricing"},
        timestamp=now - dt.timedelta(days=6),
        received_at=now,
    )
    Order.objects.create(
        contact=ada,
        external_id="A-1001",
        total=Decimal("249.00"),
        currency="GBP",
        placed_at=now - dt.timedelta(days=5),
    )
    Ticket.objects.create(
        contact=ada, subject="Invoice address wrong", opened_at=now - dt.timedelta(days=3)
    )
    SurveyResponse.objects.create(
        contact=ada,
        kind="nps",
        score=10,
        comment="Best analytics engine!",
        responded_at=now - dt.timedelta(days=2),
    )
    Consent.objects.create(
        contact=ada,
        purpose="email_marketing",
        channel="email",
        status="granted",
        lawful_basis="consent",
        source="signup form",
        recorded_at=now - dt.timedelta(days=7),
    )
    note_create(actor=admin, contact=ada, body="Interested in the enterprise plan.\nCall back.")
    return ada


def test_login_search_profile_timeline(live_server: Any, browser_page: Any) -> None:
    ada = _seed()
    page = browser_page
    base = live_server.url

    # log in
    page.goto(f"{base}/login/")
    page.screenshot(path=str(SHOTS / "patron-login.png"))
    _log_in(page, base)
    expect(page.locator("#contact-rows tr")).to_have_count(10)
    page.screenshot(path=str(SHOTS / "patron-contacts.png"), full_page=True)

    # "/" focuses the search box; typing part of a name filters live (no page load)
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("lovel", delay=40)
    rows = page.locator("#contact-rows tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#contact-rows .person-name")).to_have_text("Ada Lovelace")
    assert "q=lovel" in page.url  # the search is in the address bar (hx-push-url)

    # part of a phone number works too
    page.fill("#q", "7946")
    page.keyboard.press("End")
    page.keyboard.type(" ")
    expect(page).to_have_url(re.compile(r"q=7946"))
    expect(rows).to_have_count(1)
    expect(page.locator("#contact-rows .person-name")).to_have_text("Ada Lovelace")

    # open the profile: header, details and one merged timeline
    page.click("#contact-rows a.person")
    page.wait_for_url(f"{base}/contacts/{ada.pk}/")
    assert page.locator("h1#contact-name").inner_text() == "Ada Lovelace"
    timeline = page.locator("#timeline-items")
    for text in (
        "Interested in the enterprise plan.",
        "NPS score 10",
        "Ticket: Invoice address wrong",
        "Order A-1001",
        "Viewed page Pricing",
        "Contact created",
    ):
        assert timeline.get_by_text(text).first.is_visible(), text
    page.screenshot(path=str(SHOTS / "patron-profile.png"), full_page=True)

    # the timeline filter shows one kind at a time
    page.click("[data-timeline-filter=order]")
    expect(timeline.locator(".tl-item:visible")).to_have_count(1)
    expect(timeline.locator(".tl-item:visible")).to_contain_text("Order A-1001")
    page.click("[data-timeline-filter='']")
    expect(timeline.locator(".tl-item:visible")).to_have_count(7)

    # add a note with htmx: it appears on top of the timeline and the form empties
    page.fill("#note-body", "Sent the proposal <script>window.pwned=1</script>")
    page.click("#note-form button[type=submit]")
    first = page.locator("#timeline-items .tl-item").first
    expect(first).to_contain_text("Sent the proposal <script>window.pwned=1</script>")
    assert page.evaluate("window.pwned === undefined")
    expect(page.locator("#note-body")).to_have_value("")

    # tags: add one with htmx
    page.fill("#tag-input", "enterprise")
    page.keyboard.press("Enter")
    expect(page.locator("#contact-tags .tag", has_text="enterprise")).to_be_visible()

    # "/" on a page without a search box goes to the contact search, focused
    page.locator("h1#contact-name").click()
    page.keyboard.press("/")
    page.wait_for_url(f"{base}/contacts/#search")
    expect(page.locator("#q")).to_be_focused()

    # no CSP violations or script errors on the way
    assert page.problems == [], page.problems


def _log_in(page: Any, base: str, username: str = "grace") -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/contacts/")


def test_form_errors_company_page_and_small_screens(live_server: Any, browser_page: Any) -> None:
    ada = _seed()
    page = browser_page
    base = live_server.url
    _log_in(page, base)

    # a service error shows next to its field, and nothing is created
    page.goto(f"{base}/contacts/new/")
    page.fill("#id_first_name", "Broken")
    page.fill("#id_email", "broken@")
    page.click("form.form-card button[type=submit]")
    error = page.locator(".field.has-error", has=page.locator("#id_email")).locator(".field-error")
    expect(error).to_contain_text("Enter a valid email address")
    expect(page.locator("#id_email")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=str(SHOTS / "patron-form-errors.png"), full_page=True)

    # the company profile lists its people
    page.goto(f"{base}/companies/")
    page.click("text=Acme Analytics")
    expect(page.locator("h1#company-name")).to_have_text("Acme Analytics")
    expect(page.locator("#h-people + ul")).to_contain_text("Ada Lovelace")
    page.screenshot(path=str(SHOTS / "patron-company.png"), full_page=True)

    # phones: the list and the profile stay usable without sideways scrolling
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/contacts/")
    page.screenshot(path=str(SHOTS / "patron-contacts-mobile.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(f"{base}/contacts/{ada.pk}/")
    page.screenshot(path=str(SHOTS / "patron-profile-mobile.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.problems == [], page.problems
