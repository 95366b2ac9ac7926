"""Every web route: allowed users get the page, others are refused and nothing changes.

The route table below must list every URL of patron/web/urls.py (a test checks it), so a
new view cannot ship without its allowed/refused tests.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from patron.web.tests.conftest import db_state
from patron.web.urls import urlpatterns

pytestmark = pytest.mark.django_db

# name -> (method, object kind or None, POST data)
ROUTES = {
    "contacts": ("GET", None, None),
    "contact_new": ("POST", None, {"first_name": "Refused"}),
    "contact_detail": ("GET", "contact", None),
    "contact_edit": ("POST", "contact", {"first_name": "Changed"}),
    "contact_note_add": ("POST", "contact", {"body": "refused note"}),
    "contact_timeline": ("GET", "contact", None),
    "contact_tag_add": ("POST", "contact", {"tag": "refused"}),
    "contact_tag_remove": ("POST", "contact", {"tag": "keep"}),
    "companies": ("GET", None, None),
    "company_new": ("POST", None, {"name": "Refused Inc"}),
    "company_detail": ("GET", "company", None),
    "company_edit": ("POST", "company", {"name": "Changed Inc"}),
    "company_note_add": ("POST", "company", {"body": "refused note"}),
}
PUBLIC = {"login", "logout", "home"}


def test_the_route_table_lists_every_web_url():
    assert {p.name for p in urlpatterns} == set(ROUTES) | PUBLIC


@pytest.fixture
def records(admin, make_contact, make_company):
    return {
        "contact": make_contact(first_name="Target", last_name="Person", tags=["keep"]),
        "company": make_company(name="Target Inc"),
    }


def _url(name: str, records: dict) -> str:
    _, kind, _ = ROUTES[name]
    return reverse(f"web:{name}", args=[records[kind].pk] if kind else [])


def _request(client: Client, name: str, records: dict):
    method, _, data = ROUTES[name]
    url = _url(name, records)
    return client.post(url, data) if method == "POST" else client.get(url)


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_allowed_user_gets_each_page(admin, login, records, name):
    client = login(admin)
    method, kind, _ = ROUTES[name]
    # GET renders every page (write endpoints that only take POST answer 405)
    response = client.get(_url(name, records))
    if name in ("contact_note_add", "contact_tag_add", "contact_tag_remove", "company_note_add"):
        assert response.status_code == 405
        response = _request(client, name, records)
        assert response.status_code == 302
    else:
        assert response.status_code == 200, name
        assert b'class="shell"' in response.content or name == "contact_timeline"


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_user_without_permission_is_refused_and_nothing_changes(user_factory, login, records, name):
    client = login(user_factory("nobody"))
    before = db_state()
    response = _request(client, name, records)
    assert response.status_code == 403, name
    assert b"Target" not in response.content
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(n for n, r in ROUTES.items() if r[1]))
def test_out_of_scope_record_is_404_and_nothing_changes(
    user_factory, login, records, restrict_own, name
):
    rep = user_factory("sales")
    restrict_own()
    before = db_state()
    response = _request(login(rep), name, records)
    assert response.status_code == 404, name
    assert b"Target" not in response.content
    assert db_state() == before


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_anonymous_is_sent_to_login_and_nothing_changes(records, name):
    before = db_state()
    response = _request(Client(), name, records)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))
    assert db_state() == before
