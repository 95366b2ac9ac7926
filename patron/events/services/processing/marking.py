"""The event processor's writes on the events themselves: the processed marks (each
event's contact and flag) and the lock on the contacts the marks attach events to."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

from django.db import connection

from patron.contacts.models import Contact
from patron.events.models import Event
from patron.events.services._sql import driver_cursor
from patron.events.services.identity import Resolver


class StaleBatch(Exception):  # noqa: N818
    """A batch's events were no longer all unprocessed when marked: it rolls back."""


def events_mark_processed(rows: list[tuple[int, int | None]]) -> None:
    """Set ``contact`` and ``processed`` of unprocessed events: one ``UPDATE ... FROM
    (VALUES ...)`` per 500 (SQLite 3.33+ and PostgreSQL). Raises ``StaleBatch`` (the
    batch must roll back) unless every row was still there and unprocessed."""
    if rows:
        marked = _mark(rows)
        if marked != len(rows):
            raise StaleBatch(f"{len(rows) - marked} of {len(rows)} events changed meanwhile")


def _mark(rows: list[tuple[int, int | None]]) -> int:
    qn = connection.ops.quote_name
    table = qn(Event._meta.db_table)
    pg = connection.vendor == "postgresql"
    if pg:
        # Two arrays and ``unnest``: a short statement, parsed and planned once. The
        # arrays go as text literals of integers: psycopg's list dumper walks a list in
        # Python (2-3 ms per 4,000 ids under the profiler), a join is C.
        with driver_cursor() as cursor:
            cursor.execute(_PG_MARK.format(table=table), _pg_mark_params(rows))
            return int(cursor.rowcount)
    one = "(%s, %s)"
    marked = 0
    with driver_cursor() as cursor:
        for start in range(0, len(rows), 500):
            part = rows[start : start + 500]
            cursor.execute(
                f"UPDATE {table} SET contact_id = v.column2, processed = %s "  # noqa: S608
                f"FROM (VALUES {', '.join([one] * len(part))}) AS v "
                f"WHERE {table}.id = v.column1 AND NOT {table}.processed",
                [True, *(v for row in part for v in row)],
            )
            marked += cursor.rowcount
    return marked


@contextlib.contextmanager
def _marking(marks: list[tuple[int, int | None]]) -> Iterator[None]:
    """``events_mark_processed`` for the block; on PostgreSQL overlapped with it.

    The marks' UPDATE is a batch's largest statement (each event row rewritten; about a
    quarter of a batch's wall time, all on the server), while applying traits and
    working out aggregates is Python. In psycopg's pipeline mode the UPDATE is sent
    without waiting for its result and the block runs meanwhile (its reads done before
    it; a statement in it that needs a result waits for the UPDATE first, as without the
    pipeline); the block's end waits for all, in order, in the same transaction, and the
    row count is checked as ``events_mark_processed`` does (docs/adr/0072)."""
    if connection.vendor != "postgresql" or not marks:
        events_mark_processed(marks)
        yield
        return
    import psycopg

    raw = connection.connection
    table = connection.ops.quote_name(Event._meta.db_table)
    with psycopg.Cursor(raw) as cursor:
        with raw.pipeline():
            cursor.execute(_PG_MARK.format(table=table), _pg_mark_params(marks))
            yield
        marked = int(cursor.rowcount)
    if marked != len(marks):
        raise StaleBatch(f"{len(marks) - marked} of {len(marks)} events changed meanwhile")


def contacts_hold(held: Sequence[int]) -> None:
    """Lock the contacts a batch attached events to (``_held_contacts``) until it commits,
    or raise ``StaleBatch`` (the batch rolls back and is read afresh) if one is gone.

    ``events.contact_id`` has no foreign key constraint (docs/adr/0076). This takes the
    lock the constraint's check took per event (``FOR KEY SHARE``: a delete or a merge of
    the contact waits until the batch commits; edits of it do not), in one statement,
    as the batch's last: a contact deleted (committed) earlier is missing from the
    count; one whose delete is under way makes it wait for that transaction, then is
    missing. A delete that waits for it sees the batch's events once it commits: Django's
    cascade listed the contact's events before, but the contact table's trigger
    (migration 0010) deletes those attached meanwhile. Last, not first: taken before the
    batch's other writes it deadlocked with a delete that had begun (the deleter holding
    the contact's aggregate rows, the batch its contact). On SQLite a batch holds the
    database's one write lock from its first statement: nothing to do."""
    if not held or connection.vendor != "postgresql":
        return
    with driver_cursor() as cursor:
        cursor.execute(_PG_HOLD.format(table=Contact._meta.db_table), [int_array(list(held))])
        found = int(cursor.fetchone()[0])
    if found != len(held):
        raise StaleBatch(f"{len(held) - found} of {len(held)} contacts were deleted meanwhile")


#: Locks the contacts a batch attached events to, and counts those still there.
_PG_HOLD = (
    "SELECT count(*) FROM (SELECT 1 FROM {table} "
    "WHERE id = ANY(%s::bigint[]) FOR KEY SHARE) AS held"
)


def _held_contacts(marks: list[tuple[int, int | None]], resolver: Resolver) -> list[int]:
    """The contacts this batch attaches events to that existed before it (sorted): its
    own new contacts cannot be deleted by anyone else before it commits."""
    held = {c for _, c in marks if c}
    follow = resolver._follow
    held.update(c for c in (follow(v) for v in resolver.attach.values()) if c)
    held.difference_update(resolver.created)
    return sorted(held)


_PG_MARK = (
    "UPDATE {table} SET contact_id = v.c, processed = true "
    "FROM unnest(%s::bigint[], %s::bigint[]) AS v(i, c) "
    "WHERE {table}.id = v.i AND NOT {table}.processed"
)


def _pg_mark_params(rows: list[tuple[int, int | None]]) -> list[str]:
    return [int_array([row[0] for row in rows]), int_array([row[1] for row in rows])]


def int_array(values: list[int | None]) -> str:
    """A PostgreSQL array literal of integers (None as NULL), for ``%s::bigint[]``."""
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"
