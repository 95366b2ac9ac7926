from django.db import migrations, models


def backfill_match_keys(apps, schema_editor):
    """Match keys for the email identities that existed before (batched, constant memory)."""
    from patron.hygiene.normalize import email_match_key

    ContactIdentity = apps.get_model("contacts", "ContactIdentity")
    last = 0
    while True:
        batch = list(
            ContactIdentity.objects.filter(kind="email", pk__gt=last)
            .order_by("pk")
            .only("pk", "value")[:2000]
        )
        if not batch:
            break
        for identity in batch:
            identity.match_key = email_match_key(identity.value) or identity.value.lower()
        ContactIdentity.objects.bulk_update(batch, ["match_key"])
        last = batch[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_keyset_sort_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactidentity",
            name="match_key",
            field=models.CharField(blank=True, default="", max_length=254),
        ),
        migrations.RunPython(backfill_match_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="contactidentity",
            index=models.Index(
                condition=models.Q(("kind", "email")),
                fields=["kind", "match_key"],
                name="identity_email_key_idx",
            ),
        ),
    ]
