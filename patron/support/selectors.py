"""Permission-scoped reads of tickets and survey responses (scoped through the contact)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.contacts.selectors import related_visible_to
from patron.core.clean import pk_or_404
from patron.core.permissions import P
from patron.support.models import SurveyResponse, Ticket


def tickets_visible_to(actor: User) -> QuerySet[Ticket]:
    return related_visible_to(actor, Ticket, P.TICKET_VIEW)


def ticket_get(actor: User, ticket_id: int | str) -> Ticket:
    """A ticket the actor may see, else Http404 (out-of-scope records do not exist)."""
    ticket = tickets_visible_to(actor).filter(pk=pk_or_404(ticket_id)).first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def tickets_filter(
    actor: User,
    *,
    contact_id: int | None = None,
    status: str = "",
    priority: str = "",
    assignee_id: int | None = None,
    external_id: str = "",
) -> QuerySet[Ticket]:
    qs = tickets_visible_to(actor)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if status:
        qs = qs.filter(status=status)
    if priority:
        qs = qs.filter(priority=priority)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if external_id:
        qs = qs.filter(external_id=external_id)
    return qs


def surveys_visible_to(actor: User) -> QuerySet[SurveyResponse]:
    return related_visible_to(actor, SurveyResponse, P.TICKET_VIEW)


def survey_get(actor: User, survey_id: int | str) -> SurveyResponse:
    survey = surveys_visible_to(actor).filter(pk=pk_or_404(survey_id)).first()
    if survey is None:
        raise Http404("No such survey response.")
    return survey


def surveys_filter(
    actor: User, *, contact_id: int | None = None, kind: str = ""
) -> QuerySet[SurveyResponse]:
    qs = surveys_visible_to(actor)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if kind:
        qs = qs.filter(kind=kind)
    return qs
