"""The event table's ``anonymous_id`` index holds events without a contact only (ADR 0091):
the processor's mark, which gives an event its contact, then writes no entry in it on
PostgreSQL, and the resolver's one look-up by anonymous id still reads it."""

from __future__ import annotations

import pytest
from django.db import connection

from patron.contacts.models import Contact
from patron.events.models import Event
from patron.events.tests.processing_helpers import at, run, send

pytestmark = pytest.mark.django_db


def _definition(name: str) -> str | None:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [name])
        else:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    return row[0] if row else None


def test_the_anonymous_id_index_is_partial_on_no_contact() -> None:
    # given the event table's indexes as the database has them
    definition = _definition("event_anon_pidx")
    # then the anonymous id index holds events without a contact only
    assert definition is not None
    assert "(anonymous_id)" in definition.replace('"', "")
    assert "CONTACT_ID IS NULL" in definition.upper().replace('"', ""), definition
    # and the old full index is gone (it took an entry for every marked event)
    assert _definition("event_anon_idx") is None


def test_the_resolvers_look_up_of_anonymous_history_uses_the_partial_index() -> None:
    # given the resolver's query for earlier events of anonymous ids (identity/resolver.py)
    qs = Event.objects.filter(
        anonymous_id__in=["a1", "a2"], contact__isnull=True, processed=True
    ).values_list("pk", "anonymous_id")
    sql, params = qs.query.sql_with_params()
    # when it is planned (sequential scans off on PostgreSQL: the test table is tiny)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    # then it reads the partial index
    assert "event_anon_pidx" in plan, plan


@pytest.mark.usefixtures("no_processing")
def test_anonymous_history_is_still_found_once_the_visitor_is_identified(source_key) -> None:
    # given anonymous events processed in an earlier batch (no contact)
    source, _ = source_key
    send(source, {"type": "page", "anonymousId": "a7", "name": "Home", "timestamp": at(0)})
    run()
    assert Event.objects.filter(anonymous_id="a7", contact__isnull=True).count() == 1
    # when the visitor is identified in a later batch
    send(source, {"type": "identify", "anonymousId": "a7", "userId": "u7", "timestamp": at(1)})
    run()
    # then both events are the new contact's, and none is left without one
    contact = Contact.objects.get()
    assert Event.objects.filter(contact=contact).count() == 2
    assert not Event.objects.filter(anonymous_id="a7", contact__isnull=True).exists()
