"""A person imports companies in a real Chromium: choose the target and the encoding,
see the columns matched, check the file, run it, see the result (no CSP errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Company
from patron.imports.models import ImportJob
from patron.imports.services import import_job_run

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct-horse-battery-staple-42"


def test_import_companies_through_the_pages(live_server: Any, page: Any, tmp_path: Path) -> None:
    roles_ensure_defaults()
    user_create(actor=None, username="max", password=PASSWORD, role_key="manager")
    path = tmp_path / "firmen.csv"
    path.write_bytes(
        "Firmenname;Webseite;Land\nMüller AG;www.mueller.de;Deutschland\n".encode("cp1252")
    )
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "max")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/imports/new/")
    page.select_option("#target", "companies")
    page.select_option("#encoding", "cp1252")
    page.set_input_files("#file", str(path))
    page.click("button:has-text('Upload')")
    expect(page.locator("h1")).to_have_text("Map columns")
    expect(page.locator("#map-0")).to_have_value("name")
    expect(page.locator("#map-1")).to_have_value("website")
    expect(page.locator("#map-2")).to_have_value("country")
    page.screenshot(path="/tmp/import-targets-mapping.png", full_page=True)
    page.click("button:has-text('Save and continue')")
    page.click("button:has-text('Check the file')")
    expect(page.locator("#preview-counts")).to_contain_text("1 created")
    page.click("button:has-text('Run the import')")
    # The run is queued once the page it posts to has loaded (reloading before that
    # raced the form's navigation: "Not attached to an active page").
    expect(page.locator("body")).to_contain_text("The import is queued")
    import_job_run(job_id=ImportJob.objects.get().pk)  # what the worker does
    page.reload()
    expect(page.locator("#import-progress")).to_contain_text("Done")
    page.screenshot(path="/tmp/import-targets-done.png", full_page=True)
    company = Company.objects.get()
    assert (company.name, company.domain, company.country) == ("Müller AG", "mueller.de", "DE")
    assert not [e for e in errors if "Content Security Policy" in e or "Uncaught" in e], errors
