"""Webhook settings: environment variables, overridable in Django settings (tests)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


DEFAULTS: dict[str, Any] = {
    # Tests and local development only: allow private/loopback targets and plain http.
    "PATRON_WEBHOOKS_ALLOW_PRIVATE": _env_bool("PATRON_WEBHOOKS_ALLOW_PRIVATE"),
    "PATRON_WEBHOOKS_CONNECT_TIMEOUT": 3.0,
    "PATRON_WEBHOOKS_TOTAL_TIMEOUT": 10.0,
    "PATRON_WEBHOOKS_MAX_RESPONSE_BYTES": 64 * 1024,
    "PATRON_WEBHOOKS_MAX_ATTEMPTS": 8,
    "PATRON_WEBHOOKS_BACKOFF_BASE": 30.0,  # seconds before the 2nd attempt (doubling)
    "PATRON_WEBHOOKS_BACKOFF_CAP": 6 * 3600.0,
    "PATRON_WEBHOOKS_RETRY_AFTER_CAP": 3600.0,
    "PATRON_WEBHOOKS_DISABLE_AFTER": 50,  # consecutive failed attempts
    "PATRON_WEBHOOKS_SECRET_GRACE": 24 * 3600.0,
    "PATRON_WEBHOOKS_BATCH": 50,
    "PATRON_WEBHOOKS_THREADS": 8,
    # Certificate authorities to trust instead of the system's (tests; private CAs).
    "PATRON_WEBHOOKS_CA_FILE": os.environ.get("PATRON_WEBHOOKS_CA_FILE") or None,
}


def get(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def allow_private() -> bool:
    """Private and loopback targets, and http, are allowed (tests/dev only; default off)."""
    return bool(get("PATRON_WEBHOOKS_ALLOW_PRIVATE"))


def allow_http() -> bool:
    return allow_private() or bool(settings.DEBUG)
