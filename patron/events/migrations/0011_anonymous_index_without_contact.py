"""The event table's index on ``anonymous_id`` becomes partial (``contact_id IS NULL``).

Its one reader, the resolver, looks up earlier events of an anonymous id that have no
contact yet. On PostgreSQL the processor's UPDATE that sets each event's contact writes a
new row version with an entry in every index whose condition it meets; partial, this
index takes none for an event that gets a contact (docs/adr/0091-event-mark-shrunk.md).

Built under a new name before the old index is dropped, ``CONCURRENTLY`` on PostgreSQL
(hence ``atomic = False``; see migration 0009 for why, and what to do after a failed
build). Existing rows need nothing: the index is built from them as they are.
"""

from importlib import import_module

from django.db import migrations, models

_online = import_module("patron.events.migrations.0009_partial_event_indexes")
AddIndexOnline, RemoveIndexOnline = _online.AddIndexOnline, _online.RemoveIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("events", "0010_event_contact_no_constraint"),
    ]

    operations = [
        AddIndexOnline(
            model_name="event",
            index=models.Index(
                condition=models.Q(contact__isnull=True),
                fields=["anonymous_id"],
                name="event_anon_pidx",
            ),
        ),
        RemoveIndexOnline(model_name="event", name="event_anon_idx"),
    ]
