"""Webhook signing secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

A signing secret must be recoverable (it signs every delivery), so it cannot be hashed
like an API key; it is encrypted instead, under keys that never live in the database.

Keys: ``PATRON_SECRETS_KEY`` is a comma-separated list of key strings (any long random
text). The **first** encrypts; **all** decrypt, so a key is rotated by putting the new
one first, running ``patron webhooks rekey`` (re-encrypts every stored secret under the
first key), and then dropping the old one. Without the setting, the key is derived from
Django's ``SECRET_KEY``. Every key string goes through HKDF-SHA256 with a purpose label,
so the bytes that encrypt secrets are never the bytes Django signs cookies with. Keys
derived from ``SECRET_KEY`` and ``SECRET_KEY_FALLBACKS`` always decrypt too, so setting
``PATRON_SECRETS_KEY`` later (or rotating ``SECRET_KEY`` through its fallbacks) does not
lose the secrets already stored. See docs/adr/0051-webhook-secrets-at-rest.md.
"""

from __future__ import annotations

import base64
import functools
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

#: HKDF "info": binds derived keys to this one use (change it and every secret is lost).
PURPOSE = b"patron.webhooks.signing-secret.v1"
SALT = b"patron-secrets-at-rest"


class SecretUnreadable(Exception):
    """A stored secret that no configured key decrypts (wrong key, or tampered with)."""


def _derive(key_text: str) -> bytes:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=PURPOSE).derive(
        key_text.encode()
    )
    return base64.urlsafe_b64encode(raw)


def configured_keys() -> list[str]:
    """The key strings, first (encrypting) first; settings win over the environment."""
    raw = getattr(settings, "PATRON_SECRETS_KEY", None)
    if raw is None:
        raw = os.environ.get("PATRON_SECRETS_KEY", "")
    items = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
    keys = [k.strip() for k in items if k and k.strip()]
    for k in keys:
        if len(k) < 32:
            raise ImproperlyConfigured("Each PATRON_SECRETS_KEY entry needs 32 characters or more.")
    return keys


def _key_texts() -> tuple[str, ...]:
    django_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    out: list[str] = []
    for k in [*configured_keys(), *django_keys]:
        if k and k not in out:
            out.append(k)
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _fernet(key_texts: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_derive(k)) for k in key_texts])


def _box() -> MultiFernet:
    texts = _key_texts()
    if not texts:
        raise ImproperlyConfigured("No key to encrypt webhook secrets: set SECRET_KEY.")
    return _fernet(texts)


def encrypt(secret: str) -> str:
    """The stored form of a secret (a Fernet token, ASCII): encrypted under the first key."""
    if not secret:
        return ""
    return _box().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    """The secret back; raises SecretUnreadable when no key opens it."""
    if not token:
        return ""
    try:
        return _box().decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError, ValueError) as exc:
        raise SecretUnreadable("No configured key decrypts this webhook secret.") from exc


def rekey(token: str) -> str:
    """The same secret encrypted under the first key (for key rotation)."""
    if not token:
        return ""
    try:
        return _box().rotate(token.encode()).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable("No configured key decrypts this webhook secret.") from exc
