"""Write services for support tickets and satisfaction survey responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.clean import (
    clean_body,
    clean_choice,
    clean_datetime,
    clean_id,
    clean_optional_key,
    clean_str,
    collect,
    reject_unknown,
)
from patron.core.permissions import P
from patron.core.services import activity_record, diff, snapshot
from patron.segments.tasks import contacts_changed
from patron.support.models import SurveyResponse, Ticket
from patron.support.selectors import tickets_visible_to

TICKET_UPDATE_KEYS = (
    "subject",
    "description",
    "channel",
    "status",
    "priority",
    "assignee_id",
    "external_id",
    "opened_at",
)
TICKET_CREATE_KEYS = ("contact_id", *TICKET_UPDATE_KEYS)
TICKET_TRACKED = (*TICKET_UPDATE_KEYS[:5], "assignee", "external_id", "opened_at", "resolved_at")
SURVEY_KEYS = ("contact_id", "kind", "score", "comment", "ticket_id", "responded_at")
DESCRIPTION_MAX = 20_000
COMMENT_MAX = 5_000
DONE = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)
SCORE_RANGE = {SurveyResponse.Kind.NPS: (0, 10), SurveyResponse.Kind.CSAT: (1, 5)}


def _visible_contact(actor: User, raw: Any) -> Contact:
    """The contact a ticket or answer is about; out of scope is the same as missing.

    Its row is locked ``FOR NO KEY UPDATE`` until commit (as for a new order, ADR 0089):
    a merge of this contact waits for the new row and moves it, or, if the merge came
    first, the row is refused like any for a contact that no longer exists (not a
    foreign key error at commit)."""
    pk = clean_id(raw, "contact_id")
    locked = contacts_visible_to(actor).select_for_update(no_key=True, of=("self",))
    contact = locked.filter(pk=pk).first()
    if contact is None:
        raise Contact.DoesNotExist("No such contact.")
    return contact


def _assignee(raw: Any) -> User | None:
    if raw is None:
        return None
    pk = clean_id(raw, "assignee_id")
    user = User.objects.filter(pk=pk, is_active=True, is_service=False).first()
    if user is None or not user.has_perm_code(P.TICKET_VIEW):
        raise ValidationError({"assignee_id": ["No such active user who can see tickets."]})
    return user


def _ticket_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """Cleaned values of the ticket fields present in ``data``."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if "subject" in data:
        values["subject"] = collect(
            errors, clean_str, data["subject"], "subject", max_length=300, required=True
        )
    if "description" in data:
        values["description"] = collect(
            errors, clean_body, data["description"], "description", max_length=DESCRIPTION_MAX
        )
    for key, choices in (
        ("channel", Ticket.Channel.values),
        ("status", Ticket.Status.values),
        ("priority", Ticket.Priority.values),
    ):
        if key in data:
            values[key] = collect(errors, clean_choice, data[key], key, choices)
    if "assignee_id" in data:
        values["assignee"] = collect(errors, _assignee, data["assignee_id"])
    if "external_id" in data:
        values["external_id"] = collect(
            errors, clean_optional_key, data["external_id"], "external_id"
        )
    if "opened_at" in data:
        values["opened_at"] = collect(errors, clean_datetime, data["opened_at"], "opened_at")
    if errors:
        raise ValidationError(errors)
    return values


def _external_id_taken(external_id: str | None, exclude_pk: int | None = None) -> bool:
    if not external_id:
        return False
    qs = Ticket.objects.filter(external_id=external_id)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def _save(ticket: Ticket, **kwargs: Any) -> None:
    try:
        with transaction.atomic():
            ticket.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError(
            {"external_id": ["A ticket with this external id already exists."]}
        ) from exc


@transaction.atomic
def ticket_create(*, actor: User, data: Mapping[str, Any]) -> Ticket:
    """Open a ticket for a contact the actor can see."""
    require(actor, P.TICKET_EDIT)
    reject_unknown(data, TICKET_CREATE_KEYS)
    if "contact_id" not in data:
        raise ValidationError({"contact_id": ["This field is required."]})
    contact = _visible_contact(actor, data["contact_id"])
    if "subject" not in data:
        raise ValidationError({"subject": ["This field is required."]})
    values = _ticket_values(data)
    if _external_id_taken(values.get("external_id")):
        raise ValidationError({"external_id": ["A ticket with this external id already exists."]})
    values.setdefault("opened_at", timezone.now())
    ticket = Ticket(contact=contact, **values)
    if ticket.status in DONE:
        ticket.resolved_at = timezone.now()
    _save(ticket)
    after = snapshot(ticket, TICKET_TRACKED)
    activity_record(
        actor=actor,
        verb="ticket.created",
        subject=ticket,
        contact_id=contact.pk,
        changes={"after": {k: v for k, v in after.items() if v not in ("", None)}},
    )
    contacts_changed([ticket.contact_id], what={"tickets"})
    return ticket


@transaction.atomic
def ticket_update(*, actor: User, ticket: Ticket | int, data: Mapping[str, Any]) -> Ticket:
    """Change a ticket. Resolving or closing it stamps ``resolved_at``; reopening clears it."""
    require(actor, P.TICKET_EDIT)
    reject_unknown(data, TICKET_UPDATE_KEYS)
    pk = ticket.pk if isinstance(ticket, Ticket) else clean_id(ticket, "ticket")
    locked = tickets_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise Ticket.DoesNotExist("No such ticket.")
    ticket = locked
    values = _ticket_values(data)
    if _external_id_taken(values.get("external_id"), exclude_pk=ticket.pk):
        raise ValidationError({"external_id": ["A ticket with this external id already exists."]})
    before = snapshot(ticket, TICKET_TRACKED)
    was_done = ticket.status in DONE
    for key, value in values.items():
        setattr(ticket, key, value)
    fields = set(values)
    if ticket.status in DONE and not was_done:
        ticket.resolved_at = timezone.now()
        fields.add("resolved_at")
    elif ticket.status not in DONE and was_done:
        ticket.resolved_at = None
        fields.add("resolved_at")
    _save(ticket, update_fields=[*sorted(fields), "updated_at"])
    changes = diff(before, snapshot(ticket, TICKET_TRACKED))
    if changes["after"]:
        activity_record(
            actor=actor,
            verb="ticket.updated",
            subject=ticket,
            contact_id=ticket.contact_id,
            changes=changes,
        )
    contacts_changed([ticket.contact_id], what={"tickets"})
    return ticket


@transaction.atomic
def ticket_delete(*, actor: User, ticket: Ticket | int) -> None:
    require(actor, P.TICKET_EDIT)
    pk = ticket.pk if isinstance(ticket, Ticket) else clean_id(ticket, "ticket")
    locked = tickets_visible_to(actor).select_for_update().filter(pk=pk).first()
    if locked is None:
        raise Ticket.DoesNotExist("No such ticket.")
    label, contact_id = str(locked), locked.contact_id
    before = snapshot(locked, TICKET_TRACKED)
    locked.delete()
    contacts_changed([contact_id], what={"tickets"})
    activity_record(
        actor=actor,
        verb="ticket.deleted",
        subject_type="ticket",
        subject_id=pk,
        subject_label=label,
        contact_id=contact_id,
        changes={"before": before},
    )


def _clean_score(kind: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationError({"score": ["Expected a whole number."]})
    low, high = SCORE_RANGE[SurveyResponse.Kind(kind)]
    if not low <= raw <= high:
        raise ValidationError({"score": [f"A {kind.upper()} score is from {low} to {high}."]})
    return raw


@transaction.atomic
def survey_response_create(*, actor: User, data: Mapping[str, Any]) -> SurveyResponse:
    """Record an NPS (0-10) or CSAT (1-5) answer, optionally about one of the contact's tickets."""
    require(actor, P.TICKET_EDIT)
    reject_unknown(data, SURVEY_KEYS)
    if "contact_id" not in data:
        raise ValidationError({"contact_id": ["This field is required."]})
    contact = _visible_contact(actor, data["contact_id"])
    errors: dict[str, list[str]] = {}
    kind = collect(errors, clean_choice, data.get("kind"), "kind", SurveyResponse.Kind.values)
    score = collect(errors, _clean_score, kind, data.get("score")) if kind else None
    comment = collect(errors, clean_body, data.get("comment"), "comment", max_length=COMMENT_MAX)
    responded_at = (
        collect(errors, clean_datetime, data["responded_at"], "responded_at")
        if data.get("responded_at") is not None
        else timezone.now()
    )
    ticket = None
    if data.get("ticket_id") is not None:
        ticket_pk = collect(errors, clean_id, data["ticket_id"], "ticket_id")
        ticket = tickets_visible_to(actor).filter(pk=ticket_pk, contact=contact).first()
        if ticket is None and "ticket_id" not in errors:
            errors["ticket_id"] = ["No such ticket for this contact."]
    if errors or kind is None or score is None:
        raise ValidationError(errors or {"score": ["This field is required."]})
    survey = SurveyResponse.objects.create(
        contact=contact,
        kind=kind,
        score=score,
        comment=comment or "",
        ticket=ticket,
        responded_at=responded_at,
    )
    activity_record(
        actor=actor,
        verb="survey.answered",
        subject=survey,
        contact_id=contact.pk,
        changes={"after": {"kind": kind, "score": score, "ticket": survey.ticket_id}},
    )
    contacts_changed([survey.contact_id], what={"tickets"})
    return survey
