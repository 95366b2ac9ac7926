"""Erased people are not imported again (SECURITY.md: erasure "plus a keyed hash so the
person is not re-imported").

``contact_erase`` keeps keyed hashes (HMAC-SHA256 under HKDF-derived keys, see
``patron.privacy.services.erasure``) of an erased person's email match key, E.164 phone,
user id and external id. An import loads them at its start and again whenever someone
is erased while it runs (``ErasedWatch``, one indexed query a chunk): none exist in most
workspaces, and then there is no per-row cost at all. Otherwise the digests (one set;
erasures are few) and the HMAC keys (derived once, under every key that may have hashed
them) are held, and each row about to create someone is hashed and looked up in the set.
An erasure that commits while a chunk is being written is seen from the next chunk on.

The report says only "matches an erased person" and the column: nothing the file row does
not already hold, and nothing about the erased person.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from patron.privacy.models import ErasureMatch
from patron.privacy.services.erasure import match_keys, normal_identifier

ERASED_REASON = "Matches an erased person; not imported."
KINDS = ("email", "phone", "user_id", "external_id")


class ErasedPeople:
    """The job's view of the erasure hashes: ``match(kind, value)`` per identifier."""

    def __init__(self, digests: set[str], keys: Iterable[bytes]) -> None:
        self.digests = digests
        # One keyed HMAC state per key, copied per value (the key schedule is done once).
        self._macs = [hmac.new(k, digestmod=hashlib.sha256) for k in keys]

    @classmethod
    def load(cls) -> ErasedPeople | None:
        """None when nobody was ever erased (the usual case: one cheap query a job)."""
        if not ErasureMatch.objects.exists():
            return None
        return cls.read()

    @classmethod
    def read(cls) -> ErasedPeople:
        """Every erasure hash, and the keys to hash with (one query)."""
        return cls(set(ErasureMatch.objects.values_list("digest", flat=True)), match_keys())

    def match(self, kind: str, value: str) -> bool:
        """Whether ``value`` (already normal: an email match key, an E.164 phone, an id)
        is an identifier of an erased person."""
        if not value:
            return False
        message = f"{kind}:{value}".encode()
        for mac in self._macs:
            h = mac.copy()
            h.update(message)
            if h.hexdigest() in self.digests:
                return True
        return False

    def email(self, address: str) -> bool:
        """An email as typed (hashed by its match key, as erasure hashes it)."""
        return self.match("email", normal_identifier("email", address))

    def first_match(self, pairs: Iterable[tuple[str, str]]) -> str:
        """The kind of the first (kind, normal value) pair that matches, else ``""``."""
        for kind, value in pairs:
            if value and self.match(kind, value.strip()):
                return kind
        return ""


class ErasedWatch:
    """The job's ``ErasedPeople``, loaded again when someone is erased while it runs.

    ``refresh()`` runs before each chunk: one indexed query for the newest erasure hash
    (its id changes with every erasure; 0 when nobody was ever erased, and then nothing
    else is read), and a reload only when that changed. An erasure that commits while a
    chunk is being written is seen from the next chunk on."""

    def __init__(self) -> None:
        self.generation = -1
        self.people: ErasedPeople | None = None
        self.refresh()

    def refresh(self) -> ErasedPeople | None:
        newest = ErasureMatch.objects.order_by("-id").values_list("id", flat=True).first()
        generation = newest or 0
        if generation != self.generation:
            self.generation = generation
            self.people = ErasedPeople.read() if generation else None
        return self.people


def is_erased_skip(o: Any) -> bool:
    """An outcome skipped because it is an erased person (reported, unlike policy skips)."""
    return o.action == "skipped" and o.reason == ERASED_REASON
