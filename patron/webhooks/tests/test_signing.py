"""Standard Webhooks signatures: what we send verifies, anything altered does not."""

from __future__ import annotations

import time

import pytest

from patron.webhooks.signing import (
    InvalidSignature,
    secret_generate,
    sign_headers,
    signature,
    verify,
)

BODY = b'{"type":"segment.entered","data":{"contact":{"id":1}}}'


def test_a_signed_message_verifies_with_its_secret() -> None:
    secret = secret_generate()
    headers = sign_headers([secret], "msg_1", BODY)
    assert headers["webhook-signature"].startswith("v1,")
    verify(secret, headers, BODY)  # no exception


def test_the_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    # Computed independently: the Standard Webhooks example secret and message.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


@pytest.mark.parametrize(
    "change",
    ["body", "id", "timestamp", "secret"],
)
def test_anything_altered_fails(change: str) -> None:
    secret = secret_generate()
    headers = sign_headers([secret], "msg_1", BODY)
    body = BODY
    if change == "body":
        body = BODY.replace(b"1", b"2")
    elif change == "id":
        headers["webhook-id"] = "msg_2"
    elif change == "timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
    else:
        secret = secret_generate()
    with pytest.raises(InvalidSignature):
        verify(secret, headers, body)


def test_old_timestamps_are_refused() -> None:
    secret = secret_generate()
    headers = sign_headers([secret], "msg_1", BODY, timestamp=int(time.time()) - 3600)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(secret, headers, BODY)


def test_during_rotation_both_secrets_verify() -> None:
    old, new = secret_generate(), secret_generate()
    headers = sign_headers([new, old], "msg_1", BODY)
    assert len(headers["webhook-signature"].split()) == 2
    verify(old, headers, BODY)
    verify(new, headers, BODY)
    with pytest.raises(InvalidSignature):
        verify(secret_generate(), headers, BODY)
