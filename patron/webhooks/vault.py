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
lose the secrets already stored. The key list and derivation live in
``patron.privacy.keys``. See docs/adr/0051-webhook-secrets-at-rest.md.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from patron.privacy.keys import configured_keys, derive, key_texts

#: HKDF "info": binds derived keys to this one use (change it and every secret is lost).
PURPOSE = b"patron.webhooks.signing-secret.v1"

__all__ = ["SecretUnreadable", "configured_keys", "decrypt", "encrypt", "rekey"]


class SecretUnreadable(Exception):
    """A stored secret that no configured key decrypts (wrong key, or tampered with)."""


@functools.lru_cache(maxsize=8)
def _fernet(texts: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(derive(k, PURPOSE))) for k in texts])


def _box() -> MultiFernet:
    return _fernet(key_texts())


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
