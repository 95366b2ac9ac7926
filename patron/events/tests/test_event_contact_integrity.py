"""``events.contact_id`` without a database constraint (docs/adr/0076): no event ever points
at a contact that does not exist, whoever deletes or merges contacts, and when.

The races need two transactions at once, so they run on PostgreSQL (on SQLite a batch
holds the database's one write lock, so a delete simply waits for it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.db.models import Sum

from patron.contacts.models import Contact, ContactIdentity
from patron.core.models import Activity
from patron.events.models import ContactEventCount, ContactEventSummary, Event, IdentityConflict
from patron.events.services import processing
from patron.events.tests.processing_helpers import run, send
from patron.hygiene.services.merge import contact_merge

pytestmark = pytest.mark.usefixtures("no_processing")
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two writers at once: PostgreSQL"
)


def orphans() -> int:
    """Events pointing at a contact that does not exist."""
    return (
        Event.objects.filter(contact_id__isnull=False)
        .exclude(contact_id__in=Contact.objects.values("pk"))
        .count()
    )


def _user(source: Any, user_id: str, n: int) -> Contact:
    """A contact known by ``user_id``, with ``n`` processed events."""
    send(source, *({"type": "track", "userId": user_id, "event": "Seen"} for _ in range(n)))
    run()
    return Contact.objects.get(identities__kind="user_id", identities__value=user_id)


def test_event_contact_has_no_database_constraint_and_deletes_still_cascade(source_key):
    # Given a contact with processed events (and no foreign key constraint on the column)
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Event._meta.db_table)
    assert not [c for c in found.values() if c["foreign_key"] and c["columns"] == ["contact_id"]]
    source, _ = source_key
    ada = _user(source, "ada", 3)
    bob = _user(source, "bob", 2)
    assert Event.objects.filter(contact=ada).count() == 3
    # When one is deleted through Django and the other merged into a third contact
    ada.delete()
    cyd = _user(source, "cyd", 1)
    contact_merge(actor=None, survivor=cyd, merged=bob)
    # Then the deleted one's events are gone, the merged one's moved, none is orphaned
    assert Event.objects.count() == 3
    assert Event.objects.filter(contact=cyd).count() == 3
    assert orphans() == 0


@postgres_only
def test_a_contact_deleted_by_raw_sql_takes_its_events_with_it(source_key):
    # Given a contact with events, one of them named by an identity conflict of others
    source, _ = source_key
    ada = _user(source, "ada", 3)
    keep = _user(source, "bob", 1)
    cyd = Contact.objects.create(first_name="Cyd")
    noted = Event.objects.filter(contact=ada).first()
    conflict = IdentityConflict.objects.create(
        survivor=keep, merged=cyd, kind="email", value="x@example.com", event=noted
    )
    # When the contact row alone is deleted with SQL (what Django's cascade does not see)
    for model in (ContactIdentity, ContactEventSummary, ContactEventCount, Activity):
        model.objects.filter(contact_id=ada.pk).delete()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM contacts_contact WHERE id = %s", [ada.pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit's deferred work, now
    # Then the trigger deleted its events, and only its events, and unlinked the conflict
    assert orphans() == 0
    assert list(Event.objects.values_list("contact_id", flat=True)) == [keep.pk]
    conflict.refresh_from_db()
    assert conflict.event_id is None and conflict.survivor_id == keep.pk


class Pause:
    """Stops the processor's thread once, at a function of the processing module (before
    it runs, or just after with ``after``), until ``go`` is set; ``reached`` says it
    got there."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, name: str, *, after: bool = False) -> None:
        self.reached, self.go = threading.Event(), threading.Event()
        self.calls = 0
        inner = getattr(processing, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if after:
                result = inner(*args, **kwargs)
            if self.calls == 1:
                self.reached.set()
                assert self.go.wait(20), "the test never let the processor go on"
            return result if after else inner(*args, **kwargs)

        monkeypatch.setattr(processing, name, paused)


def _thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """``target`` on a thread with its own connection; its result or error in the list."""
    out: list[Any] = []

    def body() -> None:
        try:
            out.append(target())
        except Exception as exc:  # reported by the test
            out.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=body)
    thread.start()
    return thread, out


def _waiting_for_a_lock(thread: threading.Thread) -> bool:
    """Whether another backend of this database waits for a lock (the deleter)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def _attach_later(source: Any, user_id: str, n: int) -> None:
    send(source, *({"type": "track", "userId": user_id, "event": "Later"} for _ in range(n)))


def _counted() -> int:
    return int(ContactEventSummary.objects.aggregate(n=Sum("event_count"))["n"] or 0)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_contact_deleted_while_a_batch_attaches_its_events_leaves_no_orphan(
    source_key, monkeypatch
):
    # Given Ada with 2 processed events and 3 waiting, and a batch that has attached the
    # 3 to her (marked, not committed): stopped just before its commit
    source, _ = source_key
    ada = _user(source, "ada", 2)
    _attach_later(source, "ada", 3)
    pause = Pause(monkeypatch, "contacts_hold", after=True)
    processor, processed = _thread(run)
    assert pause.reached.wait(20)
    # When Ada is deleted meanwhile (Django's cascade lists her events before the batch
    # commits, so it does not see the 3)
    deleter, deleted = _thread(lambda: Contact.objects.get(pk=ada.pk).delete())
    # Then her delete waits for the batch
    assert _waiting_for_a_lock(deleter)
    pause.go.set()
    processor.join(30)
    deleter.join(30)
    assert processed == [3]
    assert deleted and not isinstance(deleted[0], Exception), deleted
    # And once both committed, no event points at her: the trigger deleted the 3
    assert not Contact.objects.filter(pk=ada.pk).exists()
    assert orphans() == 0
    assert Event.objects.count() == 0


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_contact_deleted_before_the_batch_locks_it_rolls_the_batch_back(source_key, monkeypatch):
    # Given Ada with 2 processed events and 3 waiting, and a batch that has resolved the
    # 3 to her but not locked or marked anything yet
    source, _ = source_key
    ada = _user(source, "ada", 2)
    _attach_later(source, "ada", 3)
    pause = Pause(monkeypatch, "aggregates_current")
    processor, processed = _thread(run)
    assert pause.reached.wait(20)
    # When Ada is deleted and committed meanwhile (the batch has locked nothing of hers)
    deleter, deleted = _thread(lambda: Contact.objects.get(pk=ada.pk).delete())
    deleter.join(30)
    assert deleted and not isinstance(deleted[0], Exception), deleted
    pause.go.set()
    processor.join(30)
    # Then the batch found her gone, rolled back, and was done again from a fresh read:
    # the 3 events belong to a new contact for "ada", processed and counted once
    assert processed == [3]
    assert pause.calls == 2
    assert orphans() == 0
    assert not Event.objects.filter(processed=False).exists()
    again = Contact.objects.get(identities__kind="user_id", identities__value="ada")
    assert again.pk != ada.pk
    assert Event.objects.filter(contact=again).count() == 3 == Event.objects.count()
    assert _counted() == 3


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_merge_while_a_batch_attaches_events_moves_them_all(source_key, monkeypatch):
    # Given Ada (2 processed events, 3 waiting) and Bob (1 event), and a batch that has
    # attached Ada's 3 (not committed): stopped just before its commit
    source, _ = source_key
    ada = _user(source, "ada", 2)
    bob = _user(source, "bob", 1)
    _attach_later(source, "ada", 3)
    pause = Pause(monkeypatch, "contacts_hold", after=True)
    processor, processed = _thread(run)
    assert pause.reached.wait(20)
    # When Ada is merged into Bob meanwhile
    merger, merged = _thread(lambda: contact_merge(actor=None, survivor=bob.pk, merged=ada.pk))
    # Then the merge waits for the batch, and then moves all of Ada's events to Bob
    assert _waiting_for_a_lock(merger)
    pause.go.set()
    processor.join(30)
    merger.join(30)
    assert processed == [3]
    assert merged and not isinstance(merged[0], Exception), merged
    assert not Contact.objects.filter(pk=ada.pk).exists()
    assert orphans() == 0
    assert Event.objects.filter(contact_id=bob.pk).count() == 6 == Event.objects.count()
