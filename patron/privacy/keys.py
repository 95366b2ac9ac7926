"""The workspace's keys for data at rest: one list, one derivation per purpose.

``PATRON_SECRETS_KEY`` is a comma-separated list of key strings (32 characters or more);
the first is the current one. Without it, the current key is Django's ``SECRET_KEY``.
``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` always follow the configured ones, so what was
protected before the setting existed (or before ``SECRET_KEY`` was rotated) still opens.
Every use derives its own bytes with HKDF-SHA256 and a purpose label, so no two uses,
and not Django's own signing, ever share key bytes (docs/adr/0051-webhook-secrets-at-rest.md).
"""

from __future__ import annotations

import functools
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SALT = b"patron-secrets-at-rest"
MIN_LENGTH = 32


def configured_keys() -> list[str]:
    """``PATRON_SECRETS_KEY`` entries, first first; Django settings win over the environment."""
    raw = getattr(settings, "PATRON_SECRETS_KEY", None)
    if raw is None:
        raw = os.environ.get("PATRON_SECRETS_KEY", "")
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    keys = [k.strip() for k in items if k and k.strip()]
    if any(len(k) < MIN_LENGTH for k in keys):
        raise ImproperlyConfigured(
            f"Each PATRON_SECRETS_KEY entry needs {MIN_LENGTH} characters or more."
        )
    return keys


def key_texts() -> tuple[str, ...]:
    """Every key that may have been used, the current (encrypting/hashing) one first."""
    django_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    out: list[str] = []
    for k in [*configured_keys(), *django_keys]:
        if k and k not in out:
            out.append(k)
    if not out:
        raise ImproperlyConfigured("No key for data at rest: set SECRET_KEY.")
    return tuple(out)


@functools.lru_cache(maxsize=64)
def derive(key_text: str, purpose: bytes, length: int = 32) -> bytes:
    """The bytes of ``key_text`` for one purpose (HKDF-SHA256, fixed salt, purpose label)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=SALT, info=purpose).derive(
        key_text.encode()
    )
