"""/api/v1/tickets and /api/v1/surveys: support history and satisfaction answers."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from patron.contacts.selectors import contact_get
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import (
    ERRORS,
    Filter,
    Id,
    InputSchema,
    IsoDateTime,
    PageQuery,
    PathId,
    page_schema,
)
from patron.support.models import SurveyResponse, Ticket
from patron.support.selectors import survey_get, surveys_filter, ticket_get, tickets_filter
from patron.support.services import (
    survey_response_create,
    ticket_create,
    ticket_delete,
    ticket_update,
)

tickets = Router(tags=["tickets"])
surveys = Router(tags=["surveys"])

Channel = Literal["email", "phone", "chat", "web", "social", "in_person"]
TicketStatus = Literal["open", "pending", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
Kind = Literal["nps", "csat"]


class TicketPatchIn(InputSchema):
    """Only the fields given change. Resolving or closing stamps `resolved_at`."""

    subject: str | None = None
    description: str | None = None
    channel: Channel | None = None
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    external_id: str | None = Field(None, description="Your system's id; unique when set.")
    opened_at: IsoDateTime | None = None


class TicketCreateIn(TicketPatchIn):
    contact_id: Id
    subject: str  # type: ignore[assignment]


class TicketOut(Schema):
    id: int
    contact_id: int
    subject: str
    description: str
    channel: str
    status: str
    priority: str
    assignee_id: int | None
    external_id: str | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class TicketQuery(PageQuery):
    contact_id: Id | None = None
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee_id: Id | None = None
    external_id: Filter = ""


class SurveyIn(InputSchema):
    """An NPS answer scores 0-10, a CSAT answer 1-5."""

    contact_id: Id
    kind: Kind
    score: int
    comment: str | None = None
    ticket_id: Id | None = Field(None, description="A ticket of the same contact.")
    responded_at: IsoDateTime | None = Field(None, description="Defaults to now.")


class SurveyOut(Schema):
    id: int
    contact_id: int
    kind: str
    score: int
    comment: str
    ticket_id: int | None
    responded_at: dt.datetime


class SurveyQuery(PageQuery):
    contact_id: Id | None = None
    kind: Kind | None = None


TicketPage = page_schema(TicketOut, "TicketPage")
SurveyPage = page_schema(SurveyOut, "SurveyPage")


def _contact_pk(actor: Any, contact_id: int | None) -> int | None:
    """A contact filter: the contact must be one the actor can see (else 404)."""
    return None if contact_id is None else contact_get(actor, contact_id).pk


# --- tickets --------------------------------------------------------------------------


@tickets.get("", response={200: TicketPage, **ERRORS}, summary="List tickets")
def list_tickets(request: HttpRequest, filters: Query[TicketQuery]) -> dict[str, Any]:
    """Tickets you can see, newest first; `contact_id` narrows to one contact."""
    actor = actor_of(request)
    qs = tickets_filter(
        actor,
        contact_id=_contact_pk(actor, filters.contact_id),
        status=filters.status or "",
        priority=filters.priority or "",
        assignee_id=filters.assignee_id,
        external_id=filters.external_id,
    )
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id")


@tickets.post("", response={201: TicketOut, **ERRORS}, summary="Open a ticket")
def create_ticket(request: HttpRequest, payload: TicketCreateIn) -> Status[Ticket]:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    data["contact_id"] = contact_get(actor, payload.contact_id).pk
    ticket = ticket_create(actor=actor, data=data)
    return Status(201, ticket_get(actor, ticket.pk))


@tickets.get("/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Get a ticket")
def get_ticket(request: HttpRequest, ticket_id: PathId) -> Ticket:
    return ticket_get(actor_of(request), ticket_id)


@tickets.patch("/{ticket_id}", response={200: TicketOut, **ERRORS}, summary="Update a ticket")
def update_ticket(request: HttpRequest, ticket_id: PathId, payload: TicketPatchIn) -> Ticket:
    actor = actor_of(request)
    ticket = ticket_get(actor, ticket_id)
    ticket_update(actor=actor, ticket=ticket, data=payload.model_dump(exclude_unset=True))
    return ticket_get(actor, ticket.pk)


@tickets.delete("/{ticket_id}", response={204: None, **ERRORS}, summary="Delete a ticket")
def delete_ticket(request: HttpRequest, ticket_id: PathId) -> Status[None]:
    actor = actor_of(request)
    ticket_delete(actor=actor, ticket=ticket_get(actor, ticket_id))
    return Status(204, None)


# --- survey responses -----------------------------------------------------------------


@surveys.get("", response={200: SurveyPage, **ERRORS}, summary="List survey responses")
def list_surveys(request: HttpRequest, filters: Query[SurveyQuery]) -> dict[str, Any]:
    actor = actor_of(request)
    qs = surveys_filter(
        actor, contact_id=_contact_pk(actor, filters.contact_id), kind=filters.kind or ""
    )
    return keyset_page(qs, cursor=filters.cursor, limit=filters.limit, order="-id")


@surveys.post("", response={201: SurveyOut, **ERRORS}, summary="Record a survey response")
def create_survey(request: HttpRequest, payload: SurveyIn) -> Status[SurveyResponse]:
    actor = actor_of(request)
    data = payload.model_dump(exclude_unset=True)
    data["contact_id"] = contact_get(actor, payload.contact_id).pk
    survey = survey_response_create(actor=actor, data=data)
    return Status(201, survey_get(actor, survey.pk))


@surveys.get("/{survey_id}", response={200: SurveyOut, **ERRORS}, summary="Get a survey response")
def get_survey(request: HttpRequest, survey_id: PathId) -> SurveyResponse:
    return survey_get(actor_of(request), survey_id)


ROUTERS = [("/tickets", tickets), ("/surveys", surveys)]
