"""Drop the plain ``contact_id`` index of ContactIdentity: ``contact_identity_unique``
(contact_id, kind, value) starts with the same column and serves every look-up by contact
and the cascade on contact deletion. Index-only on the database side (an ``AlterField``
would rebuild the table on SQLite)."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    identity = apps.get_model("contacts", "ContactIdentity")
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, identity._meta.db_table)
    for name, info in constraints.items():
        if (
            info["index"]
            and not info["unique"]
            and not info["primary_key"]
            and info["columns"] == ["contact_id"]
        ):
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def backwards(apps, schema_editor):
    # ``apps`` is the state before this migration: the foreign key with db_index=True.
    identity = apps.get_model("contacts", "ContactIdentity")
    for statement in schema_editor._field_indexes_sql(
        identity, identity._meta.get_field("contact")
    ):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0006_contact_redundant_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="contactidentity",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.CASCADE,
                        related_name="identities",
                        to="contacts.contact",
                    ),
                )
            ],
        )
    ]
