"""Counting requests in fixed windows shared through the database.

``hit(key, window)`` is one statement, an atomic upsert that returns the new count:

    INSERT ... VALUES (key, slot, 1)
    ON CONFLICT (key) DO UPDATE SET count = <count + 1 in the same or a newer window,
                                              else 1>, slot = <the newer slot>
    RETURNING count, slot

It runs in its own short transaction (autocommit), never inside the request's, so a
counter row is locked for microseconds only. Both SQLite (3.35+) and PostgreSQL run the
same statement. A window started by a server whose clock is ahead is kept (the slot never
goes back), so a lagging clock counts into the newer window instead of resetting it.

On SQLite the upsert is a write: if another process holds the write lock for longer than
``LOCK_WAIT_MS`` (a long import chunk), the request is let through uncounted rather than
made to wait ("fail open": the limit protects against runaway clients, and a few
uncounted requests during a lock do not defeat it).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.db import OperationalError, connection, transaction

from patron.ratelimit.models import RateCounter

logger = logging.getLogger(__name__)
#: SQLite only: how long a request waits for the write lock before going uncounted.
LOCK_WAIT_MS = 200


@dataclass(frozen=True)
class Hit:
    count: int  # requests in this window, this one included (0: not counted)
    window_ends: float  # Unix time the window closes


def _sql() -> str:
    qn = connection.ops.quote_name
    t = qn(RateCounter._meta.db_table)
    key, slot, count = qn("key"), qn("slot"), qn("count")
    return (
        f"INSERT INTO {t} ({key}, {slot}, {count}) VALUES (%s, %s, 1) "  # noqa: S608 (names)
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{count} = CASE WHEN {t}.{slot} >= excluded.{slot} THEN {t}.{count} + 1 ELSE 1 END, "
        f"{slot} = CASE WHEN {t}.{slot} >= excluded.{slot} THEN {t}.{slot} "
        f"ELSE excluded.{slot} END "
        f"RETURNING {count}, {slot}"
    )


def _upsert(key: str, slot: int) -> tuple[int, int]:
    with connection.cursor() as cursor:
        if connection.vendor != "sqlite":
            cursor.execute(_sql(), [key, slot])
            row = cursor.fetchone()
        else:
            cursor.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
            try:
                cursor.execute(_sql(), [key, slot])
                row = cursor.fetchone()
            finally:
                timeout_ms = int(connection.settings_dict["OPTIONS"].get("timeout", 5) * 1000)
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
    return int(row[0]), int(row[1])


def hit(key: str, window: int, now: float | None = None) -> Hit:
    """Count one request for ``key`` in the current ``window``-second fixed window."""
    window = max(int(window), 1)
    now = time.time() if now is None else now
    slot = int(now // window)
    try:
        if connection.in_atomic_block:
            # Counted in a savepoint of the caller's transaction (tests, or a caller that
            # wraps requests in one): the count is shared once that transaction commits.
            with transaction.atomic():
                count, slot = _upsert(key[:100], slot)
        else:
            count, slot = _upsert(key[:100], slot)
    except OperationalError:  # SQLite write lock held too long: let it through uncounted
        logger.debug("ratelimit: %s not counted (database busy)", key)
        return Hit(0, (slot + 1) * window)
    return Hit(count, (slot + 1) * window)
