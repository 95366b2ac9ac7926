"""Log in, log out, error pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from patron.web.tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_renders_without_inline_script_or_style(client):
    response = client.get(reverse("web:login"))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_login_with_valid_credentials_lands_on_contacts(user_factory):
    user = user_factory("sales", username="logmein")
    client = Client()
    response = client.post(
        reverse("web:login"), {"username": "logmein", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("web:contacts")
    assert int(client.session["_auth_user_id"]) == user.pk


def test_wrong_password_shows_an_error_without_telling_which_part(user_factory):
    user_factory("sales", username="someone")
    client = Client()
    for username in ("someone", "nobody-at-all"):
        response = client.post(
            reverse("web:login"), {"username": username, "password": "wrong-password"}
        )
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post(admin, login):
    client = login(admin)
    assert client.get(reverse("web:logout")).status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post(reverse("web:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("web:login")
    assert "_auth_user_id" not in client.session


def test_user_menu_and_navigation(admin, login):
    html = login(admin).get(reverse("web:contacts")).content.decode()
    assert "Ada" in html and "Administrator" in html
    assert f'action="{reverse("web:logout")}"' in html
    assert reverse("web:companies") in html
    assert reverse("admin:index") in html  # staff only


def test_navigation_lists_only_permitted_sections(user_factory, login):
    html = login(user_factory("readonly")).get(reverse("web:contacts")).content.decode()
    assert reverse("admin:index") not in html
    assert reverse("web:companies") in html


def test_home_redirects_to_contacts(admin, login):
    response = login(admin).get(reverse("web:home"))
    assert response.status_code == 302 and response["Location"] == reverse("web:contacts")


def test_no_page_uses_inline_script_or_style(admin, login, make_contact, make_company):
    contact = make_contact(first_name="Csp", last_name="Check")
    company = make_company(name="Csp Co")
    client = login(admin)
    for url in (
        reverse("web:contacts"),
        reverse("web:contact_detail", args=[contact.pk]),
        reverse("web:contact_new"),
        reverse("web:contact_edit", args=[contact.pk]),
        reverse("web:companies"),
        reverse("web:company_detail", args=[company.pk]),
        reverse("web:company_new"),
        reverse("web:company_edit", args=[company.pk]),
    ):
        html = client.get(url).content.decode()
        assert "<script>" not in html and "<style" not in html, url
        assert " style=" not in html and " onclick=" not in html and " hx-on" not in html, url
