"""Erasure (GDPR Art. 17, "right to be forgotten"): one person removed everywhere.

``contact_erase`` deletes, in one transaction, the contact and everything that cascades
from it (identities, custom values, notes, consents, orders, tickets, surveys, events,
aggregates, traits, segment memberships, duplicate candidates), and the rows that hold
the person's data without a foreign key to the contact:

- webhook deliveries about the contact, pending (never sent) and past (the outbox);
- activity entries about the contact (its timeline and audit history, with before/after);
- merge journal entries the contact took part in, and the history of the records merged
  into it (the same person);
- import report rows about the contact (values as imported, before/after), dry-run
  report entries about them, and stored uploads that mention them (``uploads``);
- tracking messages not yet tied to a contact that carry one of its identifiers, and
  rejected messages in the tracking debugger that mention one.

It then writes an ``Erasure`` record with the counts and keyed hashes of the person's
identifiers (no values), and a ``privacy.erased`` activity entry without personal data.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from patron.accounts.models import User
from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.selectors import contacts_visible_to, require
from patron.core.models import Activity
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.hygiene.normalize import email_match_key
from patron.privacy.keys import derive, key_texts
from patron.privacy.models import Erasure, ErasureMatch
from patron.privacy.services.uploads import import_uploads_erase, import_uploads_scan
from patron.segments.tasks import contacts_changed

#: HKDF purpose of the match-hash key (a different label: not the bytes that encrypt).
PURPOSE = b"patron.privacy.erasure-match.v1"
#: Identifiers shorter than this are not searched for in free text (too many false hits).
MIN_TEXT_MATCH = 6


def _digest(key_text: str, kind: str, value: str) -> str:
    key = derive(key_text, PURPOSE)
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def match_keys(*, every_key: bool = True) -> list[bytes]:
    """The HMAC keys of the match hashes: under every configured key (to recognise), or
    the current one only (to record). Imports and the tracking processor derive them once
    per job / batch and hash with them (``patron.imports.erased``,
    ``patron.events.services.identity.erased``)."""
    texts = key_texts() if every_key else key_texts()[:1]
    return [derive(text, PURPOSE) for text in texts]


def normal_identifier(kind: str, value: str) -> str:
    """The form an identifier is hashed in (emails by their hygiene match key); every
    checker of the hashes normalises through this, so they cannot drift apart."""
    value = (value or "").strip()
    if kind == "email":
        return email_match_key(value) or value.lower()
    return value


def match_hashes(pairs: Iterable[tuple[str, str]], *, every_key: bool = False) -> set[str]:
    """Keyed hashes of (kind, value) pairs: under the current key, or under every key."""
    keys = key_texts() if every_key else key_texts()[:1]
    out: set[str] = set()
    for kind, value in pairs:
        normal = normal_identifier(kind, value)
        if normal:
            out.update(_digest(k, kind, normal) for k in keys)
    return out


def erased_match(
    *, email: str = "", phone: str = "", user_id: str = "", external_id: str = ""
) -> bool:
    """Whether an identifier belongs to an erased person (imports and ingest ask this).

    ``phone`` is compared in its normalised (E.164) form; emails by their match key.
    """
    pairs = [
        ("email", email),
        ("phone", phone),
        ("user_id", user_id),
        ("external_id", external_id),
    ]
    digests = match_hashes([(k, v) for k, v in pairs if v], every_key=True)
    return bool(digests) and ErasureMatch.objects.filter(digest__in=digests).exists()


def _identifiers(contact: Contact) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"email": set(), "phone": set(), "user_id": set()}
    found["anonymous_id"] = set()
    found["external_id"] = {contact.external_id} if contact.external_id else set()
    if contact.email:
        found["email"].add(contact.email)
    if contact.phone:
        found["phone"].add(contact.phone)
    for kind, value in ContactIdentity.objects.filter(contact=contact).values_list("kind", "value"):
        found.setdefault(kind, set()).add(value)
    return found


def _merged_ids(pk: int) -> set[int]:
    """Ids of the records merged into this contact (transitively, not un-merged): the same
    person. A merge that was undone gave the other record back its own life: its history
    is not this person's and stays."""
    from patron.privacy.services.sections import merged_into

    return set(merged_into(pk))


def _merges_erase(ids: set[int]) -> int:
    """Delete the merge journal entries of these records."""
    from patron.hygiene.models import MergeRecord

    deleted, _ = MergeRecord.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids)).delete()
    return deleted


def _tracking_leftovers(found: dict[str, set[str]]) -> tuple[int, int]:
    """Unattached queued events with the person's identifiers; debugger rows naming them."""
    from patron.events.models import Event, RejectedMessage

    emails = sorted(found["email"])
    match = Q(user_id__in=sorted(found["user_id"])) | Q(
        anonymous_id__in=sorted(found["anonymous_id"])
    )
    if emails:
        match |= Q(traits__email__in=emails)
    events, _ = Event.objects.filter(processed=False, contact__isnull=True).filter(match).delete()
    texts = {v for values in found.values() for v in values if len(v) >= MIN_TEXT_MATCH}
    rejected = 0
    if texts:
        mention = Q()
        for text in sorted(texts):
            mention |= Q(payload__icontains=text)
        rejected, _ = RejectedMessage.objects.filter(mention).delete()
    return events, rejected


@transaction.atomic
def contact_erase(*, actor: User, contact: Contact | int) -> Erasure:
    """Erase a contact the actor can see and delete (see the module docstring)."""
    from patron.imports.models import ImportRow
    from patron.webhooks.services.outbox import deliveries_erase

    require(actor, P.CONTACT_DELETE)
    pk = contact.pk if isinstance(contact, Contact) else int(contact)
    target = contacts_visible_to(actor).select_for_update().filter(pk=pk).first()
    if target is None:
        raise PermissionDenied("You cannot erase this contact.")
    found = _identifiers(target)
    digests = match_hashes((kind, v) for kind in ("email", "phone", "user_id", "external_id")
                           for v in found.get(kind, ()))  # fmt: skip
    ids = _merged_ids(pk)
    # Reads only, before the first write (ADR 0080): the report rows still name the jobs.
    uploads = import_uploads_scan(contact_ids=ids, found=found)
    merges = _merges_erase(ids)
    removed: dict[str, int] = {
        "webhook_deliveries": deliveries_erase(sorted(ids)),
        "activities": Activity.objects.filter(
            Q(contact_id__in=ids) | Q(subject_type="contact", subject_id__in=ids)
        ).delete()[0],
        "merge_records": merges,
        "import_rows": ImportRow.objects.filter(contact_id__in=ids).delete()[0],
    }
    removed.update(import_uploads_erase(uploads))
    removed["queued_events"], removed["rejected_messages"] = _tracking_leftovers(found)
    _, cascaded = target.delete()
    removed.update({label: n for label, n in sorted(cascaded.items()) if n})
    contacts_changed([pk], what={"delete"})
    record = Erasure.objects.create(
        contact_id=pk,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=str(actor)[:200],
        removed=removed,
    )
    ErasureMatch.objects.bulk_create(
        ErasureMatch(erasure=record, digest=d) for d in sorted(digests)
    )
    activity_record(
        actor=actor, verb="privacy.erased", subject=record, changes={"removed": removed}
    )
    return record
