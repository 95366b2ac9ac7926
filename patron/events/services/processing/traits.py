"""Identify traits already applied as they are now are skipped (hash per contact)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from patron.events.models import ContactTraits, Event


def _traits_hash(traits: dict[str, Any], foreign: set[str] | frozenset[str]) -> str:
    text = json.dumps([traits, sorted(foreign)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _unchanged_traits_skipped(
    traits: dict[int, tuple[dict[str, Any], Event]], foreign: dict[int, set[str]]
) -> dict[int, str]:
    """Drop from ``traits`` the contacts whose traits were applied already, as they are
    now; returns the hashes of the others, to store once they are applied."""
    if not traits:
        return {}
    wanted = {c: _traits_hash(t, foreign.get(c, frozenset())) for c, (t, _) in traits.items()}
    ids = list(wanted)
    for i in range(0, len(ids), 500):
        for contact_id, applied in ContactTraits.objects.filter(
            contact_id__in=ids[i : i + 500]
        ).values_list("contact_id", "applied_hash"):
            if applied and applied == wanted[contact_id]:
                del traits[contact_id]
                del wanted[contact_id]
    return wanted
