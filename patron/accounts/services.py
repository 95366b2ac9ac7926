"""Write services for users, roles, teams and API keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from patron.accounts.models import ApiKey, Role, Team, User
from patron.core.permissions import DEFAULT_ROLES, P, PermissionDenied
from patron.core.services import activity_record, diff, snapshot

API_KEY_PREFIX = "ptn_"


def roles_ensure_defaults() -> None:
    """Create the built-in roles if missing (idempotent; used by migrations and tests)."""
    for key, (name, perms, restricted) in DEFAULT_ROLES.items():
        Role.objects.get_or_create(
            key=key,
            defaults={"name": name, "permissions": sorted(perms), "restricted": restricted},
        )


def _require(actor: Any, code: str) -> None:
    if actor is not None and not actor.has_perm_code(code):
        raise PermissionDenied()


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role_key: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    team: Team | None = None,
    is_superuser: bool = False,
) -> User:
    """Create a user. ``actor=None`` only from trusted set-up code (CLI, migrations)."""
    _require(actor, P.USER_MANAGE)
    role = Role.objects.get(key=role_key)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        team=team,
        is_superuser=is_superuser,
        is_staff=is_superuser,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    activity_record(
        actor=actor,
        verb="user.created",
        subject=user,
        changes={"after": {"username": username, "role": role_key, "superuser": is_superuser}},
    )
    return user


_RESET_FIELDS = ["email", "role", "is_superuser", "is_staff", "is_active"]


@transaction.atomic
def user_admin_reset(*, actor: User | None, user: User, password: str, email: str = "") -> User:
    """Make ``user`` an active superuser with the admin role and a new password.

    ``actor=None`` only from trusted set-up code (``patron createadmin --reset``).
    """
    _require(actor, P.USER_MANAGE)
    user = User.objects.select_for_update().get(pk=user.pk)
    before = snapshot(user, _RESET_FIELDS)
    user.set_password(password)
    user.role = Role.objects.get(key="admin")
    user.is_superuser = user.is_staff = user.is_active = True
    if email:
        user.email = email
    user.save(update_fields=["password", *_RESET_FIELDS])
    changes = diff(before, snapshot(user, _RESET_FIELDS))
    changes["after"]["password"] = "reset"  # never the password itself
    activity_record(actor=actor, verb="user.admin_reset", subject=user, changes=changes)
    return user


def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def apikey_create(*, actor: User | None, name: str, role_key: str) -> tuple[ApiKey, str]:
    """Create an API key; returns (key, raw secret). The secret is shown once, never stored."""
    _require(actor, P.APIKEY_MANAGE)
    if not name.strip():
        raise ValueError("An API key needs a name.")
    role = Role.objects.get(key=role_key)
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    prefix = raw[: len(API_KEY_PREFIX) + 8]
    service_user = User.objects.create(
        username=f"apikey-{prefix}", first_name=f"API key {name}"[:150], role=role, is_service=True
    )
    service_user.set_unusable_password()
    service_user.save(update_fields=["password"])
    key = ApiKey.objects.create(
        name=name, prefix=prefix, key_hash=_hash_key(raw), user=service_user, created_by=actor
    )
    activity_record(
        actor=actor,
        verb="apikey.created",
        subject=key,
        changes={"after": {"name": name, "role": role_key, "prefix": prefix}},
    )
    return key, raw


def apikey_authenticate(raw: str) -> User | None:
    """The service user of a live key, recording last use; None for unknown or revoked keys."""
    if not raw.startswith(API_KEY_PREFIX):
        return None
    key = (
        ApiKey.objects.select_related("user", "user__role")
        .filter(key_hash=_hash_key(raw), revoked_at__isnull=True)
        .first()
    )
    if key is None or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user


@transaction.atomic
def apikey_revoke(*, actor: User | None, key: ApiKey) -> ApiKey:
    _require(actor, P.APIKEY_MANAGE)
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        User.objects.filter(pk=key.user_id).update(is_active=False)
        activity_record(actor=actor, verb="apikey.revoked", subject=key)
    return key
