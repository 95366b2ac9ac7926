"""Writers against a merge (or its undo) at the same moment, on PostgreSQL.

Each test runs two real transactions on two connections (one thread each) and forces one
interleaving: the first transaction is held open at a chosen point by a gate (a wrapper
around a function it calls), the second is started and the test waits until PostgreSQL
reports it waiting for a lock, then the gate opens. PostgreSQL's deadlock detector
(``deadlock_timeout``, 1 s by default) turns a deadlock into an error on one side,
``lock_timeout`` turns any other hang into an error, and every wait is bounded.

Each test asserts the end state: the writer's order, edit or note is on the survivor (or
the merged contact again after an undo), or the writer was refused with a clear error
(no such contact) and wrote nothing; no deadlock error reaches either side.

PostgreSQL only: on SQLite one transaction holds the database's single write lock, so the
held-open writer would block the other for the whole test and no interleaving exists to
force. ``conftest.py`` makes an unreachable PostgreSQL fail the session, never skip.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum

from patron.accounts.models import User
from patron.commerce.models import ContactPurchaseSummary, Order
from patron.commerce.services import order_create, order_update
from patron.commerce.summary import COUNTED_STATUSES
from patron.contacts.models import Contact, Note
from patron.contacts.services import contact_update, note_create
from patron.core.permissions import PermissionDenied
from patron.hygiene.models import MergeRecord
from patron.hygiene.services import contact_merge, contact_merge_undo
from patron.hygiene.tests.factories import contact

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL"),
]
WAIT = 15.0  # seconds: every wait in these tests is bounded


class Side(threading.Thread):
    """One transaction in its own thread and connection; keeps its result or error."""

    def __init__(self, name: str, fn: Callable[[], Any]) -> None:
        super().__init__(name=name, daemon=True)
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.pid: int | None = None
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            connection.ensure_connection()
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = '10s'")
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.connected.set()
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
        finally:
            self.connected.set()
            connection.close()

    def finish(self) -> None:
        self.join(WAIT)
        assert not self.is_alive(), f"{self.name} hung"


class Gate:
    """Wraps ``module.name`` so that, in the thread named ``holder``, the call waits (its
    transaction held open) until ``open()``; ``reached`` is set when it gets there."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str, holder: str):
        self.reached = threading.Event()
        self._open = threading.Event()
        real = getattr(module, name)

        def gated(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name == holder and not self._open.is_set():
                self.reached.set()
                assert self._open.wait(WAIT), "gate never opened"
            return real(*args, **kwargs)

        monkeypatch.setattr(module, name, gated)

    def wait_reached(self, side: Side) -> None:
        for _ in range(int(WAIT * 20)):
            if self.reached.is_set() or not side.is_alive():
                break
            time.sleep(0.05)
        assert self.reached.is_set(), f"{side.name} never reached the gate: {side.error!r}"

    def open(self) -> None:
        self._open.set()


def wait_blocked(side: Side) -> None:
    """Until PostgreSQL reports ``side``'s backend waiting for a lock (it is queued behind
    the held transaction), so the interleaving is the one the test means."""
    assert side.connected.wait(WAIT)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if not side.is_alive():
            raise AssertionError(f"{side.name} ended without waiting: {side.error!r}")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [side.pid]
            )
            row = cursor.fetchone()
        if row and row[0] == "Lock":
            return
        time.sleep(0.05)
    raise AssertionError(f"{side.name} never waited for a lock")


def run_interleaved(first: Side, gate: Gate, second: Side) -> None:
    """``first`` runs to the gate and is held there; ``second`` starts and queues behind
    it; the gate opens; both finish."""
    first.start()
    gate.wait_reached(first)
    second.start()
    try:
        wait_blocked(second)
    finally:
        gate.open()
        first.finish()
        second.finish()


def summary_matches_orders(*contact_ids: int) -> None:
    """The purchase summary of these contacts is what their counted orders say."""
    for cid in contact_ids:
        counted = Order.objects.filter(contact_id=cid, status__in=COUNTED_STATUSES)
        row = ContactPurchaseSummary.objects.filter(contact_id=cid).first()
        if not counted.exists():
            assert row is None, cid
            continue
        assert row is not None, cid
        assert row.order_count == counted.count()
        total = (
            counted.aggregate(t=Sum("total"))["t"]
            - counted.aggregate(r=Sum("refunded_amount"))["r"]
        )
        assert row.total == total


def pair() -> tuple[Contact, Contact]:
    """A survivor with an empty job title and a contact to merge into it."""
    a = contact(first_name="Ada", last_name="Pair", email="ada@example.com")
    b = contact(first_name="Ada", last_name="Pair", email="ada.p@example.com")
    return a, b


def an_order(actor: User, c: Contact, ext: str, total: str = "40.00") -> Order:
    return order_create(actor=actor, data={"contact_id": c.pk, "external_id": ext, "total": total})


# --- (1) orders of the merged contact ---------------------------------------------------


def test_order_update_held_open_then_merge_does_not_deadlock(monkeypatch, admin_user_p):
    # Given B's order being refunded, its transaction held open after the order row is
    # written (just before the purchase summary refresh locks B)
    a, b = pair()
    o = an_order(admin_user_p, b, "o-1")
    import patron.commerce.services as commerce

    writer = Side(
        "writer",
        lambda: order_update(actor=admin_user_p, order=o.pk, data={"status": "refunded"}),
    )
    gate = Gate(monkeypatch, commerce, "purchase_summary_refresh", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    # When the merge of B into A starts and queues behind it, then the writer goes on
    run_interleaved(writer, gate, merge)
    # Then neither side failed (no deadlock), and the refund is on the survivor's order
    assert writer.error is None, writer.error
    assert merge.error is None, merge.error
    o.refresh_from_db()
    assert (o.contact_id, o.status, o.refunded_amount) == (a.pk, "refunded", Decimal("40.00"))
    assert not Contact.objects.filter(pk=b.pk).exists()
    summary_matches_orders(a.pk)


def test_merge_held_open_then_order_update_follows_the_order(monkeypatch, admin_user_p):
    # Given a merge of B into A held open after it moved B's rows and deleted B
    a, b = pair()
    o = an_order(admin_user_p, b, "o-2")
    import patron.hygiene.services.merge as merge_mod

    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")
    writer = Side(
        "writer",
        lambda: order_update(actor=admin_user_p, order=o.pk, data={"refunded_amount": "15.00"}),
    )
    # When B's order is partly refunded meanwhile
    run_interleaved(merge, gate, writer)
    # Then both succeed: the refund lands on the order, now the survivor's, and counts there
    assert merge.error is None, merge.error
    assert writer.error is None, writer.error
    o.refresh_from_db()
    assert (o.contact_id, o.status) == (a.pk, "partially_refunded")
    assert o.refunded_amount == Decimal("15.00")
    summary_matches_orders(a.pk)
    assert ContactPurchaseSummary.objects.get(contact_id=a.pk).total == Decimal("25.00")


def test_order_create_held_open_then_merge_moves_the_new_order(monkeypatch, admin_user_p):
    # Given a new order for B, its transaction held open before the summary refresh
    a, b = pair()
    import patron.commerce.services as commerce

    writer = Side(
        "writer",
        lambda: order_create(
            actor=admin_user_p, data={"contact_id": b.pk, "external_id": "n-1", "total": "9.50"}
        ),
    )
    gate = Gate(monkeypatch, commerce, "purchase_summary_refresh", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    # When B is merged into A meanwhile
    run_interleaved(writer, gate, merge)
    # Then the merge waited for the order and moved it to the survivor
    assert writer.error is None, writer.error
    assert merge.error is None, merge.error
    new = Order.objects.get(external_id="n-1")
    assert new.contact_id == a.pk
    assert "commerce.order.contact" in merge.result.moved
    summary_matches_orders(a.pk)


def test_order_create_for_a_contact_being_merged_away_is_refused_clearly(monkeypatch, admin_user_p):
    # Given a merge of B into A held open after B's row was deleted
    a, b = pair()
    import patron.hygiene.services.merge as merge_mod

    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")
    writer = Side(
        "writer",
        lambda: order_create(
            actor=admin_user_p, data={"contact_id": b.pk, "external_id": "n-2", "total": "9.50"}
        ),
    )
    # When an order for B is created meanwhile
    run_interleaved(merge, gate, writer)
    # Then the merge succeeded and the order was refused as for any contact that no longer
    # exists (a 404 "No such contact." in the API), not a constraint error at commit
    assert merge.error is None, merge.error
    assert isinstance(writer.error, Contact.DoesNotExist), repr(writer.error)
    assert not Order.objects.filter(external_id="n-2").exists()
    summary_matches_orders(a.pk, b.pk)


# --- (2) field edits of the merged contact ----------------------------------------------


def test_edit_held_open_then_merge_carries_the_edit(monkeypatch, admin_user_p):
    a, b = pair()
    import patron.contacts.services.contact as contact_mod

    writer = Side(
        "writer",
        lambda: contact_update(actor=admin_user_p, contact=b.pk, data={"job_title": "Pilot"}),
    )
    gate = Gate(monkeypatch, contact_mod, "activity_record", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    run_interleaved(writer, gate, merge)
    assert writer.error is None, writer.error
    assert merge.error is None, merge.error
    # The merge read B after the edit: the survivor has it, and the journal too
    a.refresh_from_db()
    assert a.job_title == "Pilot"
    assert merge.result.merged_before["fields"]["job_title"] == "Pilot"


def test_edit_of_a_contact_being_merged_away_is_refused(monkeypatch, admin_user_p):
    a, b = pair()
    import patron.hygiene.services.merge as merge_mod

    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")
    writer = Side(
        "writer",
        lambda: contact_update(actor=admin_user_p, contact=b.pk, data={"job_title": "Pilot"}),
    )
    run_interleaved(merge, gate, writer)
    assert merge.error is None, merge.error
    assert isinstance(writer.error, PermissionDenied), repr(writer.error)
    assert not Contact.objects.filter(pk=b.pk).exists()  # not re-created by the edit
    a.refresh_from_db()
    assert a.job_title == ""


# --- (3) notes on the merged contact ----------------------------------------------------


def test_note_held_open_then_merge_moves_the_note(monkeypatch, admin_user_p):
    a, b = pair()
    import patron.contacts.services.note as note_mod

    writer = Side("writer", lambda: note_create(actor=admin_user_p, body="Called", contact=b.pk))
    gate = Gate(monkeypatch, note_mod, "activity_record", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    run_interleaved(writer, gate, merge)
    assert writer.error is None, writer.error
    assert merge.error is None, merge.error
    assert list(Note.objects.values_list("contact_id", "body")) == [(a.pk, "Called")]


def test_note_on_a_contact_being_merged_away_is_refused(monkeypatch, admin_user_p):
    a, b = pair()
    import patron.hygiene.services.merge as merge_mod

    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")
    writer = Side("writer", lambda: note_create(actor=admin_user_p, body="Called", contact=b.pk))
    run_interleaved(merge, gate, writer)
    assert merge.error is None, merge.error
    assert isinstance(writer.error, PermissionDenied), repr(writer.error)
    assert not Note.objects.exists()


# --- (4) the same pair merged both ways at once -----------------------------------------


def test_opposite_merges_of_one_pair_serialise(monkeypatch, admin_user_p):
    a, b = pair()
    o = an_order(admin_user_p, a, "p-1")
    p = an_order(admin_user_p, b, "p-2")
    note_create(actor=admin_user_p, body="On B", contact=b.pk)
    import patron.hygiene.services.merge as merge_mod

    first = Side("first", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "first")
    second = Side("second", lambda: contact_merge(actor=admin_user_p, survivor=b.pk, merged=a.pk))
    run_interleaved(first, gate, second)
    # The first wins; the second finds its partner gone and changes nothing (no deadlock)
    assert first.error is None, first.error
    assert isinstance(second.error, PermissionDenied), repr(second.error)
    assert MergeRecord.objects.count() == 1
    assert list(Contact.objects.values_list("pk", flat=True)) == [a.pk]
    assert set(Order.objects.values_list("pk", "contact_id")) == {(o.pk, a.pk), (p.pk, a.pk)}
    assert Note.objects.get().contact_id == a.pk
    summary_matches_orders(a.pk)


# --- (5) undo while the survivor is edited ----------------------------------------------


def _merged(actor: User) -> tuple[Contact, Contact, Order, MergeRecord]:
    a, b = pair()
    o = an_order(actor, b, "u-1", total="30.00")
    record = contact_merge(actor=actor, survivor=a.pk, merged=b.pk)
    return a, b, o, record


def test_survivor_edit_held_open_then_undo_keeps_the_edit(monkeypatch, admin_user_p):
    a, b, _, record = _merged(admin_user_p)
    import patron.contacts.services.contact as contact_mod

    writer = Side(
        "writer",
        lambda: contact_update(actor=admin_user_p, contact=a.pk, data={"job_title": "Chef"}),
    )
    gate = Gate(monkeypatch, contact_mod, "activity_record", "writer")
    undo = Side("undo", lambda: contact_merge_undo(actor=admin_user_p, merge=record.pk))
    run_interleaved(writer, gate, undo)
    assert writer.error is None, writer.error
    assert undo.error is None, undo.error
    a.refresh_from_db()
    assert a.job_title == "Chef"
    assert Contact.objects.filter(pk=b.pk).exists()


def test_undo_held_open_then_survivor_edit_applies_after_it(monkeypatch, admin_user_p):
    a, b, _, record = _merged(admin_user_p)
    import patron.hygiene.services.undo as undo_mod

    undo = Side("undo", lambda: contact_merge_undo(actor=admin_user_p, merge=record.pk))
    gate = Gate(monkeypatch, undo_mod, "purchase_summary_refresh", "undo")
    writer = Side(
        "writer",
        lambda: contact_update(actor=admin_user_p, contact=a.pk, data={"job_title": "Chef"}),
    )
    run_interleaved(undo, gate, writer)
    assert undo.error is None, undo.error
    assert writer.error is None, writer.error
    a.refresh_from_db()
    assert (a.job_title, a.email) == ("Chef", "ada@example.com")
    assert Contact.objects.filter(pk=b.pk).exists()


def test_order_update_held_open_then_undo_does_not_deadlock(monkeypatch, admin_user_p):
    # Given the merged contact's order, now the survivor's, being refunded and held open
    a, b, o, record = _merged(admin_user_p)
    import patron.commerce.services as commerce

    writer = Side(
        "writer",
        lambda: order_update(actor=admin_user_p, order=o.pk, data={"status": "refunded"}),
    )
    gate = Gate(monkeypatch, commerce, "purchase_summary_refresh", "writer")
    undo = Side("undo", lambda: contact_merge_undo(actor=admin_user_p, merge=record.pk))
    # When the merge is undone meanwhile
    run_interleaved(writer, gate, undo)
    # Then both succeed and the refunded order went back to the merged contact
    assert writer.error is None, writer.error
    assert undo.error is None, undo.error
    o.refresh_from_db()
    assert (o.contact_id, o.status) == (b.pk, "refunded")
    summary_matches_orders(a.pk, b.pk)


# --- (6) a static list add of the merged contact ----------------------------------------


def test_list_add_of_a_contact_being_merged_away_leaves_it_out(monkeypatch, admin_user_p):
    # Given a merge of B into A held open after B's row was deleted
    from patron.contacts.models import ContactList, ContactListMember
    from patron.contacts.services import list_add_contacts

    a, b = pair()
    import patron.hygiene.services.merge as merge_mod

    shortlist = ContactList.objects.create(name="Shortlist")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    gate = Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")
    writer = Side(
        "writer",
        lambda: list_add_contacts(
            actor=admin_user_p, contact_list=shortlist, contact_ids=[a.pk, b.pk]
        ),
    )
    # When A and B are added to a list meanwhile
    run_interleaved(merge, gate, writer)
    # Then the merge went through and the list holds A only (B no longer exists): no
    # foreign key error at commit
    assert merge.error is None, merge.error
    assert writer.error is None, repr(writer.error)
    assert writer.result == 1
    members = ContactListMember.objects.filter(contact_list=shortlist)
    assert list(members.values_list("contact_id", flat=True)) == [a.pk]
