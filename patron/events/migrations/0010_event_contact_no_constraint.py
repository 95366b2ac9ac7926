"""The event table's ``contact_id`` loses its database foreign key constraint
(docs/adr/0076-event-contact-without-constraint.md).

Why: the constraint's check ran for every event the processor attached to a contact
(deferred to the commit: ~12 µs an event on PostgreSQL, a tenth of a batch). Integrity is
kept by other means:

- Deletes: Django still cascades ``Contact.delete()`` to the events (``on_delete``), and
  the merge service still moves them to the survivor before its raw delete.
- PostgreSQL, where a processor batch and a delete can run at the same time: the
  processor locks the contacts it attached events to (``FOR KEY SHARE``, the lock the
  constraint's check took, but one statement a batch) and rolls the batch back when one
  is gone (``processing.contacts_hold``). A trigger on the contact table deletes the
  events of a deleted contact that Django's cascade did not list: those a batch
  attached after the cascade listed them (the contact's delete then waited for the
  batch's lock and its commit), or those of contacts deleted by raw SQL; identity
  conflicts naming them lose the link (as ``on_delete=SET_NULL`` does). It is a
  constraint trigger deferred to the commit, one per deleted contact, as the
  constraint's own check of a delete was: Django's cascade deletes a contact before its
  events (a nullable key orders nothing), and an immediate trigger took the events from
  under it (an erasure's record then counted none).
- SQLite: every write transaction holds the database's one write lock from its first
  statement (``transaction_mode`` IMMEDIATE), so no contact is deleted while a batch
  attaches events to it. No trigger there: Django rebuilds SQLite tables to alter them
  (``_remake_table``), and SQLite refuses that rebuild of the event table while a
  trigger on another table names it ("error in trigger ...: no such table").

On SQLite ``AlterField`` rebuilds the event table (copies every row under the write
lock: minutes for tens of millions of events). On PostgreSQL it drops the constraint
(a brief ACCESS EXCLUSIVE lock on both tables, no scan).
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

TRIGGER = "events_contact_deleted"

PG_CREATE = """
CREATE OR REPLACE FUNCTION events_contact_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH gone AS (
        DELETE FROM events_event WHERE contact_id = OLD.id RETURNING id
    )
    UPDATE events_identityconflict SET event_id = NULL
    WHERE event_id IN (SELECT id FROM gone);
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER events_contact_deleted AFTER DELETE ON contacts_contact
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION events_contact_deleted();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS events_contact_deleted ON contacts_contact;
DROP FUNCTION IF EXISTS events_contact_deleted();
"""


def trigger_create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_CREATE)


def trigger_drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0001_initial"),
        ("events", "0009_partial_event_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="event",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="contacts.contact",
            ),
        ),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
