"""Ticket and survey services: validation, resolved_at, scope, permissions, activity."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state, own_records_only
from patron.support.models import SurveyResponse, Ticket
from patron.support.selectors import tickets_visible_to
from patron.support.services import (
    survey_response_create,
    ticket_create,
    ticket_delete,
    ticket_update,
)

pytestmark = pytest.mark.django_db


def _ticket(world, **data) -> Ticket:
    return ticket_create(
        actor=world.admin, data={"contact_id": world.ids["mine_contact"], "subject": "S", **data}
    )


def test_create_cleans_and_records_activity(world, make_user):
    agent = make_user("support", password=None)
    ticket = _ticket(
        world,
        subject="  Login\x00 broken ",
        description="Line one\nLine two",
        channel="chat",
        priority="high",
        assignee_id=agent.pk,
        external_id="zd-1",
    )
    assert ticket.subject == "Login broken"
    assert ticket.description == "Line one\nLine two"
    assert ticket.assignee == agent and ticket.status == "open" and ticket.resolved_at is None
    entry = Activity.objects.get(verb="ticket.created", subject_id=ticket.pk)
    assert entry.contact_id == world.ids["mine_contact"] and entry.subject_id == ticket.pk
    assert entry.changes["after"]["priority"] == "high"


def test_resolved_at_follows_the_status(world):
    ticket = _ticket(world)
    ticket = ticket_update(actor=world.admin, ticket=ticket, data={"status": "pending"})
    assert ticket.resolved_at is None
    ticket = ticket_update(actor=world.admin, ticket=ticket, data={"status": "resolved"})
    resolved_at = ticket.resolved_at
    assert resolved_at is not None
    ticket = ticket_update(actor=world.admin, ticket=ticket, data={"status": "closed"})
    assert ticket.resolved_at == resolved_at  # closing a resolved ticket keeps the time
    ticket = ticket_update(actor=world.admin, ticket=ticket, data={"status": "open"})
    assert ticket.resolved_at is None
    ticket.refresh_from_db()
    assert ticket.resolved_at is None and ticket.status == "open"
    assert _ticket(world, status="closed").resolved_at is not None
    changes = Activity.objects.filter(verb="ticket.updated", subject_id=ticket.pk).last().changes
    assert changes["after"] == {"status": "open", "resolved_at": None}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "s" * 301}, "subject"),
        ({"subject": 5}, "subject"),
        ({"status": "done"}, "status"),
        ({"channel": "pigeon"}, "channel"),
        ({"priority": "meh"}, "priority"),
        ({"assignee_id": 999_999}, "assignee_id"),
        ({"assignee_id": "me"}, "assignee_id"),
        ({"description": "d" * 20_001}, "description"),
        ({"opened_at": "soon"}, "opened_at"),
        ({"resolved_at": "2024-01-01T00:00:00Z"}, "resolved_at"),
        ({"contact_id": "abc"}, "contact_id"),
    ],
)
def test_invalid_tickets_are_refused_and_nothing_is_written(world, data, field):
    before = db_state()
    with pytest.raises(ValidationError) as exc:
        _ticket(world, **data)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert db_state() == before


def test_assignee_must_be_able_to_see_tickets(world, make_user):
    readonly = make_user("readonly", password=None)
    with pytest.raises(ValidationError) as exc:
        _ticket(world, assignee_id=readonly.pk)
    assert "assignee_id" in exc.value.message_dict


def test_duplicate_external_id_is_a_field_error(world):
    _ticket(world, external_id="zd-9")
    other = _ticket(world)
    with pytest.raises(ValidationError) as exc:
        _ticket(world, external_id="zd-9")
    assert list(exc.value.message_dict) == ["external_id"]
    with pytest.raises(ValidationError):
        ticket_update(actor=world.admin, ticket=other, data={"external_id": "zd-9"})


def test_delete_records_activity(world):
    ticket = _ticket(world)
    ticket_delete(actor=world.admin, ticket=ticket.pk)
    assert not Ticket.objects.filter(pk=ticket.pk).exists()
    entry = Activity.objects.get(verb="ticket.deleted", subject_id=ticket.pk)
    assert entry.contact_id == world.ids["mine_contact"]


def test_out_of_scope_tickets_do_not_exist(world, make_user):
    from patron.core.tests.api_client import restricted_power_user

    own_records_only(world.admin)
    rep = restricted_power_user(world, make_user)
    assert set(tickets_visible_to(rep).values_list("pk", flat=True)) == {world.ids["mine_ticket"]}
    before = db_state()
    with pytest.raises(Ticket.DoesNotExist):
        ticket_update(actor=rep, ticket=world.ids["theirs_ticket"], data={"status": "closed"})
    with pytest.raises(Ticket.DoesNotExist):
        ticket_delete(actor=rep, ticket=world.ids["theirs_ticket"])
    with pytest.raises(Contact.DoesNotExist):
        ticket_create(actor=rep, data={"contact_id": world.ids["theirs_contact"], "subject": "x"})
    with pytest.raises(Contact.DoesNotExist):
        survey_response_create(
            actor=rep, data={"contact_id": world.ids["theirs_contact"], "kind": "nps", "score": 1}
        )
    assert db_state() == before


def test_sales_cannot_edit_tickets(world):
    before = db_state()
    with pytest.raises(PermissionDenied):
        ticket_create(actor=world.rep, data={"contact_id": world.ids["mine_contact"]})
    with pytest.raises(PermissionDenied):
        ticket_update(actor=world.rep, ticket=world.ids["mine_ticket"], data={"status": "closed"})
    with pytest.raises(PermissionDenied):
        ticket_delete(actor=world.rep, ticket=world.ids["mine_ticket"])
    assert db_state() == before


# --- Surveys --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "score", "ok"),
    [("nps", 0, True), ("nps", 10, True), ("nps", 11, False), ("nps", -1, False),
     ("csat", 1, True), ("csat", 5, True), ("csat", 0, False), ("csat", 6, False),
     ("nps", 7.5, False), ("nps", True, False), ("nps", "9", False)],
)  # fmt: skip
def test_survey_score_ranges(world, kind, score, ok):
    data = {"contact_id": world.ids["mine_contact"], "kind": kind, "score": score}
    if ok:
        survey = survey_response_create(actor=world.admin, data=data)
        assert survey.score == score
        entry = Activity.objects.get(verb="survey.answered", subject_id=survey.pk)
        assert entry.contact_id == world.ids["mine_contact"]
    else:
        before = db_state()
        with pytest.raises(ValidationError) as exc:
            survey_response_create(actor=world.admin, data=data)
        assert "score" in exc.value.message_dict
        assert db_state() == before


def test_survey_ticket_must_belong_to_the_contact(world):
    data = {"contact_id": world.ids["mine_contact"], "kind": "csat", "score": 4}
    survey = survey_response_create(
        actor=world.admin, data={**data, "ticket_id": world.ids["mine_ticket"]}
    )
    assert survey.ticket_id == world.ids["mine_ticket"]
    with pytest.raises(ValidationError) as exc:
        survey_response_create(
            actor=world.admin, data={**data, "ticket_id": world.ids["theirs_ticket"]}
        )
    assert "ticket_id" in exc.value.message_dict
    assert SurveyResponse.objects.filter(ticket_id=world.ids["theirs_ticket"]).count() == 0
