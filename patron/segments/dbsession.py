"""Database settings for whole-table segment evaluation.

On PostgreSQL, for the current transaction only (``SET LOCAL``):

- ``jit = off``: segment queries cost a few hundred thousand to millions of rows, above
  the planner's JIT threshold, and compiling them took longer (2.3 s measured at 1M
  contacts / 10M events) than running them (see docs/performance.md);
- ``work_mem = 64MB``: the per-contact groupings (one row per contact, up to a million)
  stay in memory instead of spilling hash batches and sorts to disk.

SQLite has nothing comparable to set; there this is only a transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

WORK_MEM = "64MB"


@contextmanager
def evaluation() -> Iterator[None]:
    """A transaction (or savepoint) tuned for evaluating segments over every contact."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SET LOCAL jit = off")
                cur.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        yield
