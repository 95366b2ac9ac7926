"""The ``RECENT_K`` (8) most recent timestamps per contact and event name on
``ContactEventCount`` (``recent_1`` newest .. ``recent_8``), for "performed X N times in
the last D days" without counting events (docs/adr/0060-recent-event-timestamps.md).

The backfill ranks each (contact, event) pair's processed track events newest first and
keeps the first eight, in one statement (``UPDATE ... FROM``: PostgreSQL, SQLite 3.33+);
it reads the whole event table once (full-scale bench data: see docs/performance.md).
Self-contained: it does not import the app's code, which may change after it.
"""

from django.db import migrations, models

K = 8
COLUMNS = [f"recent_{i}" for i in range(1, K + 1)]


def backfill(apps, schema_editor):
    qn = schema_editor.connection.ops.quote_name
    picks = ", ".join(f"MAX(CASE WHEN rn = {i} THEN ts END) AS r{i}" for i in range(1, K + 1))
    sets = ", ".join(f"{qn(c)} = top.r{i}" for i, c in enumerate(COLUMNS, start=1))
    true = "TRUE" if schema_editor.connection.vendor == "postgresql" else "1"
    schema_editor.execute(
        "WITH ranked AS ("
        f" SELECT contact_id, event, {qn('timestamp')} AS ts, ROW_NUMBER() OVER ("
        f"  PARTITION BY contact_id, event ORDER BY {qn('timestamp')} DESC) AS rn"
        f" FROM events_event WHERE type = 'track' AND processed = {true}"
        "  AND event <> '' AND contact_id IS NOT NULL),"
        f" top AS (SELECT contact_id, event, {picks} FROM ranked WHERE rn <= {K}"
        "  GROUP BY contact_id, event)"
        f" UPDATE events_contacteventcount SET {sets} FROM top"
        " WHERE top.contact_id = events_contacteventcount.contact_id"
        " AND top.event = events_contacteventcount.event"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_drop_identity_email_lower_index"),
    ]

    operations = [
        *(
            migrations.AddField(
                model_name="contacteventcount",
                name=name,
                field=models.DateTimeField(blank=True, null=True),
            )
            for name in COLUMNS
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
