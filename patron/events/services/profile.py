"""Profile updates from events: identify traits onto contacts, group calls onto companies.

Known traits (Segment's reserved ones) map to contact fields, normalised as at every other
entry point; a trait whose key is a contact custom field is type-checked and stored there;
the rest are kept as custom attributes (``ContactTraits``), where a value may not change
its JSON type. A trait that fails its check is skipped and reported in the source's
debugger; the rest of the message still applies. Primary email and phone are filled when
empty, never overwritten (a different one joins the identity graph instead), and never
taken from another contact (that is a join for identity resolution to decide).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone
from nameparser import HumanName

from patron.contacts.custom_fields import custom_values_clean, custom_values_write
from patron.contacts.models import Company, Contact, ContactCompany, ContactIdentity, CustomField
from patron.contacts.normalize import (
    NormalizationError,
    clean_text,
    normalize_country,
    search_text_for,
)
from patron.core.models import Activity
from patron.core.services import activity_build, activity_record, diff, snapshot
from patron.events.models import ContactTraits, Event, RejectedMessage
from patron.events.services._sql import delete_many, update_many
from patron.events.services.identity import email_match_key, normalize_email, normalize_phone
from patron.hygiene.normalize import contact_keys_refresh

TEXT_TRAITS = {
    "firstName": "first_name",
    "first_name": "first_name",
    "lastName": "last_name",
    "last_name": "last_name",
    "title": "job_title",
    "jobTitle": "job_title",
    "job_title": "job_title",
}
ADDRESS_TRAITS = {
    "street": "address_line1",
    "city": "city",
    "state": "region",
    "region": "region",
    "postalCode": "postal_code",
    "postal_code": "postal_code",
}
HANDLED = {*TEXT_TRAITS, "name", "email", "phone", "birthday", "address"}
TRACKED = (
    "full_name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "birthday",
    "address_line1",
    "city",
    "region",
    "postal_code",
    "country",
)
#: Contact columns derived from others (search and the duplicate finder's match keys).
KEYS = ("email_match_key", "name_key")
MAX_TRAIT_KEYS = 200
MAX_TRAIT_BYTES = 4096


@dataclass
class ProfileWrites:
    """Writes of one batch's profile updates, made together at its end (``save``)."""

    activities: list[Activity] = field(default_factory=list)
    traits: dict[int, dict[str, Any]] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    drop_identities: list[tuple[int, str, str]] = field(default_factory=list)
    # contact id -> (contact, the columns to write): changed profiles, written together
    contacts: dict[int, tuple[Contact, set[str]]] = field(default_factory=dict)

    def contacts_save(self) -> None:
        """One ``UPDATE`` per set of columns for the changed contacts (executemany), in
        place of a ``save()`` each: about 1 ms a contact on PostgreSQL through the ORM
        (docs/performance.md, processing fourth pass). Values as ``save()`` prepares them."""
        groups: dict[tuple[str, ...], list[Contact]] = defaultdict(list)
        now = timezone.now()
        for contact, changed in self.contacts.values():
            contact.updated_at = now
            groups[tuple(sorted(changed | {"updated_at"}))].append(contact)
        for names, contacts in groups.items():
            fields: list[Any] = [Contact._meta.get_field(name) for name in names]
            update_many(
                Contact,
                names,
                [
                    [*(f.get_db_prep_save(getattr(c, f.attname), connection) for f in fields), c.pk]
                    for c in contacts
                ],
            )
        self.contacts.clear()

    def save(self) -> None:
        self.contacts_save()
        Activity.objects.bulk_create(self.activities, batch_size=500)
        # The custom attributes where they changed; the applied-traits hash everywhere.
        with_traits = [
            ContactTraits(contact_id=c, traits=t, applied_hash=self.hashes.get(c, ""))
            for c, t in self.traits.items()
        ]
        hash_only = [
            ContactTraits(contact_id=c, applied_hash=h)
            for c, h in self.hashes.items()
            if c not in self.traits
        ]
        for part, fields in (
            (with_traits, ["traits", "applied_hash", "updated_at"]),
            (hash_only, ["applied_hash", "updated_at"]),
        ):
            ContactTraits.objects.bulk_create(
                part,
                batch_size=500,
                update_conflicts=True,
                unique_fields=["contact"],
                update_fields=fields,
            )
        # An email/phone now primary is no longer kept as a secondary identity too.
        delete_many(ContactIdentity, ("contact", "kind", "value"), self.drop_identities)


class Problems:
    """Trait-level problems found while processing, reported to the debugger per source."""

    def __init__(self) -> None:
        self.items: list[RejectedMessage] = []

    def add(self, event: Event, reason: str) -> None:
        self.items.append(
            RejectedMessage(
                source_id=event.source_id,  # type: ignore[misc]
                stage=RejectedMessage.Stage.PROCESSING,
                received_at=event.received_at,
                type=event.type,
                message_id=event.message_id,
                reason=reason[:300],
                payload=json.dumps(
                    {"traits": event.traits, "properties": event.properties}, default=str
                )[:2000],
            )
        )


def _field_len(name: str) -> int:
    return int(Contact._meta.get_field(name).max_length or 200)  # type: ignore[union-attr]


def _text(value: Any, name: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"trait for {name} must be text")
    text = clean_text(value)
    if len(text) > _field_len(name):
        raise ValueError(f"trait for {name} is longer than {_field_len(name)} characters")
    return text


def _birthday(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise ValueError("birthday must be an ISO 8601 date")
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError as exc:
        raise ValueError("birthday must be an ISO 8601 date") from exc
    if day > timezone.now().date() or day.year < 1900:
        raise ValueError("birthday must be between 1900 and today")
    return day


@functools.lru_cache(maxsize=20_000)
def name_parts(full_name: str) -> tuple[str, str]:
    """First and last name of a full name (nameparser, ~100 µs a call), cut to the fields.

    Memoised like the identity layer's normalisers: a pure function of its input, and
    names repeat (common names, a contact's identify calls with other traits changed)."""
    parsed = HumanName(full_name)
    return parsed.first[:120], parsed.last[:120]


def contact_values_from_traits(
    contact: Contact,
    traits: Mapping[str, Any],
    region: str,
    report: Any,
    foreign: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Contact column values from known traits; bad values reported and skipped."""
    values: dict[str, Any] = {}

    def attempt(name: str, fn: Any, raw: Any) -> None:
        try:
            values[name] = fn(raw)
        except (ValueError, NormalizationError) as exc:
            report(f"trait {name}: {exc}")

    for key, column in TEXT_TRAITS.items():
        if key in traits and traits[key] is not None:
            attempt(column, lambda v, c=column: _text(v, c), traits[key])
    if isinstance(traits.get("name"), str) and traits["name"].strip():
        attempt("full_name", lambda v: _text(v, "full_name"), traits["name"])
        if "full_name" in values and not any(k in values for k in ("first_name", "last_name")):
            first, last = name_parts(values["full_name"])
            if first:
                values["first_name"] = first
            if last:
                values["last_name"] = last
    if traits.get("birthday"):
        attempt("birthday", _birthday, traits["birthday"])
    address = traits.get("address")
    if isinstance(address, dict):
        for key, column in ADDRESS_TRAITS.items():
            if address.get(key) not in (None, ""):
                attempt(column, lambda v, c=column: _text(v, c), address[key])
        if address.get("country"):
            attempt("country", lambda v: normalize_country(str(v)), address["country"])
    elif address is not None:
        report("trait address: must be an object")
    # Primary email/phone: filled when empty, never overwritten.
    email = traits.get("email")
    if isinstance(email, str) and email.strip():
        try:
            normalized = normalize_email(email)
            if not contact.email and len(normalized) <= 254 and "email" not in foreign:
                values["email"] = normalized
        except NormalizationError as exc:
            report(f"trait email: {exc}")
    phone = traits.get("phone")
    if phone not in (None, ""):
        try:
            normalized = normalize_phone(
                str(phone), values.get("country") or contact.country or region
            )
            if not contact.phone and "phone" not in foreign:
                values["phone"] = normalized
        except NormalizationError as exc:
            report(f"trait phone: {exc}")
    return {k: v for k, v in values.items() if v not in ("", None)}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def profile_apply_traits(
    *,
    actor: Any,
    contact: Contact,
    traits: Mapping[str, Any],
    event: Event,
    region: str,
    custom_fields: Mapping[str, CustomField],
    stored: ContactTraits | None,
    problems: Problems,
    foreign: set[str] | frozenset[str] = frozenset(),
    writes: ProfileWrites | None = None,
) -> None:
    """Apply one contact's merged identify traits (call inside the batch's transaction).

    With ``writes``, the activity entry, the custom attributes and dropped identities are
    collected there for the caller to save in bulk (``ProfileWrites.save``); without it
    they are saved here.
    """
    own = writes is None
    out = writes if writes is not None else ProfileWrites()

    def report(reason: str) -> None:
        problems.add(event, reason)

    values = contact_values_from_traits(contact, traits, region, report, foreign)
    before = snapshot(contact, TRACKED)
    changed = [k for k, v in values.items() if getattr(contact, k) != v]
    changes: dict[str, Any] = {"before": {}, "after": {}}
    if changed:
        for key in changed:
            setattr(contact, key, values[key])
        if not contact.full_name and (contact.first_name or contact.last_name):
            contact.full_name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
            changed.append("full_name")
        contact.search_text = search_text_for(
            contact.first_name,
            contact.middle_name,
            contact.last_name,
            contact.full_name,
            contact.email,
            contact.phone,
            contact.external_id or "",
        )
        # The duplicate finder's email and name keys; the email key memoised (identity
        # resolution has just computed it for this address): ~100 µs saved a new contact.
        contact_keys_refresh(contact, email_key=email_match_key)
        _, columns = out.contacts.setdefault(contact.pk, (contact, set()))
        columns.update(changed, ("search_text", *KEYS))
        changes = diff(before, snapshot(contact, TRACKED))
        for kind in ("email", "phone"):
            if kind in changed:
                out.drop_identities.append((contact.pk, kind, getattr(contact, kind)))

    # Custom fields: each checked on its own, so one bad value does not block the rest.
    for key, raw in traits.items():
        if key not in custom_fields or key in HANDLED:
            continue
        try:
            cleaned = custom_values_clean("contact", {key: raw}, creating=False)
        except ValidationError as exc:
            msgs = [str(m) for errs in exc.message_dict.values() for m in errs]
            report(f"trait {key}: {'; '.join(msgs)}")
            continue
        for name, (b, a) in custom_values_write(contact, cleaned).items():
            changes["before"].setdefault("custom", {})[name] = b
            changes["after"].setdefault("custom", {})[name] = a

    # Everything else: custom attributes, whose JSON type stays what it first was.
    extra = {k: v for k, v in traits.items() if k not in HANDLED and k not in custom_fields and k}
    if extra:
        current = dict(stored.traits) if stored is not None else {}
        updated = dict(current)
        for key, value in extra.items():
            key = str(key)[:100]
            if len(json.dumps(value, default=str)) > MAX_TRAIT_BYTES:
                report(f"trait {key}: larger than {MAX_TRAIT_BYTES} bytes")
                continue
            old = current.get(key)
            if old is not None and value is not None and _json_type(old) != _json_type(value):
                report(f"trait {key}: expected {_json_type(old)}, got {_json_type(value)}")
                continue
            if key not in updated and len(updated) >= MAX_TRAIT_KEYS:
                report(f"trait {key}: a contact holds at most {MAX_TRAIT_KEYS} custom traits")
                continue
            updated[key] = value
        if updated != current:
            out.traits[contact.pk] = updated
            delta = {k: v for k, v in updated.items() if current.get(k) != v}
            changes["before"]["traits"] = {k: current.get(k) for k in delta}
            changes["after"]["traits"] = delta
    if changes["before"] or changes["after"]:
        out.activities.append(
            activity_build(
                actor=actor,
                verb="contact.updated",
                subject=contact,
                contact_id=contact.pk,
                changes=changes,
            )
        )
    if own:
        out.save()


def profile_apply_group(
    *, actor: Any, contact_id: int | None, event: Event, problems: Problems
) -> Company | None:
    """Create or update the company of a group call (by group id) and the membership."""
    traits = event.traits if isinstance(event.traits, dict) else {}
    group_id = event.group_id[:120]
    company = Company.objects.filter(external_id=group_id).first()
    values: dict[str, Any] = {}
    for key, column in (("name", "name"), ("industry", "industry"), ("website", "website")):
        raw = traits.get(key)
        if raw in (None, ""):
            continue
        try:
            text = clean_text(raw)
        except NormalizationError:
            continue
        max_len = Company._meta.get_field(column).max_length or 200  # type: ignore[union-attr]
        if not isinstance(raw, str) or len(text) > max_len:
            problems.add(event, f"group trait {key}: must be text of at most {max_len} characters")
            continue
        if column == "website" and not text.startswith(("http://", "https://")):
            problems.add(event, "group trait website: must be an http(s) URL")
            continue
        values[column] = text
    employees = traits.get("employees", traits.get("employee_count"))
    if employees is not None:
        if (
            isinstance(employees, int)
            and not isinstance(employees, bool)
            and 0 <= employees < 2**31
        ):
            values["employees"] = employees
        else:
            problems.add(event, "group trait employees: must be a whole number")
    if company is None:
        company = Company.objects.create(external_id=group_id, **{"name": group_id[:200], **values})
        activity_record(
            actor=actor,
            verb="company.created",
            subject=company,
            company_id=company.pk,
            changes={"after": {"external_id": group_id, **values}},
        )
    else:
        changed = [k for k, v in values.items() if getattr(company, k) != v]
        if changed:
            before = snapshot(company, changed)
            for key in changed:
                setattr(company, key, values[key])
            company.save(update_fields=[*changed, "updated_at"])
            activity_record(
                actor=actor,
                verb="company.updated",
                subject=company,
                company_id=company.pk,
                changes=diff(before, snapshot(company, changed)),
            )
    if contact_id is not None:
        _, created = ContactCompany.objects.get_or_create(contact_id=contact_id, company=company)
        if created:
            activity_record(
                actor=actor,
                verb="contact.company_linked",
                subject_type="contact",
                subject_id=contact_id,
                contact_id=contact_id,
                company_id=company.pk,
                changes={"after": {"company": company.name}},
            )
    return company
