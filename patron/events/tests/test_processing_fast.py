"""The processor's hot-path shortcuts (docs/performance.md, processing fourth pass) keep
its results: bulk profile writes, the driver cursor's datetimes, asynchronous commit."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.events.models import Event
from patron.events.services._sql import (
    as_text,
    db_value,
    driver_cursor,
    from_db_datetime,
    pg_array,
    select_in,
    sqlite_time,
)
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending, int_array

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
_ids = iter(range(1, 1_000_000))


def send(source: Any, *messages: dict[str, Any]) -> None:
    msgs = [{"messageId": f"f{next(_ids)}", "timestamp": T0.isoformat(), **m} for m in messages]
    result = events_ingest(source=source, messages=msgs, received_at=T0 + dt.timedelta(days=1))
    assert not result.rejected, result.rejected


def setting_during_batches(monkeypatch: Any, sql: str) -> list[Any]:
    """The value ``sql`` reads inside each batch (at its aggregates step), collected."""
    from patron.events.services import processing

    seen: list[Any] = []
    real = processing.aggregates_apply

    def spy(rows: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            seen.append(cursor.fetchone()[0])
        real(rows, **kwargs)

    monkeypatch.setattr(processing, "aggregates_apply", spy)
    return seen


def test_profiles_of_one_batch_are_written_together_each_with_its_own_columns(source_key):
    # Given contacts that exist, with a stale updated_at
    source, _ = source_key
    send(source, *({"type": "track", "userId": f"u{i}", "event": "Seen"} for i in range(3)))
    events_process_pending()
    old = timezone.now() - dt.timedelta(days=3)
    Contact.objects.update(updated_at=old, job_title="Keeper")
    # When one batch brings different traits for each (different columns to write)
    send(
        source,
        {"type": "identify", "userId": "u0", "traits": {"name": "Ada Lovelace"}},
        {"type": "identify", "userId": "u1", "traits": {"email": "bo@example.com"}},
        {"type": "identify", "userId": "u2",
         "traits": {"phone": "+44 20 7946 0018", "birthday": "1990-12-10", "title": "CTO"}},
    )  # fmt: skip
    assert events_process_pending() == (3, False)
    # Then each contact has its own new values, and the columns it did not get are kept
    by_user = {c.identities.get(kind="user_id").value: c for c in Contact.objects.all()}
    ada, bo, cy = by_user["u0"], by_user["u1"], by_user["u2"]
    assert (ada.first_name, ada.last_name, ada.full_name, ada.email) == (
        "Ada",
        "Lovelace",
        "Ada Lovelace",
        "",
    )
    assert ada.name_key and ada.job_title == "Keeper"
    assert "ada" in ada.search_text
    assert (bo.email, bo.email_match_key, bo.first_name) == ("bo@example.com", "bo@example.com", "")
    assert (cy.phone, cy.birthday, cy.job_title) == ("+442079460018", dt.date(1990, 12, 10), "CTO")
    assert all(c.updated_at > old for c in (ada, bo, cy))
    # and each change is in the activity log
    assert Activity.objects.filter(verb="contact.updated").count() == 3


def test_driver_cursor_datetimes_are_the_orms(source_key):
    source, _ = source_key
    send(source, {"type": "track", "userId": "u1", "event": "Seen"})
    event = Event.objects.get()
    with driver_cursor() as cursor:
        cursor.execute("SELECT timestamp, received_at FROM events_event WHERE id = %s", [event.pk])
        raw = cursor.fetchall()[0]
    assert (from_db_datetime(raw[0]), from_db_datetime(raw[1])) == (T0, event.received_at)
    if connection.vendor == "postgresql":  # aware, in UTC, as the ORM gives them
        assert raw == (event.timestamp, event.received_at)
        assert raw[0].utcoffset() == dt.timedelta(0)


def test_int_array_literal():
    assert int_array([3, None, 12]) == "{3,NULL,12}"
    assert int_array([]) == "{}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_a_batch_commits_asynchronously_and_only_the_batch(source_key, monkeypatch):
    # Given a waiting event
    source, _ = source_key
    send(source, {"type": "track", "userId": "u1", "event": "Seen"})
    seen = setting_during_batches(monkeypatch, "SHOW synchronous_commit")
    # When it is processed
    assert events_process_pending() == (1, False)
    # Then the batch's transaction did not wait for the WAL flush, and later ones do
    assert seen == ["off"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"
    assert Event.objects.get().processed


def test_user_ids_of_a_contact_linked_during_the_batch_are_read_when_needed(source_key):
    # Given an identified user, and a device nobody has used yet
    source, _ = source_key
    send(source, {"type": "track", "userId": "u2", "event": "Seen"})
    events_process_pending()
    first = Contact.objects.get()
    # When one batch links the device to that user, then a new user appears on it (the
    # device's owner is only known mid-batch, so the prefetch could not read its user ids)
    send(
        source,
        {"type": "track", "userId": "u2", "anonymousId": "dev", "event": "Seen"},
        {"type": "track", "userId": "u3", "anonymousId": "dev", "event": "Seen"},
    )
    assert events_process_pending() == (2, False)
    # Then the second user gets a contact of their own: a shared device joins nobody
    assert Contact.objects.count() == 2
    second = Contact.objects.exclude(pk=first.pk).get()
    assert set(first.identities.values_list("kind", "value")) == {
        ("user_id", "u2"),
        ("anonymous_id", "dev"),
    }
    assert set(second.identities.values_list("kind", "value")) == {
        ("user_id", "u3"),
        ("anonymous_id", "dev"),
    }
    assert list(Event.objects.order_by("id").values_list("contact_id", flat=True)) == [
        first.pk,
        first.pk,
        second.pk,
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's WAL")
def test_sqlite_checkpoints_run_aside_while_processing_and_the_setting_comes_back(
    source_key, monkeypatch
):
    # Given 25 waiting events, processed in batches of 10
    source, _ = source_key
    send(source, *({"type": "track", "userId": f"u{i % 5}", "event": "Seen"} for i in range(25)))
    from patron.events.services import _wal

    settings_seen = setting_during_batches(monkeypatch, "PRAGMA wal_autocheckpoint")
    wakes: list[int] = []

    class CountingEvent(threading.Event):
        def set(self) -> None:
            wakes.append(1)
            super().set()

    monkeypatch.setattr(
        _wal,
        "threading",
        SimpleNamespace(
            Event=CountingEvent, Thread=threading.Thread, Condition=threading.Condition
        ),
    )
    # When they are processed
    assert events_process_pending(batch_size=10) == (25, False)
    # Then no batch checkpointed on its own connection, the thread was woken after each
    # committed batch (3, then the stop), and the connection's setting is back
    assert settings_seen == [0, 0, 0]
    assert len(wakes) == 4
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint")
        assert cursor.fetchone()[0] == 1000
    assert not any(t.name == "wal-checkpoint" for t in threading.enumerate())
    assert Event.objects.filter(processed=True).count() == 25


TRICKY = ["", "NULL", 'say "hi"', "back\\slash\\", "a,b", "{x}", " spaced ", "é ü 中", "tab\tnl\n"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL arrays")
def test_array_literals_round_trip_every_value(db):
    when = dt.datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=dt.UTC)
    with driver_cursor() as cursor:
        for values, kind in (
            ([*TRICKY, None], "text"),
            (TRICKY, "text"),  # one kind, with values to escape: the general loop
            (["plain", "NULL", "", " a, b ", "{x}"], "text"),  # one kind, nothing to escape
            ([1, None, -(2**62)], "bigint"),
            ([1, 2, -(2**62)], "bigint"),
            ([], "bigint"),
            ([None, None], "timestamptz"),
            ([when, when.replace(microsecond=0)], "timestamptz"),
            ([True, False, None], "boolean"),
            ([when, None], "timestamptz"),
            ([dt.date(1990, 12, 10)], "date"),
            ([Decimal("12.50"), 1.5], "numeric"),
        ):
            literal = pg_array(values)
            assert isinstance(literal, str)
            cursor.execute(f"SELECT unnest(%s::{kind}[])", [literal])  # noqa: S608
            got = [row[0] for row in cursor.fetchall()]
            assert got == ([Decimal(str(v)) for v in values] if kind == "numeric" else values)
    assert pg_array([object]) == [object]  # anything else: psycopg's own dumper


def test_select_in_finds_tricky_values_on_both_databases(source_key):
    source, _ = source_key
    stored = [(v or "-").strip() for v in TRICKY]  # ids are stored stripped
    send(source, *({"type": "track", "userId": v, "event": "Seen"} for v in stored))
    found = select_in("SELECT user_id FROM events_event WHERE user_id IN", [], stored)
    assert sorted(r[0] for r in found) == sorted(stored)
    ids = list(Event.objects.values_list("id", flat=True))
    assert len(select_in("SELECT id FROM events_event WHERE id IN", [], ids)) == len(TRICKY)


def test_raw_datetimes_read_and_written_as_djangos():
    # given times with and without microseconds, and one not in UTC
    times = [
        dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 1, 9, 0, 0, 123456, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 1, 11, 30, 5, 7, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    ]
    for moment in times:
        # then the raw text written is the ORM adapter's
        if connection.vendor == "sqlite":
            assert sqlite_time(moment) == connection.ops.adapt_datetimefield_value(moment)
        # and what a raw read gives back (as_text) is the same aware UTC moment
        with driver_cursor() as cursor:
            cursor.execute(f"SELECT {as_text('%s')}", [db_value(moment)])  # noqa: S608
            raw = cursor.fetchall()[0][0]
        back = from_db_datetime(raw)
        assert back == moment and back.utcoffset() == dt.timedelta(0)
    # and text with a zone of its own, naive datetimes and None are read too
    assert from_db_datetime("2025-03-01 11:00:00+02:00") == times[0]
    assert from_db_datetime(dt.datetime(2025, 3, 1, 9, 0)) == times[0]
    assert from_db_datetime(None) is None
