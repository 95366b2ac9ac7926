"""Signatures in the Standard Webhooks convention.

Headers: ``webhook-id`` (the event id, the same on every retry), ``webhook-timestamp``
(Unix seconds of this attempt) and ``webhook-signature``: space-separated ``v1,<base64>``
values, each ``base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))``. The secret is
``whsec_`` + base64 of 32 random bytes; the key is those bytes. While a rotated secret's
grace period lasts, both the new and the previous secret sign, so a receiver holding
either one verifies. See docs/adr/0050-webhooks.md for the receiver's side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

PREFIX = "whsec_"
TOLERANCE = 5 * 60  # seconds a receiver should accept between timestamp and now


class InvalidSignature(Exception):
    pass


def secret_generate() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("Not a webhook secret.") from exc


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(
    secrets_: Iterable[str], msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": " ".join(signature(s, msg_id, ts, body) for s in secrets_ if s),
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> None:
    """What a receiver does: raise InvalidSignature unless one signature matches in time."""
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id", "")
    raw_ts = lower.get("webhook-timestamp", "")
    if not msg_id or not raw_ts.isdigit():
        raise InvalidSignature("Missing webhook-id or webhook-timestamp.")
    ts = int(raw_ts)
    if abs((time.time() if now is None else now) - ts) > TOLERANCE:
        raise InvalidSignature("Timestamp outside the tolerance.")
    expected = signature(secret, msg_id, ts, body)
    for candidate in lower.get("webhook-signature", "").split():
        if hmac.compare_digest(candidate, expected):
            return
    raise InvalidSignature("No matching signature.")
