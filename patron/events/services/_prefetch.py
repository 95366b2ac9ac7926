"""The event processor's read of the next batch, on a second connection, meanwhile.

A batch alternates Python (the processor) and the database (its statements), one after
the other on one core. While batch K's statements run, a thread reads and decodes batch
K+1's events on a connection of its own: the oldest unprocessed events after batch K's
last id (``id > L``). psycopg and sqlite3 release the GIL while they wait on or run a
statement, so the two overlap (docs/performance.md, processing fifth pass).

Exactly once, still:

- The read is only a guess of what the next batch will be. The batch that uses it runs
  as any other (one transaction, under the processor's lock), and its processed mark is
  ``... AND NOT processed`` with the row count checked (``events_mark_processed``): if
  another processor did one of these events meanwhile, or an erasure deleted one, the
  batch rolls back whole and is done again from a fresh read.
- Events committed late with an id below ``L`` (a slow ingest transaction) are not
  skipped: before reading, the thread lists the unprocessed ids up to ``L``; any that is
  not one of batch K's means "late events exist", the guess is dropped and the next
  batch reads afresh, oldest first, as without prefetch. One committed between that list
  and the read is seen by the next batch's list the same way.
- A guess is used only after batch K committed (a rolled-back batch's events would be
  skipped otherwise); an empty guess never ends a run (a fresh read decides).

Off where a second connection cannot see the batch's data (SQLite in-memory databases,
inside an outer transaction) and, as it did not pay there, on SQLite (``usable``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper


def usable(*, sqlite: bool = False) -> bool:
    """Whether a second connection sees what this one committed, and it pays.

    On SQLite it works (a WAL reader next to the writer) but did not pay: in the HTTP
    benchmark, code with it processed 6,672 and 6,951 events/s, alternated with code
    without it at 7,380 and 7,829 (18:47-18:59 UTC; docs/performance.md, processing
    fifth pass).
    The reader's snapshot holds back the WAL checkpoints of ``_wal`` and its decoding
    competes for the one GIL with the processor. So it is on for PostgreSQL only
    (``sqlite=True`` turns it on there, for tests of the mechanism)."""
    if connection.in_atomic_block:
        return False
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict.get("NAME") or "")
        return sqlite and bool(name) and not name.startswith(("file:", ":memory"))
    return connection.vendor == "postgresql"


class Prefetcher:
    """One thread with its own connection reading the batch after the current one."""

    def __init__(
        self,
        *,
        read_sql: str,
        late_sql: str,
        decode: Callable[[list[tuple[Any, ...]]], list[Any]],
        limit: int,
    ) -> None:
        self.read_sql, self.late_sql, self.decode, self.limit = read_sql, late_sql, decode, limit
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="events-prefetch")
        self.wrapper: BaseDatabaseWrapper | None = None
        self.future: Future[list[Any] | None] | None = None
        self.used = self.dropped = 0  # guesses taken / dropped (late events, errors)

    def start(self, batch_ids: Sequence[int]) -> None:
        """Begin reading what follows the batch of ``batch_ids`` (sorted)."""
        self.discard()
        if batch_ids:
            self.future = self.pool.submit(self._read, batch_ids[-1], frozenset(batch_ids))

    def take(self) -> list[Any] | None:
        """The next batch's events, or None: read afresh (late events, nothing found)."""
        future, self.future = self.future, None
        if future is None:
            return None
        try:
            events = future.result()
        except Exception:  # a broken second connection: read afresh, as without it
            events = None
        if events:
            self.used += 1
            return events
        self.dropped += 1
        return None

    def discard(self) -> None:
        future, self.future = self.future, None
        if future is not None:
            with contextlib.suppress(Exception):
                future.result()

    def close(self) -> None:
        self.discard()
        with contextlib.suppress(Exception):
            self.pool.submit(self._close).result()
        self.pool.shutdown(wait=True)

    # --- on the thread ---------------------------------------------------------------

    def _cursor(self) -> Any:
        if self.wrapper is None:
            self.wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
        from patron.events.services._sql import driver_cursor

        return driver_cursor(self.wrapper)

    def _read(self, last: int, batch: Collection[int]) -> list[Any] | None:
        with self._cursor() as cursor:
            cursor.execute(self.late_sql, [last, len(batch) + 1])
            if any(pk not in batch for (pk,) in cursor.fetchall()):
                return None  # events committed late below ``last``: read afresh
            cursor.execute(self.read_sql, [last, self.limit])
            rows = cursor.fetchall()
        return self.decode(rows)

    def _close(self) -> None:
        if self.wrapper is not None:
            self.wrapper.close()
            self.wrapper = None


@contextlib.contextmanager
def prefetching(
    *,
    read_sql: str,
    late_sql: str,
    decode: Callable[[list[tuple[Any, ...]]], list[Any]],
    limit: int,
    enabled: bool = True,
    sqlite: bool = False,
) -> Iterator[Prefetcher | None]:
    """A ``Prefetcher`` for the block where ``usable()`` (else None), closed after."""
    if not (enabled and usable(sqlite=sqlite)):
        yield None
        return
    prefetcher = Prefetcher(read_sql=read_sql, late_sql=late_sql, decode=decode, limit=limit)
    try:
        yield prefetcher
    finally:
        prefetcher.close()
