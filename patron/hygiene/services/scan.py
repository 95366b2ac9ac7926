"""Whole-database duplicate scan into the review queue.

Two engines:

- ``splink`` (default, ``patron dedupe scan``): every contact is streamed into DuckDB and
  scored by the trained Splink model (``patron.hygiene.linkage``): blocking rules, match
  weights trained by expectation maximisation, clustering, per-field explanations;
- ``rapidfuzz``: the real-time path's blocking keys and scorer, block by block (kept for
  comparison and for machines without DuckDB).

Pairs scoring at least 0.5 are upserted in batches (a dismissed or merged pair keeps its
status), open scan pairs that the scan no longer finds are removed, each connected group
gets a cluster id (its smallest contact id), and auto-merge runs when an admin enabled it.
A scan is a long batch job: each batch of writes is its own transaction, and the run is
recorded in ``ScanRun`` with the model it used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.core.services import activity_record
from patron.hygiene.linkage import LinkRow, ScoredPair, link, link_row
from patron.hygiene.matching import POSSIBLE, score_pair
from patron.hygiene.models import DuplicateCandidate, ScanRun
from patron.hygiene.selectors import profiles_load
from patron.hygiene.services._scope import require_merge

BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("email_match_key",),
    ("phone",),
    ("name_key",),
    ("postal_code", "birthday"),
)
BATCH = 2000
ENGINES = ("splink", "rapidfuzz")
Progress = Callable[[str, int, int], None]


@dataclass
class ScanResult:
    compared: int = 0
    candidates: int = 0
    clusters: int = 0
    auto_merged: int = 0
    run_id: int | None = None


# --- reading contacts ------------------------------------------------------------------


def contact_link_rows(chunk_size: int = 20_000) -> Iterator[LinkRow]:
    """Every contact as a Splink row, streamed in primary-key order (server-side cursor)."""
    qs = Contact.objects.order_by("pk").values_list(
        "pk",
        "first_name",
        "last_name",
        "email_match_key",
        "phone",
        "birthday",
        "postal_code",
        "city",
        "country",
    )
    for pk, first, last, key, phone, birthday, postal, city, country in qs.iterator(
        chunk_size=chunk_size
    ):
        yield link_row(
            pk,
            first_name=first,
            last_name=last,
            email_key=key,
            phone=phone,
            birthday=birthday,
            postal_code=postal,
            city=city,
            country=country,
        )


# --- writing the queue -----------------------------------------------------------------


def queue_write(pairs: list[ScoredPair], *, progress: Progress | None = None) -> int:
    """Upsert scan pairs in batches; returns how many were written."""
    written = 0
    total = len(pairs)
    for start in range(0, total, BATCH):
        batch = pairs[start : start + BATCH]
        ids = {x for p in batch for x in (p.a, p.b)}
        alive = set(Contact.objects.filter(pk__in=ids).values_list("pk", flat=True))
        now = timezone.now()
        objs = [
            DuplicateCandidate(
                contact_a_id=p.a,
                contact_b_id=p.b,
                score=p.score,
                explanation=p.explanation,
                source=DuplicateCandidate.Source.SCAN,
                cluster_id=p.cluster_id,
                created_at=now,
                updated_at=now,
            )
            for p in batch
            if p.a in alive and p.b in alive and p.a != p.b
        ]
        with transaction.atomic():
            DuplicateCandidate.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["contact_a", "contact_b"],
                update_fields=["score", "explanation", "cluster_id", "updated_at"],
            )
        written += len(objs)
        if progress:
            progress("write", len(batch), total)
    return written


# --- the rapidfuzz engine --------------------------------------------------------------


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


def clusters_of(pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Connected components: contact id -> smallest contact id of its group."""
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


def _rapidfuzz_pairs(max_block: int, progress: Progress | None) -> tuple[int, list[ScoredPair]]:
    pairs = sorted(candidate_pairs(max_block))
    found: list[ScoredPair] = []
    for start in range(0, len(pairs), BATCH):
        batch = pairs[start : start + BATCH]
        profiles = profiles_load({x for p in batch for x in p})
        for a, b in batch:
            if a in profiles and b in profiles:
                match = score_pair(profiles[a], profiles[b])
                if match.score >= POSSIBLE:
                    found.append(ScoredPair(a, b, match.score, match.weight, match.explanation))
        if progress:
            progress("compare", len(batch), len(pairs))
    roots = clusters_of([(p.a, p.b) for p in found])
    for p in found:
        p.cluster_id = roots[p.a]
    return len(pairs), found


# --- the service -----------------------------------------------------------------------


def duplicates_scan(
    *,
    actor: User | None,
    engine: str = "splink",
    max_block: int = 50,
    train: bool | None = None,
    progress: Progress | None = None,
) -> ScanResult:
    """Scan every contact into the review queue; idempotent. Returns what it found.

    Needs the merge permission (it fills the queue that merges are made from).
    """
    require_merge(actor)
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}")
    started = timezone.now()
    run = ScanRun.objects.create(
        engine=engine, actor_label=str(actor)[:200] if actor is not None else "system"
    )
    result = ScanResult(run_id=run.pk)
    try:
        if engine == "splink":
            linked = link(
                contact_link_rows(),
                train=train,
                on_step=(lambda name: progress(name, 1, 0)) if progress else None,
            )
            pairs = linked.pairs
            run.records, run.trained, run.model = linked.records, linked.trained, linked.model
            run.timings = dict(linked.timings)
            result.compared = len(pairs)
        else:
            result.compared, pairs = _rapidfuzz_pairs(max_block, progress)
            run.records = Contact.objects.count()
        result.candidates = queue_write(pairs, progress=progress)
        result.clusters = len({p.cluster_id for p in pairs if p.cluster_id is not None})
        with transaction.atomic():
            # Open scan pairs this scan did not find again are gone (reviewed ones stay).
            DuplicateCandidate.objects.filter(
                source=DuplicateCandidate.Source.SCAN,
                status=DuplicateCandidate.Status.OPEN,
                updated_at__lt=started,
            ).delete()
        from patron.hygiene.services.automerge import duplicates_auto_merge

        result.auto_merged = duplicates_auto_merge(actor=None)
    except Exception as exc:
        run.status, run.error = ScanRun.Status.FAILED, str(exc)[:500]
        run.finished_at = timezone.now()
        run.save()
        raise
    run.status = ScanRun.Status.DONE
    run.candidates, run.clusters, run.auto_merged = (
        result.candidates,
        result.clusters,
        result.auto_merged,
    )
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        activity_record(
            actor=actor,
            verb="duplicates.scanned",
            subject=run,
            changes={
                "after": {
                    "engine": engine,
                    "records": run.records,
                    "candidates": run.candidates,
                    "clusters": run.clusters,
                    "auto_merged": run.auto_merged,
                    "trained": run.trained,
                }
            },
        )
    return result
