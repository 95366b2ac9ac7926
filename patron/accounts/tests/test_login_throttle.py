"""Login throttling: no enumeration, lock-out after repeated failures, audit entry."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from patron.core.models import Activity

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client: Client, username: str, password: str):
    return client.post(reverse("web:login"), {"username": username, "password": password})


def test_success_is_audited(make_user):
    user = make_user("sales", username="ana", password="correct horse battery")
    response = _login(Client(), "ana", "correct horse battery")
    assert response.status_code == 302
    assert Activity.objects.filter(verb="user.logged_in", actor=user).count() == 1


def test_lockout_after_failures_even_with_the_right_password(make_user, settings):
    settings.PATRON_LOGIN_MAX_FAILURES_PER_USER = 3
    make_user("sales", username="bob", password="correct horse battery")
    client = Client()
    for _ in range(3):
        assert _login(client, "bob", "wrong").status_code == 200
    locked = _login(client, "bob", "correct horse battery")
    assert locked.status_code == 200  # the form again, not a redirect
    assert "_auth_user_id" not in client.session
    assert not Activity.objects.filter(verb="user.logged_in").exists()


def test_unknown_and_known_users_fail_identically(make_user, settings):
    settings.PATRON_LOGIN_MAX_FAILURES_PER_USER = 2
    make_user("sales", username="carol", password="correct horse battery")
    bodies = []
    for name in ("carol", "nobody-here"):
        client = Client()
        for _ in range(3):
            r = _login(client, name, "wrong")
            assert r.status_code == 200
        body = r.content.decode().replace(name, "NAME")
        bodies.append(re.sub(r"[A-Za-z0-9]{48,}", "", body))  # CSRF tokens differ
    # the same page, word for word, whether the account exists or not
    assert bodies[0] == bodies[1]
    assert "didn't match" in bodies[0]  # the one generic message
