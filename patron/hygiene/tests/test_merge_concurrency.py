"""Two merges of overlapping contacts at the same moment cannot corrupt data.

Real threads, real transactions (each thread its own connection). On PostgreSQL the row
locks decide (taken in primary-key order, so no deadlock); on SQLite the write lock does.
Whatever order wins, every row still belongs to an existing contact, nothing is lost, and
undoing the merges that succeeded gives back the original database.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection

from patron.contacts.models import Contact
from patron.core.permissions import PermissionDenied
from patron.hygiene.models import MergeRecord
from patron.hygiene.services import contact_merge, contact_merge_undo
from patron.hygiene.tests.factories import attach_everything, contact, counts, database_state

pytestmark = pytest.mark.django_db(transaction=True)


def _run_together(jobs: list[tuple[int, int]]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def work(i: int, survivor: int, merged: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = contact_merge(actor=None, survivor=survivor, merged=merged)
        except (PermissionDenied, ValidationError, OperationalError) as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a merge hung (deadlock?)"
    if connection.vendor == "postgresql":
        # SQLite may answer "database is locked"; on PostgreSQL the row locks, taken in
        # primary-key order, serialise the merges: a deadlock error would be a bug.
        assert not any(isinstance(r, OperationalError) for r in results), results
    return results


def _assert_consistent(original_counts: dict[str, int]) -> None:
    now = counts()
    for table in ("events.event", "commerce.order", "support.ticket", "privacy.consent"):
        assert now[table] == original_counts[table], table
    existing = set(Contact.objects.values_list("pk", flat=True))
    from patron.hygiene.services.rows import contact_links

    for link in contact_links():
        owners = set(
            link.model._base_manager.exclude(**{f"{link.field.attname}__isnull": True})
            .values_list(link.field.attname, flat=True)
            .distinct()
        )
        assert owners <= existing, f"{link.key} points at a deleted contact"


@pytest.mark.parametrize("round_", range(4))
def test_overlapping_merges_at_once(round_: int) -> None:
    a, b, c = (contact(first_name=f"P{i}", last_name="Same") for i in range(3))
    for i, x in enumerate((a, b, c)):
        attach_everything(x, 2, seed=i)
    before, before_counts = database_state(), counts()

    # b is in both merges: b -> a and c -> b, started at the same instant
    results = _run_together([(a.pk, b.pk), (b.pk, c.pk)])

    ok = [r for r in results if isinstance(r, MergeRecord)]
    assert ok, results
    _assert_consistent(before_counts)
    for record in sorted(ok, key=lambda r: r.pk, reverse=True):
        contact_merge_undo(actor=None, merge=record.pk)
    assert database_state() == before


def test_opposite_merges_of_one_pair_at_once() -> None:
    a, b = (contact(first_name="Q", last_name=f"Pair{i}") for i in range(2))
    attach_everything(a, 2, seed=1)
    attach_everything(b, 2, seed=2)
    before, before_counts = database_state(), counts()

    results = _run_together([(a.pk, b.pk), (b.pk, a.pk)])

    ok = [r for r in results if isinstance(r, MergeRecord)]
    assert len(ok) == 1, results  # the second finds its partner gone and changes nothing
    assert Contact.objects.count() == 1
    _assert_consistent(before_counts)
    contact_merge_undo(actor=None, merge=ok[0].pk)
    assert database_state() == before
