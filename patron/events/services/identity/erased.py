"""Erased people stay erased: the processor refuses events that would bring one back.

``contact_erase`` keeps keyed hashes (``ErasureMatch``) of an erased person's email,
phone, user id and external id, so that no entry point re-creates them. For tracking, the
processor asks here, once per batch, before identity resolution: an event carrying an
identifier of an erased person (its user id, an alias's previous id, the email or phone
of identify traits) is not resolved, not stored as an identity, and deleted; so is an
anonymous-only event of the same batch on the same anonymous id (the same device, with
nothing else to say whose it is). Each refusal goes to the source's tracking debugger
with its reason and message id, without the values.

The whole event is refused, not only the identifier: an event that names an erased
person is that person's personal data, whatever else it says.

Cost when nobody was erased: one ``EXISTS`` query per batch. Otherwise the batch's
identifiers are hashed in one go (HKDF keys derived once, cached by ``privacy.keys``)
and looked up with one ``IN`` query (chunks of 10,000 on SQLite).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from django.db import connection

from patron.events.models import Event, RejectedMessage
from patron.events.services._sql import select_in
from patron.events.services.identity.points import (
    USER_ID,
    trait_contact_points,
)
from patron.privacy.models import ErasureMatch

REASON = "identifier of an erased person: event not processed, deleted"
REASON_DEVICE = (
    "anonymous id seen with an erased person's identifier in the same batch: "
    "event not processed, deleted"
)


def _identifiers(event: Event, region: str) -> list[tuple[str, str]]:
    """(kind, value) of an event that ``ErasureMatch`` may hold (kinds as erasure hashes)."""
    out: list[tuple[str, str]] = []
    if event.user_id:
        out.append((USER_ID, event.user_id))
    if event.type == Event.Type.ALIAS and event.previous_id:
        out.append((USER_ID, event.previous_id))
    if event.type == Event.Type.IDENTIFY:
        out += trait_contact_points(event.traits, region)
    return out


def erasure_digests(pairs: Iterable[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """Digest -> (kind, value) under every key, as ``privacy.services.match_hashes``."""
    from patron.privacy.services.erasure import match_keys, normal_identifier

    keys = match_keys()
    sha256, new = hashlib.sha256, hmac.new
    out: dict[str, tuple[str, str]] = {}
    for kind, value in pairs:
        normal = normal_identifier(kind, value)
        if normal:
            message = f"{kind}:{normal}".encode()
            for key in keys:
                out[new(key, message, sha256).hexdigest()] = (kind, value)
    return out


def erased_events_split(
    events: Sequence[Event], *, region: str
) -> tuple[list[Event], list[tuple[Event, str]]]:
    """(events to process, [(event of an erased person, why)]), in batch order."""
    if not ErasureMatch.objects.exists():
        return list(events), []
    per_event = [_identifiers(event, region) for event in events]
    digests = erasure_digests({pair for pairs in per_event for pair in pairs})
    table = connection.ops.quote_name(ErasureMatch._meta.db_table)
    found = select_in(
        f"SELECT digest FROM {table} WHERE digest IN",  # noqa: S608
        [],
        sorted(digests),
        chunk=10_000,
    )
    erased = {digests[digest] for (digest,) in found}
    if not erased:
        return list(events), []
    refused: dict[int, str] = {}
    devices: set[str] = set()
    for event, pairs in zip(events, per_event, strict=True):
        if any(pair in erased for pair in pairs):
            refused[event.pk] = REASON
            if event.anonymous_id:
                devices.add(event.anonymous_id)
    for event, pairs in zip(events, per_event, strict=True):
        if event.pk not in refused and event.anonymous_id in devices and not pairs:
            refused[event.pk] = REASON_DEVICE
    kept = [e for e in events if e.pk not in refused]
    return kept, [(e, refused[e.pk]) for e in events if e.pk in refused]


def erased_events_drop(refused: Sequence[tuple[Event, str]]) -> list[RejectedMessage]:
    """Delete the refused events; their debugger entries (reason, type, message id; no
    identifiers, traits or properties) for the caller to record."""
    ids = [event.pk for event, _ in refused]
    for start in range(0, len(ids), 500):
        Event.objects.filter(pk__in=ids[start : start + 500]).delete()
    return [
        RejectedMessage(
            source_id=event.source_id,  # type: ignore[misc]
            stage=RejectedMessage.Stage.PROCESSING,
            received_at=event.received_at,
            type=event.type,
            message_id=event.message_id,
            reason=reason,
            payload="",
        )
        for event, reason in refused
    ]
