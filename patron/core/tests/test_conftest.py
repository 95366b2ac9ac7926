"""The shared test set-up (repo-root conftest.py) does what every test relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate

from conftest import PG_UNREACHABLE_EXIT, TEST_PASSWORD, ensure_defaults
from patron.accounts.models import Role
from patron.accounts.services import apikey_authenticate
from patron.core.models import Workspace
from patron.core.permissions import DEFAULT_ROLES

ROOT = Path(__file__).resolve().parents[3]


def _pytest_against(url: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(DATABASE_URL=url)
    if ci:
        env["CI"] = "true"
    else:
        env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "patron/core/tests/test_health.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [True, False])
def test_unreachable_postgres_fails_the_session_never_skips(ci):
    # given a PostgreSQL URL where nothing listens
    result = _pytest_against("postgres://postgres@127.0.0.1:1/patron", ci=ci)
    # then the session ends with an error before any test ran
    output = result.stdout + result.stderr
    assert result.returncode == PG_UNREACHABLE_EXIT, output
    assert "PostgreSQL is not reachable" in output
    assert ("CI=true: this is a failure" in output) is ci
    assert "passed" not in output and "skipped" not in output


def test_unreachable_message_does_not_print_the_password():
    result = _pytest_against("postgres://patron:s3cret-pw@127.0.0.1:1/patron", ci=True)
    output = result.stdout + result.stderr
    assert result.returncode == PG_UNREACHABLE_EXIT
    assert "postgres://patron:***@127.0.0.1:1/patron" in output
    assert "s3cret-pw" not in output


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])  # the second run follows the first one's flush
def test_roles_and_workspace_exist_even_after_a_flush(run):
    assert set(Role.objects.values_list("key", flat=True)) == set(DEFAULT_ROLES)
    workspace = Workspace.objects.get(pk=1)
    assert workspace.lifecycle_stages  # as the data migration creates it


def test_ensure_defaults_restores_what_a_flush_removes(db):
    # given the tables as a transactional test's flush leaves them
    Role.objects.all().delete()
    Workspace.objects.all().delete()
    # when the defaults are ensured
    ensure_defaults()
    # then the roles and the workspace are back, with their migration-made content
    assert set(Role.objects.values_list("key", flat=True)) == set(DEFAULT_ROLES)
    admin = Role.objects.get(key="admin")
    assert set(admin.permissions) == set(DEFAULT_ROLES["admin"][1])
    assert Workspace.objects.get(pk=1).lifecycle_stages


def test_make_user_gives_distinct_users_with_role_and_known_password(make_user):
    first, second = make_user(), make_user("support")
    assert first.username != second.username
    assert (first.role.key, second.role.key) == ("sales", "support")
    assert authenticate(username=first.username, password=TEST_PASSWORD) == first


def test_role_fixtures(admin_user_p, readonly_user_p):
    assert admin_user_p.is_superuser and admin_user_p.role.key == "admin"
    assert readonly_user_p.role.key == "readonly" and not readonly_user_p.is_superuser
    assert readonly_user_p.has_perm_code("contact.view")
    assert not readonly_user_p.has_perm_code("contact.edit")


def test_client_for_is_logged_in_as_the_user(client_for, sales_user_p):
    client = client_for(sales_user_p)
    assert client.session["_auth_user_id"] == str(sales_user_p.pk)


def test_make_api_key_returns_a_working_key(make_api_key):
    user = apikey_authenticate(make_api_key("marketing"))
    assert user is not None and user.role.key == "marketing"
