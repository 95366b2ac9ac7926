"""Browser smoke test: the test set-up drives Debian's Chromium against a live server."""

from __future__ import annotations

import json

import pytest

from conftest import TEST_PASSWORD

pytestmark = pytest.mark.browser


def test_health_page_in_a_real_browser(live_server, page):
    page.goto(live_server.url + "/healthz")
    assert json.loads(page.inner_text("body"))["database"]["status"] == "ok"


def test_admin_signs_in_through_the_browser(live_server, page, admin_user_p):
    # given the admin sign-in page, styled by static files and guarded by CSRF
    page.goto(live_server.url + "/admin/login/")
    loaded_rules = page.evaluate(
        "[...document.styleSheets].filter(s => (s.href || '').endsWith('/admin/css/base.css'))"
        ".map(s => s.cssRules.length)"
    )
    assert len(loaded_rules) == 1 and loaded_rules[0] > 50  # the stylesheet was served
    # when the admin signs in
    page.fill("#id_username", admin_user_p.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("input[type=submit]")
    # then the site administration opens
    page.wait_for_url(live_server.url + "/admin/")
    assert "Site administration" in page.inner_text("body")


def test_wrong_password_is_refused_in_the_browser(live_server, page, admin_user_p):
    page.goto(live_server.url + "/admin/login/")
    page.fill("#id_username", admin_user_p.username)
    page.fill("#id_password", "not-the-password")
    page.click("input[type=submit]")
    assert "/admin/login/" in page.url
    assert "Please enter the correct username and password" in page.inner_text("body")
