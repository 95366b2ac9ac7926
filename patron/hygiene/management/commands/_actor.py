"""The acting user of a hygiene command: ``--as USERNAME``, else the system (trusted shell)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from patron.accounts.models import User


def actor_from(options: dict[str, Any]) -> User | None:
    username = options.get("as_user")
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active user {username!r}.")
    return user
