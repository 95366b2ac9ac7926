"""The event table's contact and name indexes become partial (``contact_id IS NOT NULL``).

Ingest stores every event with no contact (the processor sets it later), so these three
indexes took an entry per accepted event that no reader uses; partial, ingest writes
none of them (docs/adr/0073-partial-event-indexes.md).

The new indexes are built under new names before the old ones are dropped, so readers
always have one. On PostgreSQL both steps run ``CONCURRENTLY`` (hence ``atomic = False``):
a plain ``CREATE INDEX`` holds a SHARE lock that blocks every insert (ingest) for the
whole build, minutes on tens of millions of events; ``CREATE INDEX CONCURRENTLY`` lets
writes go on (it scans the table twice and waits for transactions older than it). If it
fails midway it leaves an INVALID index: drop it and run the migration again. SQLite has
no such option; its ``CREATE INDEX`` holds the write lock for the build.
"""

from typing import Any

from django.db import migrations, models


class AddIndexOnline(migrations.AddIndex):
    """``AddIndex``, built ``CONCURRENTLY`` on PostgreSQL."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, self.index, concurrently=True)
        return None

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)
        return None


class RemoveIndexOnline(migrations.RemoveIndex):
    """``RemoveIndex``, dropped (and re-created backwards) ``CONCURRENTLY`` on PostgreSQL."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)
        return None

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(self.name)
            schema_editor.add_index(model, index, concurrently=True)
        return None


KNOWN = models.Q(contact__isnull=False)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("events", "0008_contact_event_recent_timestamps"),
    ]

    operations = [
        AddIndexOnline(
            model_name="event",
            index=models.Index(
                condition=KNOWN, fields=["contact", "-timestamp"], name="event_contact_time_pidx"
            ),
        ),
        AddIndexOnline(
            model_name="event",
            index=models.Index(
                condition=KNOWN,
                fields=["contact", "event", "-timestamp"],
                name="event_contact_name_pidx",
            ),
        ),
        AddIndexOnline(
            model_name="event",
            index=models.Index(
                condition=KNOWN,
                fields=["event", "timestamp", "contact"],
                name="event_name_time_pidx",
            ),
        ),
        RemoveIndexOnline(model_name="event", name="event_contact_time_idx"),
        RemoveIndexOnline(model_name="event", name="event_contact_name_idx"),
        RemoveIndexOnline(model_name="event", name="event_name_time_idx"),
    ]
