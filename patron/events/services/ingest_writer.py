"""SQLite: one writer thread per serving process commits ingest in groups.

SQLite has one write lock for the whole database. With ``patron serve``'s 2 workers x 4
threads, each ``/v1/batch`` request took it for its own small transaction, and the
threads that found it taken waited in SQLite's busy handler, which sleeps 1, 2, 5, 10 ...
ms between tries: the lock often sat free while every waiter slept, and each request
paid a transaction of its own (BEGIN, the insert, COMMIT and its log write).

Here a request thread still validates its messages on its own (in parallel with the
others), then hands its rows to its process's writer and waits. The writer takes every
request waiting at that moment (up to ``MAX_GROUP_EVENTS`` events) and writes them in
ONE transaction, each request's rows in statements of their own (so each learns how
many of its messages were new), then commits, and only then wakes the requests: an
acknowledged event is committed exactly as before (durability unchanged: see
``ingest_wal``). While one group is written the next one gathers, so the groups grow
with the load by themselves and stay one request when the server is quiet.

If a group's transaction fails, it is rolled back and each of its requests is written
again on its own, so one request's error is that request's alone.

The two serving processes' writers still share SQLite's lock, so they
queue on a ``flock`` of a file beside the database (``ingest_wal.queued``; the
checkpointer joins the queue to let the log restart): the waiting writer sleeps in
the kernel and is woken the moment the other releases it, instead of polling with
SQLite's growing sleeps. (SQLite's own lock is still taken inside: other writers, such
as the event processor or the web UI, are not in this queue and wait as before.)

Only for a SQLite database file, outside any transaction of the caller (tests,
imports): elsewhere ``events_ingest`` writes in the request's own transaction, as on
PostgreSQL, whose row locks let concurrent requests insert in parallel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction

from patron.events.services.ingest_wal import checkpointer_for, queue_lock_open, queued

logger = logging.getLogger(__name__)

#: At most this many events in one group transaction (the write lock is held for it).
MAX_GROUP_EVENTS = 2_000
#: Seconds a request waits for its group's commit before it gives up with an error (a
#: request thread is never left hanging on a writer that died; gunicorn's timeout is 60).
WAIT_SECONDS = 50.0


@dataclass
class Job:
    """One request's write: ``write`` runs inside the group's transaction and returns
    the number of events stored."""

    write: Callable[[], int]
    events: int
    #: Called once per group after its commit when this job stored an event.
    on_commit: Callable[[], None] | None = None
    accepted: int = 0
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class GroupWriter:
    """The thread that writes the jobs of one process, a group per transaction."""

    def __init__(self, path: str, *, cross_process_lock: bool = True) -> None:
        self.path = path
        # Kept open for the writer's life: the flock is taken and released on it.
        self.lock_fd = queue_lock_open(path) if cross_process_lock else None
        self.prepared: Any = None
        self.jobs: list[Job] = []
        self.ready = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self.thread.start()

    def submit(self, job: Job) -> Job:
        """Queue ``job``, wait until its group is committed; its error, if it had one."""
        with self.ready:
            self.jobs.append(job)
            self.ready.notify()
        if not job.done.wait(WAIT_SECONDS):
            raise TimeoutError("The ingest writer did not answer in time.")
        if job.error is not None:
            raise job.error
        return job

    def _take(self) -> list[Job]:
        with self.ready:
            while not self.jobs:
                self.ready.wait()
            taken: list[Job] = []
            events = 0
            while self.jobs and (not taken or events + self.jobs[0].events <= MAX_GROUP_EVENTS):
                job = self.jobs.pop(0)
                taken.append(job)
                events += job.events
            return taken

    def _run(self) -> None:
        while True:
            group = self._take()
            try:
                self._write(group)
            except BaseException as exc:  # noqa: BLE001 - handed to the requests
                if len(group) == 1:
                    group[0].error = exc
                else:
                    for job in group:  # each again on its own: an error is its own
                        try:
                            self._write([job])
                        except BaseException as own:  # noqa: BLE001
                            job.error = own
            finally:
                for job in group:
                    job.done.set()
            # After the requests are answered: the group is committed, so an error here
            # must not fail (or re-write) them.
            self._after_commit(group)

    def _write(self, group: list[Job]) -> None:
        try:
            self._prepare()
            with self._queued(), transaction.atomic():
                for job in group:
                    job.accepted = job.write()
        except DatabaseError:
            # A broken connection is replaced before the next group.
            connection.close_if_unusable_or_obsolete()
            raise

    def _prepare(self) -> None:
        """The writer's connection never checkpoints in its commits: its process's
        checkpointer does, after them (``ingest_wal``)."""
        connection.ensure_connection()
        raw = connection.connection
        if raw is not self.prepared:
            raw.execute("PRAGMA wal_autocheckpoint = 0")
            self.prepared = raw

    def _after_commit(self, group: list[Job]) -> None:
        checkpointer_for(self.path).wake.set()
        hooks = {job.on_commit for job in group if job.accepted and job.on_commit}
        for hook in hooks:
            try:
                hook()
            except Exception:
                logger.exception("ingest: a hook after the commit failed")

    @contextlib.contextmanager
    def _queued(self) -> Iterator[None]:
        """The cross-process queue for the write lock (a no-op without it)."""
        if self.lock_fd is None:
            yield
            return
        with queued(self.lock_fd):
            yield


_writers: dict[tuple[int, str], GroupWriter] = {}
_lock = threading.Lock()


def writer_for(path: str) -> GroupWriter:
    """This process's writer of the database at ``path`` (a forked worker makes its own;
    one whose thread ended is replaced)."""
    key = (os.getpid(), path)
    found = _writers.get(key)
    if found is None or not found.thread.is_alive():
        with _lock:
            found = _writers.get(key)
            if found is None or not found.thread.is_alive():
                found = _writers[key] = GroupWriter(path)
    return found


def file_database() -> str | None:
    """The SQLite database file of the default connection, or None (PostgreSQL, memory)."""
    if connection.vendor != "sqlite":
        return None
    path = str(connection.settings_dict.get("NAME") or "")
    if not path or path.startswith(("file:", ":memory")) or "mode=memory" in path:
        return None
    return path
