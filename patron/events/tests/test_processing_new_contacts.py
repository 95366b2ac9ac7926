"""New visitors' contacts, created by the processor with reserved ids and the fast insert
(``Resolver.materialize``): the rows and their ``contact.created`` entries are what the ORM
wrote before, and contacts made later by other paths get fresh ids."""

from __future__ import annotations

import pytest
from django.db import connection

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.events.models import Event
from patron.events.tests.processing_helpers import run, send

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]


def test_new_visitors_get_full_rows_and_their_created_entry(source_key):
    source, _ = source_key
    before = Contact.objects.create(first_name="Existing")
    send(
        source,
        {"type": "track", "userId": "u1", "event": "Clicked"},
        {"type": "page", "anonymousId": "anon-2", "name": "Home"},
        {"type": "identify", "userId": "u3", "traits": {"plan": "pro"}},
    )
    assert run() == 3
    created = list(Contact.objects.exclude(pk=before.pk).order_by("pk"))
    # Two new people; the anonymous page view waits for its visitor to be identified.
    assert len(created) == 2 and all(c.pk > before.pk for c in created)
    for contact in created:
        assert contact.source == "tracking:Website"
        assert contact.created_at is not None and contact.updated_at == contact.created_at
        assert contact.invalid_fields == {} and contact.external_id is None
        assert (contact.email, contact.phone, contact.search_text, contact.owner_id) == (
            "",
            "",
            "",
            None,
        )
        entry = Activity.objects.get(contact_id=contact.pk, verb="contact.created")
        assert (entry.subject_type, entry.subject_id, entry.subject_label) == (
            "contact",
            contact.pk,
            str(contact),
        )
        assert entry.actor_id is None and entry.actor_label == "tracking API"
        assert entry.changes["after"]["source"] == contact.source
        assert entry.changes["after"]["via"].endswith(" event")
        assert entry.created_at == contact.created_at
    attached = set(Event.objects.values_list("contact_id", flat=True))
    assert attached == {c.pk for c in created} | {None}
    # The id sequence moved past the reserved ids: the next contact made elsewhere is new.
    later = Contact.objects.create(first_name="Later")
    assert later.pk > max(c.pk for c in created)


def test_a_second_batch_reserves_after_the_first(source_key):
    source, _ = source_key
    send(source, {"type": "track", "userId": "a", "event": "X"})
    run()
    first = Contact.objects.get().pk
    Contact.objects.create(first_name="Between")
    send(source, {"type": "track", "userId": "b", "event": "X"})
    run()
    newest = Contact.objects.order_by("-pk").first()
    assert newest is not None and newest.source.startswith("tracking")
    assert newest.pk > first + 1
    assert Contact.objects.count() == 3
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = %s", [Contact._meta.db_table]
            )
            assert cursor.fetchone()[0] == newest.pk
