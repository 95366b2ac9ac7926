"""The compact sets an import keeps for the whole file."""

from __future__ import annotations

import random
from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from patron.imports.seen import Fingerprints, IdRanges, fingerprint


def test_fingerprints_remember_everything_across_merges_and_reloads() -> None:
    rng = random.Random(7)
    values = [f"person{i}@example.com" for i in range(30_000)]
    seen = Fingerprints()
    fps = [fingerprint("key", v) for v in values]
    for fp in fps:
        seen.add(fp)
    assert len(seen) == len(values)
    assert all(fp in seen for fp in rng.sample(fps, 2000))
    assert fingerprint("key", "stranger@example.com") not in seen
    assert fingerprint("email_key", values[0]) not in seen  # kinds are kept apart
    reloaded = Fingerprints()
    reloaded.load(Fingerprints.to_bytes(fps[:100]))
    assert fps[99] in reloaded and fps[100] not in reloaded


def test_id_ranges_hold_runs_and_stragglers() -> None:
    ranges = IdRanges()
    ranges.add_many(range(100, 5100))
    ranges.add_many([7, 9000, 5100, 99])
    assert len(ranges) == 5004
    assert all(i in ranges for i in (7, 99, 100, 5099, 5100, 9000))
    assert all(i not in ranges for i in (8, 98, 5101, 8999, 9001))


def test_fingerprints_filter_never_hides_a_key_and_a_restore_forgets() -> None:
    # Keys that share the filter's bit (same low bits) are still told apart by the runs
    seen = Fingerprints()
    a, b = 5, 5 + (1 << 40)
    seen.add(a)
    assert a in seen and b not in seen and -a not in seen
    for i in range(10_000):  # flushed into runs and merged
        seen.add(i << 30)
    assert a in seen and b not in seen
    runs = list(seen._runs)  # what the engine's snapshot keeps
    seen.flush()
    seen.add(b)
    seen._runs, seen._fresh = runs, set()  # the engine's restore after a failed chunk
    assert b not in seen and a in seen


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300),
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300),
    st.integers(1, 8),
)
def test_merge_runs_is_the_sorted_merge(a: list[int], b: list[int], block: int) -> None:
    """Any two sorted runs (duplicates, empty, one denser than the other), any block size:
    the merge equals ``heapq.merge``'s."""
    import heapq

    from patron.imports import seen

    runs = array("q", sorted(a)), array("q", sorted(b))
    old = seen._MERGE_BLOCK
    seen._MERGE_BLOCK = block
    try:
        got = seen.merge_runs(*runs)
    finally:
        seen._MERGE_BLOCK = old
    assert got == array("q", heapq.merge(*runs))


def test_merge_runs_memory_stays_near_the_result() -> None:
    """Merging two big runs must not build a list of Python ints of both (~36 bytes a
    key): the peak stays within a small multiple of the merged array (8 bytes a key)."""
    import random
    import tracemalloc

    from patron.imports.seen import merge_runs

    rng = random.Random(7)
    a = array("q", sorted(rng.getrandbits(63) for _ in range(200_000)))
    b = array("q", sorted(rng.getrandbits(63) for _ in range(200_000)))
    tracemalloc.start()
    try:
        merged = merge_runs(a, b)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    size = len(merged) * 8
    assert merged == array("q", sorted([*a, *b]))
    assert peak < 2 * size + 8 * 2**20, (peak, size)
