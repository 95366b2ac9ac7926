"""Authentication backend: argon2-hashed passwords with login throttling and an audit entry.

Throttling counts failures per user name and per client address in the cache; past the
limit every attempt fails the same way (the form shows the same generic message), so it
tells an attacker nothing about which accounts exist.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from patron.core.services import activity_record


def _keys(request: HttpRequest | None, username: str) -> list[str]:
    name = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    keys = [f"login-fail:user:{name}"]
    addr = request.META.get("REMOTE_ADDR", "") if request is not None else ""
    if addr:
        keys.append(f"login-fail:addr:{addr}")
    return keys


def _limits(key: str) -> int:
    if key.startswith("login-fail:user:"):
        return int(settings.PATRON_LOGIN_MAX_FAILURES_PER_USER)
    return int(settings.PATRON_LOGIN_MAX_FAILURES_PER_ADDRESS)


def login_throttled(request: HttpRequest | None, username: str) -> bool:
    return any((cache.get(k) or 0) >= _limits(k) for k in _keys(request, username))


class ThrottledModelBackend(ModelBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if username is None or password is None:
            return None
        if login_throttled(request, username):
            # Stops the backend chain; the login form reports its generic error.
            raise PermissionDenied("Too many failed attempts.")
        user = super().authenticate(request, username=username, password=password, **kwargs)
        window = int(settings.PATRON_LOGIN_WINDOW_SECONDS)
        if user is None:
            for key in _keys(request, username):
                cache.add(key, 0, window)
                try:
                    cache.incr(key)
                except ValueError:  # expired between add and incr
                    cache.set(key, 1, window)
            return None
        cache.delete(_keys(request, username)[0])
        activity_record(actor=user, verb="user.logged_in", subject=user)
        return user
