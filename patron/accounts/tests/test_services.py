"""API key services: create, authenticate, revoke."""

from __future__ import annotations

import hashlib

import pytest

from patron.accounts.models import ApiKey, User
from patron.accounts.services import (
    API_KEY_PREFIX,
    apikey_authenticate,
    apikey_create,
    apikey_revoke,
)
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_of_the_key():
    # when a key is created
    key, raw = apikey_create(actor=None, name="CI", role_key="readonly")
    # then the secret is shown once and only its SHA-256 is stored
    assert raw.startswith(API_KEY_PREFIX)
    stored = ApiKey.objects.get(pk=key.pk)
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {stored.key_hash, stored.prefix, stored.name}
    assert raw.startswith(stored.prefix) and len(stored.prefix) < len(raw)
    # and nothing about it in the activity log reveals the secret
    entry = Activity.objects.get(verb="apikey.created", subject_id=key.pk)
    assert raw not in str(entry.changes)


def test_authenticate_returns_the_keys_service_user_with_its_role():
    key, raw = apikey_create(actor=None, name="Shop sync", role_key="sales")
    user = apikey_authenticate(raw)
    assert user == key.user
    assert user.is_service and not user.has_usable_password()
    assert user.role.key == "sales"
    key.refresh_from_db()
    assert key.last_used_at is not None


@pytest.mark.parametrize(
    "raw",
    ["", "ptn_", "not-a-key", API_KEY_PREFIX + "x" * 43],
)
def test_authenticate_rejects_unknown_keys(raw):
    apikey_create(actor=None, name="real", role_key="readonly")
    assert apikey_authenticate(raw) is None


def test_authenticate_rejects_a_key_differing_in_one_character():
    _, raw = apikey_create(actor=None, name="real", role_key="readonly")
    tampered = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    assert apikey_authenticate(tampered) is None


def test_revoked_key_no_longer_authenticates():
    # given a working key
    key, raw = apikey_create(actor=None, name="old", role_key="admin")
    assert apikey_authenticate(raw) is not None
    # when it is revoked
    apikey_revoke(actor=None, key=key)
    # then it authenticates nobody, its service user is disabled, and the revocation is logged
    assert apikey_authenticate(raw) is None
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert not User.objects.get(pk=key.user_id).is_active
    assert Activity.objects.filter(verb="apikey.revoked", subject_id=key.pk).count() == 1


def test_revoke_twice_changes_nothing_more():
    key, _ = apikey_create(actor=None, name="old", role_key="readonly")
    first = apikey_revoke(actor=None, key=key).revoked_at
    second = apikey_revoke(actor=None, key=key).revoked_at
    assert first == second
    assert Activity.objects.filter(verb="apikey.revoked").count() == 1


def test_key_management_needs_the_permission(sales_user_p, admin_user_p):
    # a sales rep may not create or revoke keys, and trying changes nothing
    with pytest.raises(PermissionDenied):
        apikey_create(actor=sales_user_p, name="mine", role_key="admin")
    assert not ApiKey.objects.exists()
    key, raw = apikey_create(actor=admin_user_p, name="ops", role_key="readonly")
    assert key.created_by == admin_user_p
    with pytest.raises(PermissionDenied):
        apikey_revoke(actor=sales_user_p, key=key)
    assert apikey_authenticate(raw) is not None


def test_create_refuses_a_blank_name():
    with pytest.raises(ValueError, match="name"):
        apikey_create(actor=None, name="   ", role_key="readonly")
    assert not ApiKey.objects.exists()
