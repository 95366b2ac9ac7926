"""Compact in-memory sets an import keeps for the whole file.

- ``Fingerprints``: 64-bit fingerprints of the keys seen so far (upsert keys, email match
  keys), to spot a row that repeats an earlier row of the same file. Sorted ``array('q')``
  runs merged like an LSM tree: 8 bytes a key, O(log n) look-ups, no per-key objects.
  (With 64-bit fingerprints a false "repeat" has odds of about 1 in 10^7 at 10^6 rows.)
- ``IdRanges``: the contact ids this import created, as sorted (first, last) ranges
  (``bulk_create`` gives consecutive ids, so a million ids are a handful of ranges).
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable


def fingerprint(kind: str, value: str) -> int:
    digest = hashlib.blake2b(f"{kind}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_FILTER_BITS = 1 << 26  # 8 MB: a key not seen is told apart without the runs ~97 % of the
# time at 2 million keys (one bit a key), and the filter's memory stays flat


class Fingerprints:
    def __init__(self) -> None:
        self._runs: list[array[int]] = []
        self._fresh: set[int] = set()
        # A one-hash Bloom filter over every key ever added: most look-ups are of keys not
        # seen, and the filter answers those without a binary search in each run. It may
        # keep bits of keys dropped by ``_restore_seen`` (a false "maybe": the runs decide).
        self._filter = bytearray(_FILTER_BITS // 8)

    def __contains__(self, fp: int) -> bool:
        bit = fp & (_FILTER_BITS - 1)
        if not self._filter[bit >> 3] & (1 << (bit & 7)):
            return False
        if fp in self._fresh:
            return True
        for run in self._runs:
            i = bisect.bisect_left(run, fp)
            if i < len(run) and run[i] == fp:
                return True
        return False

    def add(self, fp: int) -> None:
        bit = fp & (_FILTER_BITS - 1)
        self._filter[bit >> 3] |= 1 << (bit & 7)
        self._fresh.add(fp)
        if len(self._fresh) >= 4096:
            self.flush()

    def update(self, fps: Iterable[int]) -> None:
        for fp in fps:
            self.add(fp)

    def flush(self) -> None:
        if not self._fresh:
            return
        run = array("q", sorted(self._fresh))
        self._fresh = set()
        # Merge equal-sized neighbours (binary-counter LSM): few runs, amortised O(n log n).
        while self._runs and len(self._runs[-1]) <= len(run) * 2:
            run = merge_runs(self._runs.pop(), run)
        self._runs.append(run)

    def __len__(self) -> int:
        return len(self._fresh) + sum(len(r) for r in self._runs)

    @staticmethod
    def to_bytes(fps: Iterable[int]) -> bytes:
        return array("q", fps).tobytes()

    def load(self, data: bytes) -> None:
        if data:
            chunk = array("q")
            chunk.frombytes(bytes(data))
            self.update(chunk)


_MERGE_BLOCK = 1 << 16  # keys a merge step sorts at most from each run (~2 MB of ints each)


def merge_runs(a: array[int], b: array[int]) -> array[int]:
    """The sorted merge of two sorted runs, block by block: each step takes up to
    ``_MERGE_BLOCK`` keys of one run and the keys of the other up to the last of them,
    and ``sorted`` merges those in C (it finds the two sorted runs). ~1.5x faster than
    stepping ``heapq.merge`` in Python, and memory stays bounded: sorting two whole runs
    at once would build a list of Python ints of both (~70 MB at a million-row file's
    two million keys)."""
    out: array[int] = array("q")
    i = j = 0
    na, nb = len(a), len(b)
    while i < na and j < nb:
        ia = min(i + _MERGE_BLOCK, na)
        high = a[ia - 1]
        jb = bisect.bisect_right(b, high, j)
        if jb - j > _MERGE_BLOCK:  # b is dense below a's block end: take a block of b
            jb = j + _MERGE_BLOCK
            high = b[jb - 1]
            ia = bisect.bisect_right(a, high, i)
        # Everything left in either run is >= high: this step's keys come first.
        out.extend(sorted(a[i:ia] + b[j:jb]))
        i, j = ia, jb
    out.extend(a[i:])
    out.extend(b[j:])
    return out


class IdRanges:
    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add_many(self, ids: Iterable[int]) -> None:
        for i in sorted(ids):
            if i in self:
                continue
            if self._ends and self._ends[-1] + 1 == i:
                self._ends[-1] = i
            else:
                pos = bisect.bisect_left(self._starts, i)
                self._starts.insert(pos, i)
                self._ends.insert(pos, i)

    def __contains__(self, i: int) -> bool:
        pos = bisect.bisect_right(self._starts, i) - 1
        return pos >= 0 and i <= self._ends[pos]

    def __len__(self) -> int:
        return sum(e - s + 1 for s, e in zip(self._starts, self._ends, strict=True))
