"""Whole-database duplicate scan: blocking keys in sorted order, rapidfuzz scoring, clusters.

Each blocking key is read once in index order (constant memory per block); blocks bigger
than ``max_block`` (a very common name) are skipped, the other keys still catch those
pairs. Pairs scoring at least POSSIBLE go to the review queue (source "scan"), and each
connected group of pairs gets a cluster id (its smallest contact id).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.hygiene.matching import POSSIBLE, score_pair
from patron.hygiene.models import DuplicateCandidate
from patron.hygiene.selectors import profiles_load
from patron.hygiene.services._scope import require_merge
from patron.hygiene.services.duplicates import candidate_upsert

BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("email_match_key",),
    ("phone",),
    ("name_key",),
    ("postal_code", "birthday"),
)
BATCH = 2000


@dataclass
class ScanResult:
    compared: int = 0
    candidates: int = 0
    clusters: int = 0


def _blocks(columns: tuple[str, ...], max_block: int) -> Iterator[list[int]]:
    qs = Contact.objects.order_by(*columns, "pk")
    for col in columns:
        qs = qs.exclude(**{col: ""}) if col != "birthday" else qs.exclude(birthday=None)
    current: tuple[object, ...] | None = None
    block: list[int] = []
    for *key, pk in qs.values_list(*columns, "pk").iterator(chunk_size=5000):
        if tuple(key) != current:
            if 1 < len(block) <= max_block:
                yield block
            current, block = tuple(key), []
        block.append(pk)
    if 1 < len(block) <= max_block:
        yield block


def candidate_pairs(max_block: int = 50) -> set[tuple[int, int]]:
    pairs: set[tuple[int, int]] = set()
    for columns in BLOCKING_KEYS:
        for block in _blocks(columns, max_block):
            for i, a in enumerate(block):
                for b in block[i + 1 :]:
                    pairs.add((a, b) if a < b else (b, a))
    return pairs


def _clusters(pairs: list[tuple[int, int]]) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def duplicates_scan(
    *,
    actor: User | None,
    max_block: int = 50,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan every contact; returns what was compared and found. Idempotent."""
    require_merge(actor)
    result = ScanResult()
    pairs = sorted(candidate_pairs(max_block))
    total = len(pairs)
    found: list[tuple[int, int]] = []
    for start in range(0, total, BATCH):
        batch = pairs[start : start + BATCH]
        profiles = profiles_load({x for p in batch for x in p})
        with transaction.atomic():
            for a, b in batch:
                if a not in profiles or b not in profiles:
                    continue

                match = score_pair(profiles[a], profiles[b])
                if match.score >= POSSIBLE:
                    candidate_upsert(a, b, match, source=DuplicateCandidate.Source.SCAN)
                    found.append((a, b))
        result.compared += len(batch)
        if progress:
            progress(len(batch), total)
    clusters = _clusters(found)
    with transaction.atomic():
        for a, b in found:
            DuplicateCandidate.objects.filter(contact_a_id=a, contact_b_id=b).update(
                cluster_id=clusters[a]
            )
    result.candidates = len(found)
    result.clusters = len(set(clusters.values()))
    return result
