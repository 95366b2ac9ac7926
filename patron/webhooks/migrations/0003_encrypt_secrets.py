"""Signing secrets are stored encrypted (patron.webhooks.vault; ADR 0051).

The columns are renamed so that nothing can read a ciphertext as a secret by mistake,
widened for Fernet tokens, and every stored ``whsec_...`` secret is encrypted in place.
Reversing decrypts them back (it needs the same keys).
"""

from typing import Any

from django.db import migrations, models

FIELDS = ("secret_encrypted", "previous_secret_encrypted")


def _convert(apps: Any, change: Any, wanted: Any) -> None:
    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    for endpoint in Endpoint.objects.order_by("pk").iterator():
        updated = []
        for name in FIELDS:
            value = getattr(endpoint, name)
            if value and wanted(value):
                setattr(endpoint, name, change(value))
                updated.append(name)
        if updated:
            endpoint.save(update_fields=updated)


def encrypt_existing(apps: Any, schema_editor: Any) -> None:
    from patron.webhooks.signing import PREFIX
    from patron.webhooks.vault import encrypt

    _convert(apps, encrypt, lambda v: v.startswith(PREFIX))


def decrypt_existing(apps: Any, schema_editor: Any) -> None:
    from patron.webhooks.signing import PREFIX
    from patron.webhooks.vault import decrypt

    _convert(apps, decrypt, lambda v: not v.startswith(PREFIX))


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_webhook_permission"),
    ]

    operations = [
        migrations.RenameField("webhookendpoint", "secret", "secret_encrypted"),
        migrations.RenameField("webhookendpoint", "previous_secret", "previous_secret_encrypted"),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="secret_encrypted",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="webhookendpoint",
            name="previous_secret_encrypted",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.RunPython(encrypt_existing, decrypt_existing, elidable=False),
    ]
