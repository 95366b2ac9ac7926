"""The compact sets an import keeps for the whole file."""

from __future__ import annotations

import random

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
