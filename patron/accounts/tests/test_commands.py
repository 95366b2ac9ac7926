"""``patron createadmin`` and ``patron apikey``."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.accounts.models import ApiKey, User
from patron.accounts.services import apikey_authenticate
from patron.core.models import Activity

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, no_color=True)
    return out.getvalue()


def _printed_password(output: str) -> str:
    line = next(line for line in output.splitlines() if line.strip().startswith("password:"))
    return line.split("password:", 1)[1].strip()


# --- createadmin ----------------------------------------------------------------------


def test_createadmin_makes_a_superuser_with_admin_role_and_prints_a_strong_password():
    output = run("createadmin")
    user = User.objects.get(username="admin")
    assert user.is_superuser and user.is_staff and user.is_active
    assert user.role.key == "admin"
    password = _printed_password(output)
    assert len(password) >= 20
    # the printed password logs in; it is stored hashed
    assert authenticate(username="admin", password=password) == user
    assert password not in user.password
    assert Activity.objects.filter(verb="user.created", subject_id=user.pk).exists()


def test_createadmin_generates_a_different_password_each_time():
    first = _printed_password(run("createadmin", "--username", "a1"))
    second = _printed_password(run("createadmin", "--username", "a2"))
    assert first != second


def test_createadmin_with_given_password_and_email_does_not_echo_it():
    output = run(
        "createadmin",
        "--username",
        "owner",
        "--email",
        "o@example.com",
        "--password",
        "a-long-enough-pass-9",
    )
    assert "a-long-enough-pass-9" not in output
    user = authenticate(username="owner", password="a-long-enough-pass-9")
    assert user is not None and user.email == "o@example.com"


def test_createadmin_is_idempotent():
    # given an admin that exists
    password = _printed_password(run("createadmin"))
    before = User.objects.get(username="admin").password
    # when it runs again without --reset
    output = run("createadmin")
    # then it says so and changes nothing
    assert "already exists" in output
    assert "password:" not in output
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.get(username="admin").password == before
    assert authenticate(username="admin", password=password) is not None


def test_createadmin_reset_sets_new_password_and_restores_admin_rights(make_user):
    # given a user "admin" who was demoted and deactivated
    user = make_user("readonly", username="admin")
    User.objects.filter(pk=user.pk).update(is_active=False)
    # when createadmin --reset runs
    output = run("createadmin", "--reset")
    # then the user is an active superuser with the admin role and a new password
    user.refresh_from_db()
    assert (user.is_superuser, user.is_staff, user.is_active) == (True, True, True)
    assert user.role.key == "admin"
    assert authenticate(username="admin", password=_printed_password(output)) == user
    # and the reset is in the activity log, without the password
    entry = Activity.objects.get(verb="user.admin_reset", subject_id=user.pk)
    assert entry.changes["after"]["role"] != entry.changes["before"]["role"]
    assert entry.changes["after"]["password"] == "reset"
    assert _printed_password(output) not in str(entry.changes)


def test_createadmin_refuses_a_weak_password_and_creates_nothing():
    with pytest.raises(CommandError, match="Password refused"):
        run("createadmin", "--password", "short")
    with pytest.raises(CommandError, match="Password refused"):
        run("createadmin", "--password", "password123")
    assert not User.objects.filter(username="admin").exists()


def test_createadmin_will_not_touch_an_api_key_service_user():
    run("apikey", "create", "--name", "x", "--role", "readonly")
    service = User.objects.get(is_service=True)
    with pytest.raises(CommandError, match="service user"):
        run("createadmin", "--username", service.username, "--reset")
    service.refresh_from_db()
    assert not service.is_superuser and not service.has_usable_password()


# --- apikey ---------------------------------------------------------------------------


def test_apikey_create_prints_the_working_key_last():
    output = run("apikey", "create", "--name", "Shop sync", "--role", "sales")
    raw = output.strip().splitlines()[-1]
    user = apikey_authenticate(raw)
    assert user is not None and user.role.key == "sales"
    key = ApiKey.objects.get()
    assert key.name == "Shop sync" and key.prefix in output


def test_apikey_create_with_unknown_role_lists_the_roles():
    with pytest.raises(CommandError) as exc:
        run("apikey", "create", "--name", "x", "--role", "superhero")
    message = str(exc.value)
    assert "superhero" in message
    for role in ("admin", "manager", "sales", "marketing", "support", "readonly"):
        assert role in message
    assert not ApiKey.objects.exists()


def test_apikey_create_with_blank_name_fails():
    with pytest.raises(CommandError, match="name"):
        run("apikey", "create", "--name", " ", "--role", "readonly")
    assert not ApiKey.objects.exists()


def test_apikey_list_shows_keys_without_secrets():
    assert "No API keys" in run("apikey", "list")
    raw = run("apikey", "create", "--name", "alpha", "--role", "readonly").splitlines()[-1]
    run("apikey", "create", "--name", "beta", "--role", "support")
    listing = run("apikey", "list")
    lines = listing.splitlines()
    assert lines[0].split() == ["PREFIX", "NAME", "ROLE", "CREATED", "LAST", "USED", "STATUS"]
    assert [line.split()[1:3] for line in lines[1:]] == [["alpha", "readonly"], ["beta", "support"]]
    assert raw not in listing
    assert all(line.rstrip().endswith("active") for line in lines[1:])


def test_apikey_revoke_by_prefix():
    raw = run("apikey", "create", "--name", "old", "--role", "readonly").splitlines()[-1]
    key = ApiKey.objects.get()
    output = run("apikey", "revoke", key.prefix)
    assert "Revoked" in output
    assert apikey_authenticate(raw) is None
    assert "revoked" in run("apikey", "list").splitlines()[1]
    # revoking again is harmless and says so
    assert "already revoked" in run("apikey", "revoke", key.prefix)


def test_apikey_revoke_unknown_prefix_fails():
    with pytest.raises(CommandError, match="No API key"):
        run("apikey", "revoke", "ptn_nothere")


def test_apikey_needs_a_subcommand():
    with pytest.raises(CommandError):
        run("apikey")
