"""The event table's contact and name indexes become partial (``contact_id IS NOT NULL``).

Ingest stores every event with no contact (the processor sets it later), so these three
indexes took an entry per accepted event that no reader uses; partial, ingest writes
none of them (docs/adr/0073-partial-event-indexes.md). The foreign key's own index on
``contact_id`` alone goes too: the first of the new indexes leads with the column.

The new indexes are built under new names before the old ones are dropped, so readers
always have one. On PostgreSQL both steps run ``CONCURRENTLY`` (hence ``atomic = False``):
a plain ``CREATE INDEX`` holds a SHARE lock that blocks every insert (ingest) for the
whole build, minutes on tens of millions of events; ``CREATE INDEX CONCURRENTLY`` lets
writes go on (it scans the table twice and waits for transactions older than it). If it
fails midway it leaves an INVALID index: drop it and run the migration again. SQLite has
no such option; its ``CREATE INDEX`` holds the write lock for the build.
"""

from typing import Any

import django.db.models.deletion
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


class DropContactIndex(migrations.operations.base.Operation):
    """Drops the index Django made for the ``contact`` foreign key (``contact_id`` alone):
    ``event_contact_time_pidx`` leads with the column and serves every look-up by
    contact, the cascade and the foreign key checks (both databases use a partial index
    for ``contact_id = ?``). ``CONCURRENTLY`` on PostgreSQL; re-created backwards."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass  # the AlterField (db_index=False) beside it changes the state

    def _names(self, schema_editor: Any) -> list[str]:
        connection = schema_editor.connection
        with connection.cursor() as cursor:
            found = connection.introspection.get_constraints(cursor, "events_event")
        return [
            name
            for name, info in found.items()
            if info["index"] and not info["unique"] and info["columns"] == ["contact_id"]
        ]

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        qn = schema_editor.quote_name
        online = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        for name in self._names(schema_editor):
            schema_editor.execute(f"DROP INDEX{online} IF EXISTS {qn(name)}")

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        qn = schema_editor.quote_name
        online = " CONCURRENTLY" if schema_editor.connection.vendor == "postgresql" else ""
        name = schema_editor._create_index_name("events_event", ["contact_id"])
        schema_editor.execute(
            f"CREATE INDEX{online} IF NOT EXISTS {qn(name)} ON events_event (contact_id)"
        )

    def describe(self) -> str:
        return "Drop the event table's index on contact_id alone"


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
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="event",
                    name="contact",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="events",
                        to="contacts.contact",
                    ),
                )
            ],
            database_operations=[DropContactIndex()],
        ),
    ]
