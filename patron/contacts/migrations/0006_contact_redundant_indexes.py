"""Fewer indexes maintained per contact row (issue 5, the import's writer cost).

Dropped, because no query needs them:

- the plain ``owner_id`` index: ``contact_owner_idx`` (owner_id, id) starts with the same
  column and serves every owner filter and the ``SET NULL`` on user deletion;
- on PostgreSQL, the ``varchar_pattern_ops`` (``*_like``) twins Django creates for
  ``db_index`` CharFields on ``phone``, ``email_match_key`` and ``name_key``: they serve
  only case-sensitive ``LIKE 'prefix%'``; these columns are looked up by equality / IN
  (duplicate check, imports' preload, identity resolution) and the segment compiler's
  ``istartswith`` compares ``UPPER(column)``, which neither index serves.

The plain b-trees on the three columns stay, declared in ``Meta.indexes`` (so Django
creates no ``_like`` twin). The state changes as ``makemigrations`` would write them; the
database side drops and creates only indexes, because an ``AlterField`` would rebuild the
whole contacts table on SQLite.
"""

from django.conf import settings
from django.db import migrations, models

COLUMNS = ("owner_id", "phone", "email_match_key", "name_key")
NEW_INDEXES = (
    models.Index(fields=["phone"], name="contact_phone_idx"),
    models.Index(fields=["email_match_key"], name="contact_email_key_idx"),
    models.Index(fields=["name_key"], name="contact_name_key_idx"),
)


def forwards(apps, schema_editor):
    contact = apps.get_model("contacts", "Contact")
    table = contact._meta.db_table
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    new_names = {index.name for index in NEW_INDEXES}
    for name, info in constraints.items():
        single_column_index = (
            info["index"]
            and not info["unique"]
            and not info["primary_key"]
            and len(info["columns"]) == 1
            and info["columns"][0] in COLUMNS
        )
        if single_column_index and name not in new_names:
            schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
    for index in NEW_INDEXES:
        schema_editor.add_index(contact, index)


def backwards(apps, schema_editor):
    # ``apps`` is the state before this migration: the four fields with db_index=True.
    contact = apps.get_model("contacts", "Contact")
    for index in NEW_INDEXES:
        schema_editor.remove_index(contact, index)
    for column in ("owner", "phone", "email_match_key", "name_key"):
        for statement in schema_editor._field_indexes_sql(contact, contact._meta.get_field(column)):
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0005_identity_email_match_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name="contact",
                    name="email_match_key",
                    field=models.CharField(blank=True, max_length=254),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="name_key",
                    field=models.CharField(blank=True, max_length=64),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="owned_contacts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="phone",
                    field=models.CharField(blank=True, max_length=32),
                ),
                *(migrations.AddIndex(model_name="contact", index=i) for i in NEW_INDEXES),
            ],
        )
    ]
