"""Deliveries carry the contact they are about (``contact_id``, partial index), so that
erasing a contact finds its deliveries without reading every payload. Existing rows are
filled from ``payload.data.contact.id`` in one UPDATE, before the index is built."""

from typing import Any

from django.db import migrations, models

BACKFILL = {
    "postgresql": (
        "UPDATE webhooks_webhookdelivery SET contact_id = "
        "(payload -> 'data' -> 'contact' ->> 'id')::bigint "
        "WHERE jsonb_typeof(payload -> 'data' -> 'contact' -> 'id') = 'number'"
    ),
    "sqlite": (
        "UPDATE webhooks_webhookdelivery SET contact_id = "
        "json_extract(payload, '$.data.contact.id') "
        "WHERE json_type(payload, '$.data.contact.id') = 'integer'"
    ),
}


def backfill(apps: Any, schema_editor: Any) -> None:
    sql = BACKFILL.get(schema_editor.connection.vendor)
    if sql is None:
        raise RuntimeError(f"No backfill for {schema_editor.connection.vendor}.")
    schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0003_encrypt_secrets"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="contact_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=False),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("contact_id__isnull", False)),
                fields=["contact_id"],
                name="webhook_delivery_contact_idx",
            ),
        ),
    ]
