"""A case-insensitive index over further emails in the identity graph.

Identity resolution looks further emails (``ContactIdentity`` rows of kind email, stored
as entered) up by ``LOWER(value)``; without this index that look-up would scan the table.
It lives here, not in the contacts app, because only the event processor queries it.
"""

from django.db import migrations

SQL = (
    "CREATE INDEX IF NOT EXISTS identity_email_lower_idx "
    "ON contacts_contactidentity (LOWER(value)) WHERE kind = 'email'"
)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0004_traits_applied_hash"),
        ("contacts", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(SQL, "DROP INDEX IF EXISTS identity_email_lower_idx"),
    ]
