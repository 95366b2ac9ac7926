"""The per-contact purchase summary (ADR 0061), backfilled from the existing orders.

The backfill is written out here (not imported from ``patron.commerce.summary``) so that
this migration keeps doing the same thing whatever the module becomes later.
"""

import django.db.models.deletion
from django.db import migrations, models

COUNTED = ("completed", "partially_refunded")


def backfill(apps, schema_editor):
    summary = apps.get_model("commerce", "ContactPurchaseSummary")
    order = apps.get_model("commerce", "Order")
    qn = schema_editor.connection.ops.quote_name
    statuses = ", ".join(["%s"] * len(COUNTED))
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(summary._meta.db_table)} "  # noqa: S608
            "(contact_id, order_count, total, first_order_at, last_order_at) "
            "SELECT contact_id, COUNT(*), SUM(total - refunded_amount), MIN(placed_at), "
            f"MAX(placed_at) FROM {qn(order._meta.db_table)} WHERE status IN ({statuses}) "
            "GROUP BY contact_id",
            list(COUNTED),
        )


class Migration(migrations.Migration):
    dependencies = [
        ("commerce", "0002_order_contact_spend_index"),
        ("contacts", "0007_identity_contact_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactPurchaseSummary",
            fields=[
                (
                    "contact",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="purchase_summary",
                        serialize=False,
                        to="contacts.contact",
                    ),
                ),
                ("order_count", models.PositiveIntegerField()),
                ("total", models.DecimalField(decimal_places=2, max_digits=18)),
                ("first_order_at", models.DateTimeField()),
                ("last_order_at", models.DateTimeField()),
            ],
            options={
                "indexes": [
                    models.Index(fields=["total"], name="purchase_summary_total_idx"),
                    models.Index(fields=["order_count"], name="purchase_summary_count_idx"),
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
