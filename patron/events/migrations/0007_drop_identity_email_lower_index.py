"""Drop the ``LOWER(value)`` index over further emails (added by 0005).

Identity resolution now finds further emails by ``ContactIdentity.match_key`` (contacts
0005, index ``identity_email_key_idx``); nothing queries ``LOWER(value)`` any more, and
every identity upsert of the event processor paid for maintaining it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX IF NOT EXISTS identity_email_lower_idx "
    "ON contacts_contactidentity (LOWER(value)) WHERE kind = 'email'"
)


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0006_event_name_time_index"),
        ("contacts", "0005_identity_email_match_key"),
    ]

    operations = [
        migrations.RunSQL("DROP INDEX IF EXISTS identity_email_lower_idx", CREATE),
    ]
