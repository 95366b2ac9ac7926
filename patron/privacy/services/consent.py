"""Write services of the consent ledger.

The ledger is append-only: giving or withdrawing consent records a new entry; the latest
entry per contact, purpose and channel is the one in force. Every entry is permission
checked, visible-contact checked, written with an activity entry, and re-evaluates the
contact's live segments after commit.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.normalize import clean_text
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.privacy.models import Consent
from patron.segments.tasks import contacts_changed

#: How far ahead of the server clock a recorded time may be (client clocks drift).
FUTURE_SKEW = dt.timedelta(minutes=5)


def _choice(errors: dict[str, list[str]], key: str, value: Any, choices: Any) -> str:
    allowed = [c for c, _ in choices]
    if not isinstance(value, str) or value not in allowed:
        errors[key] = [f"Choose one of: {', '.join(allowed)}."]
        return ""
    return value


@transaction.atomic
def consent_record(
    *,
    actor: User,
    contact: Contact | int,
    purpose: str,
    channel: str,
    status: str,
    source: str,
    lawful_basis: str = Consent.LawfulBasis.CONSENT,
    wording_version: str = "",
    recorded_at: dt.datetime | None = None,
) -> Consent:
    """Append one consent entry (granted or withdrawn) for a contact the actor can see.

    ``source``: where it was given (form name, import, call ...). ``recorded_at``: when it
    was given (default now; not in the future, timezone-aware).
    """
    require(actor, P.CONSENT_RECORD)
    errors: dict[str, list[str]] = {}
    purpose = _choice(errors, "purpose", purpose, Consent.Purpose.choices)
    channel = _choice(errors, "channel", channel, Consent.Channel.choices)
    status = _choice(errors, "status", status, Consent.Status.choices)
    lawful_basis = _choice(errors, "lawful_basis", lawful_basis, Consent.LawfulBasis.choices)
    source_text = clean_text(source, max_length=200) if isinstance(source, str) else ""
    if not source_text:
        errors["source"] = ["Say where the consent was given or withdrawn."]
    wording = clean_text(wording_version, max_length=60) if isinstance(wording_version, str) else ""
    now = timezone.now()
    if recorded_at is None:
        recorded_at = now
    elif not isinstance(recorded_at, dt.datetime) or timezone.is_naive(recorded_at):
        errors["recorded_at"] = ["Give a date and time with a time zone."]
    elif recorded_at > now + FUTURE_SKEW:
        errors["recorded_at"] = ["Consent cannot be recorded in the future."]
    if errors:
        raise ValidationError(errors)
    pk = contact.pk if isinstance(contact, Contact) else int(contact)
    target = contacts_visible_to(actor).select_for_update().filter(pk=pk).first()
    if target is None:
        raise PermissionDenied("You cannot record consent for this contact.")
    entry = Consent(
        contact=target,
        purpose=purpose,
        channel=channel,
        status=status,
        lawful_basis=lawful_basis,
        source=source_text,
        wording_version=wording,
        recorded_at=recorded_at,
        recorded_by=None if actor.is_service else actor,
    )
    entry.save(force_insert=True)
    activity_record(
        actor=actor,
        verb=f"consent.{status}",
        subject=entry,
        contact_id=target.pk,
        changes={
            "after": {
                "purpose": purpose,
                "channel": channel,
                "status": status,
                "lawful_basis": lawful_basis,
                "source": source_text,
                "recorded_at": recorded_at.isoformat(),
            }
        },
    )
    contacts_changed([target.pk], what={"consent"})
    return entry
