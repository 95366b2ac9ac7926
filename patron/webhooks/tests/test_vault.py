"""Signing secrets at rest: encrypted in the database, key rotation, the data migration,
and a delivery whose secret no key opens is held back, never sent unsigned."""

from __future__ import annotations

import importlib
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection

from patron.core.models import Activity
from patron.webhooks import vault
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services import endpoint_rotate_secret, endpoint_send_test
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.signing import verify
from patron.webhooks.tests.conftest import Receiver

pytestmark = pytest.mark.django_db
KEY_A = "a" * 20 + "-first-key-of-the-workspace"
KEY_B = "b" * 20 + "-second-key-of-the-workspace"


def _raw_columns(pk: int) -> tuple[str, str]:
    """The columns as the database holds them (no model code in between)."""
    table = connection.ops.quote_name(WebhookEndpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT secret_encrypted, previous_secret_encrypted FROM {table} WHERE id = %s",  # noqa: S608
            [pk],
        )
        row = cursor.fetchone()
    return str(row[0]), str(row[1])


def test_the_database_holds_ciphertext_only_and_it_still_signs(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    endpoint, secret = make_endpoint(receiver.url())
    stored, previous = _raw_columns(endpoint.pk)
    assert secret.startswith("whsec_")
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert stored.startswith("gAAAAA") and previous == ""  # a Fernet token
    assert vault.decrypt(stored) == secret
    # Two encryptions of one secret differ (random IV): equal secrets do not show.
    assert vault.encrypt(secret) != vault.encrypt(secret)
    endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    deliveries_send_due(max_seconds=10)
    req = receiver.requests[-1]
    verify(secret, req.headers, req.body)

    new = endpoint_rotate_secret(actor=admin_user_p, endpoint=endpoint)
    stored, previous = _raw_columns(endpoint.pk)
    assert new not in stored and secret not in previous
    assert (vault.decrypt(stored), vault.decrypt(previous)) == (new, secret)
    rotated = Activity.objects.get(verb="webhook.secret_rotated")
    for text in (new, secret, stored, previous):
        assert text not in str(rotated.changes)


def test_a_tampered_token_is_refused() -> None:
    token = vault.encrypt("whsec_" + "A" * 44)
    flipped = token[:-6] + ("B" if token[-6] != "B" else "C") + token[-5:]
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt(flipped)
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt("whsec_" + "A" * 44)  # a plain secret is not accepted as stored form


def test_key_rotation_first_key_encrypts_all_keys_decrypt(
    settings: Any, make_endpoint: Any
) -> None:
    settings.PATRON_SECRETS_KEY = KEY_A
    old_token = vault.encrypt("whsec_old")
    settings.PATRON_SECRETS_KEY = f"{KEY_B},{KEY_A}"
    new_token = vault.encrypt("whsec_new")
    assert vault.decrypt(old_token) == "whsec_old"  # the second key still decrypts
    settings.PATRON_SECRETS_KEY = KEY_B
    assert vault.decrypt(new_token) == "whsec_new"  # the first one encrypted it
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt(old_token)  # A is gone and was not SECRET_KEY
    settings.PATRON_SECRETS_KEY = KEY_A
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt(new_token)


def test_keys_derived_from_secret_key_keep_decrypting_after_a_dedicated_key_is_set(
    settings: Any,
) -> None:
    settings.PATRON_SECRETS_KEY = ""
    token = vault.encrypt("whsec_x")  # under the key derived from SECRET_KEY
    settings.PATRON_SECRETS_KEY = KEY_A
    assert vault.decrypt(token) == "whsec_x"
    assert vault.rekey(token) != token
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]  # SECRET_KEY rotated by Django's rule
    settings.SECRET_KEY = "a-brand-new-django-secret-key-" + "z" * 30
    assert vault.decrypt(token) == "whsec_x"
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(vault.SecretUnreadable):
        vault.decrypt(token)


def test_the_derived_key_is_not_the_django_key_itself(settings: Any) -> None:
    """HKDF with a purpose label: a Fernet built straight from SECRET_KEY bytes cannot read it."""
    import base64
    import hashlib

    from cryptography.fernet import Fernet, InvalidToken

    settings.PATRON_SECRETS_KEY = ""
    token = vault.encrypt("whsec_x")
    naive = Fernet(base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest()))
    with pytest.raises(InvalidToken):
        naive.decrypt(token.encode())


def test_short_keys_are_refused(settings: Any) -> None:
    settings.PATRON_SECRETS_KEY = "short"
    with pytest.raises(ImproperlyConfigured):
        vault.encrypt("whsec_x")


def test_rekey_command_moves_every_secret_to_the_first_key(
    settings: Any, make_endpoint: Any, admin_user_p: Any, fake_dns: Any
) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    settings.PATRON_SECRETS_KEY = KEY_A
    endpoint, secret = make_endpoint("https://hooks.example.com/a")
    new = endpoint_rotate_secret(actor=admin_user_p, endpoint=endpoint)
    settings.PATRON_SECRETS_KEY = f"{KEY_B},{KEY_A}"
    out = StringIO()
    call_command("webhooks", "rekey", stdout=out)
    assert "1 endpoint(s) re-encrypted" in out.getvalue()
    settings.PATRON_SECRETS_KEY = KEY_B  # A dropped: everything still opens
    stored, previous = _raw_columns(endpoint.pk)
    assert (vault.decrypt(stored), vault.decrypt(previous)) == (new, secret)
    assert Activity.objects.filter(verb="webhook.secrets_rekeyed").count() == 1


def test_rekey_changes_nothing_when_a_secret_cannot_be_opened(
    settings: Any, make_endpoint: Any, fake_dns: Any
) -> None:
    fake_dns({"hooks.example.com": ["93.184.216.34"]})
    settings.PATRON_SECRETS_KEY = KEY_A
    first, _ = make_endpoint("https://hooks.example.com/a")
    second, _ = make_endpoint("https://hooks.example.com/b")
    WebhookEndpoint.objects.filter(pk=second.pk).update(secret_encrypted="gAAAAAbroken")
    before = _raw_columns(first.pk)
    settings.PATRON_SECRETS_KEY = f"{KEY_B},{KEY_A}"
    with pytest.raises(CommandError, match="Nothing was changed"):
        call_command("webhooks", "rekey", stdout=StringIO())
    assert _raw_columns(first.pk) == before
    assert not Activity.objects.filter(verb="webhook.secrets_rekeyed").exists()


def test_an_unreadable_secret_holds_the_delivery_back_unsent(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_SECRETS_KEY = KEY_A
    endpoint, secret = make_endpoint(receiver.url())
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=0)
    receiver.requests.clear()
    settings.PATRON_SECRETS_KEY = KEY_B  # the key that encrypted it is missing
    settings.PATRON_WEBHOOKS_BACKOFF_BASE = 60.0  # one attempt, then wait
    deliveries_send_due(max_seconds=5)
    delivery.refresh_from_db()
    assert receiver.requests == []  # nothing went out unsigned
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert "cannot be decrypted" in delivery.last_error
    # The key is restored: the retry goes out, signed with the right secret.
    settings.PATRON_SECRETS_KEY = f"{KEY_B},{KEY_A}"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    deliveries_send_due(max_seconds=5)
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    verify(secret, receiver.requests[-1].headers, receiver.requests[-1].body)


def test_the_migration_encrypts_existing_plain_secrets_and_reverses() -> None:
    migration = importlib.import_module("patron.webhooks.migrations.0003_encrypt_secrets")
    plain, old = "whsec_" + "P" * 44, "whsec_" + "Q" * 44
    already = vault.encrypt("whsec_" + "R" * 44)
    a = WebhookEndpoint.objects.create(
        name="a", url="https://x.example/a", secret_encrypted=plain, previous_secret_encrypted=old
    )
    b = WebhookEndpoint.objects.create(
        name="b", url="https://x.example/b", secret_encrypted=already
    )
    migration.encrypt_existing(apps, None)
    sa, pa = _raw_columns(a.pk)
    assert plain not in sa and old not in pa
    assert (vault.decrypt(sa), vault.decrypt(pa)) == (plain, old)
    assert _raw_columns(b.pk) == (already, "")  # encrypted rows are left as they are
    migration.decrypt_existing(apps, None)
    assert _raw_columns(a.pk) == (plain, old)
    assert _raw_columns(b.pk)[0] == "whsec_" + "R" * 44
