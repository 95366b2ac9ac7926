"""A new ticket or survey answer for a contact that a merge is taking away, on PostgreSQL.

The same forced interleavings as ``patron/hygiene/tests/test_merge_concurrency_writers.py``
(whose two-connection helpers these tests use): before ADR 0089's lock, a ticket created
while its contact was merged away failed with a foreign key error at commit.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from patron.contacts.models import Contact
from patron.hygiene.services import contact_merge
from patron.hygiene.tests.test_merge_concurrency_writers import Gate, Side, pair, run_interleaved
from patron.support.models import SurveyResponse, Ticket
from patron.support.services import survey_response_create, ticket_create

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once: PostgreSQL"),
]


def _merge_held_after_delete(monkeypatch: Any, actor: Any, a: Contact, b: Contact) -> tuple:
    import patron.hygiene.services.merge as merge_mod

    merge = Side("merge", lambda: contact_merge(actor=actor, survivor=a.pk, merged=b.pk))
    return merge, Gate(monkeypatch, merge_mod, "derived_rebuild", "merge")


def test_ticket_for_a_contact_being_merged_away_is_refused_clearly(monkeypatch, admin_user_p):
    # Given a merge of B into A held open after B's row was deleted
    a, b = pair()
    merge, gate = _merge_held_after_delete(monkeypatch, admin_user_p, a, b)
    writer = Side(
        "writer",
        lambda: ticket_create(actor=admin_user_p, data={"contact_id": b.pk, "subject": "Late"}),
    )
    # When a ticket for B is opened meanwhile
    run_interleaved(merge, gate, writer)
    # Then the merge succeeded and the ticket was refused as for a missing contact
    assert merge.error is None, merge.error
    assert isinstance(writer.error, Contact.DoesNotExist), repr(writer.error)
    assert not Ticket.objects.filter(subject="Late").exists()


def test_survey_answer_for_a_contact_being_merged_away_is_refused_clearly(
    monkeypatch, admin_user_p
):
    a, b = pair()
    merge, gate = _merge_held_after_delete(monkeypatch, admin_user_p, a, b)
    writer = Side(
        "writer",
        lambda: survey_response_create(
            actor=admin_user_p, data={"contact_id": b.pk, "kind": "nps", "score": 9}
        ),
    )
    run_interleaved(merge, gate, writer)
    assert merge.error is None, merge.error
    assert isinstance(writer.error, Contact.DoesNotExist), repr(writer.error)
    assert not SurveyResponse.objects.exists()


def test_ticket_held_open_then_merge_moves_the_new_ticket(monkeypatch, admin_user_p):
    # Given a new ticket for B, its transaction held open just before the ticket is saved
    a, b = pair()
    import patron.support.services as support

    writer = Side(
        "writer",
        lambda: ticket_create(actor=admin_user_p, data={"contact_id": b.pk, "subject": "Open"}),
    )
    gate = Gate(monkeypatch, support, "_save", "writer")
    merge = Side("merge", lambda: contact_merge(actor=admin_user_p, survivor=a.pk, merged=b.pk))
    # When B is merged into A meanwhile
    run_interleaved(writer, gate, merge)
    # Then the merge waited for the ticket and moved it to the survivor
    assert writer.error is None, writer.error
    assert merge.error is None, merge.error
    assert Ticket.objects.get(subject="Open").contact_id == a.pk
