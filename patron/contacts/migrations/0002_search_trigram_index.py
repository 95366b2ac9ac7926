"""On PostgreSQL, a trigram index makes substring search fast at millions of contacts.

SQLite has no equivalent; there the search is a scan of one narrow column.
"""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - no privilege: search still works, unindexed
        logger.warning("pg_trgm unavailable (%s); contact search will not be indexed", exc)
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS contact_search_trgm ON contacts_contact "
        "USING gin (search_text gin_trgm_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS company_name_trgm ON contacts_company "
        "USING gin (lower(name) gin_trgm_ops)"
    )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS contact_search_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS company_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
