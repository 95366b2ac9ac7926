"""The engine's pipeline: a worker process really prepares rows, GC between chunks, and
what the worker computes for the writing process."""

from __future__ import annotations

import gc
import os
import weakref
from typing import Any

import pytest

from patron.hygiene.normalize import email_match_key, phone_match_key
from patron.imports import engine
from patron.imports.prepare import Plan, Prepared, prepare_row
from patron.imports.seen import fingerprint

TARGETS = ("first_name", "last_name", "email", "phone")
PLAN = Plan(
    headers=TARGETS,
    columns=tuple(enumerate(TARGETS)),
    key="email",
    region="US",
    stages=(),
)


def _pid_rows(plan: Plan, rows: list[tuple[int, list[Any], str]]) -> list[Any]:
    return [(os.getpid(), r) for r, _cells, _problem in rows]


def test_one_worker_prepares_in_another_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """On 2 cores the default is one worker: it must overlap with the writing process
    (it used to mean "no worker", so everything ran in one process)."""
    monkeypatch.setattr(engine, "prepare_rows", _pid_rows)  # inherited by the fork
    chunks: list[list[tuple[int, list[Any], str]]] = [[(2, [], "")], [(3, [], "")], [(4, [], "")]]
    out: list[Any] = list(engine._prepared_chunks(PLAN, iter(chunks), workers=1))
    rows = [r for chunk in out for _pid, r in chunk]
    pids = {pid for chunk in out for pid, _r in chunk}
    assert rows == [2, 3, 4]  # file order kept
    assert pids and os.getpid() not in pids


def test_no_worker_prepares_in_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "prepare_rows", _pid_rows)
    out = list(engine._prepared_chunks(PLAN, iter([[(2, [], "")]]), workers=0))
    assert out == [[(os.getpid(), 2)]]


def test_gc_paused_during_chunks_and_restored_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), engine._gc_by_chunk() as tick:
        assert not gc.isenabled()
        tick(1)
        tick(20)  # a full collection
        assert not gc.isenabled()
        raise RuntimeError("chunk failed")
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_gc_by_chunk_collects_cycles_made_by_a_chunk() -> None:
    class Node:
        other: Any = None

    with engine._gc_by_chunk() as tick:
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        assert ref() is not None  # automatic collection is paused
        tick(1)
        assert ref() is None


@pytest.mark.parametrize(
    "cells",
    [
        ["Jane", "Doe", "Jane.Doe+news@Gmail.com", "(212) 555-0142 ext. 7"],
        ["Bo", "", "bo@example.org", "+44 20 7946 0958"],
        ["", "", "X@Example.com", ""],
    ],
)
def test_worker_computes_the_keys_the_writer_looks_up(cells: list[str]) -> None:
    p: Prepared = prepare_row(PLAN, 2, cells)
    assert p.ok, p.errors
    assert p.key_fp == fingerprint("key", p.key)
    email = p.values.get("email") or ""
    assert p.email_key == (email_match_key(email) if email else "")
    assert p.email_fp == (fingerprint("email_key", p.email_key) if p.email_key else 0)
    assert p.phone_key == phone_match_key(p.values.get("phone") or "")


@pytest.mark.django_db
def test_preload_list_as_one_parameter_finds_exactly_the_listed_values(
    admin_user_p: Any,
) -> None:
    """More values than SQLite allows host parameters in one statement, one of them with
    quotes and a comma: the one-parameter list finds exactly the matching contacts."""
    from patron.contacts.models import Contact
    from patron.contacts.services import contact_create
    from patron.imports.chunk import in_list, value_list

    wanted = contact_create(actor=admin_user_p, data={"first_name": "A", "email": "a@x.com"})
    odd = contact_create(actor=admin_user_p, data={"last_name": "O'B", "phone": "+12125550100"})
    contact_create(actor=admin_user_p, data={"first_name": "C", "email": "c@x.com"})
    keys = [f"nobody{i}@x.com" for i in range(40_000)] + [wanted.email_match_key]
    found = Contact.objects.filter(email_match_key__in=value_list(sorted(keys)))
    assert list(found.values_list("pk", flat=True)) == [wanted.pk]
    phones = ['+1", "x', "+12125550100", "'; --"]
    found = Contact.objects.filter(phone__in=value_list(phones))
    assert list(found.values_list("pk", flat=True)) == [odd.pk]
    assert not Contact.objects.filter(phone__in=value_list([])).exists()
    # The preload's form (``= ANY(array)`` on PostgreSQL), OR-ed as the preload does
    cond = in_list(Contact, "email_match_key", sorted(keys)) | in_list(Contact, "phone", phones)
    assert sorted(Contact.objects.filter(cond).values_list("pk", flat=True)) == sorted(
        [wanted.pk, odd.pk]
    )
    assert not Contact.objects.filter(in_list(Contact, "phone", [])).exists()


def test_index_probes_turn_sequential_scans_off_only_inside(db: Any) -> None:
    from django.db import connection

    from patron.imports.chunk import index_probes

    def seqscan() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('enable_seqscan')")
            return str(cursor.fetchone()[0])

    if connection.vendor != "postgresql":
        with index_probes():  # nothing to set on SQLite
            pass
        return
    assert seqscan() == "on"
    with index_probes():
        assert seqscan() == "off"
    assert seqscan() == "on"
    with pytest.raises(ZeroDivisionError), index_probes():
        1 / 0  # noqa: B018
    assert seqscan() == "on"


def _csv_file(tmp_path: Any, body: bytes) -> tuple[str, Any]:
    from patron.imports.readers import FileInfo

    path = tmp_path / "rows.csv"
    path.write_bytes(b"first_name,last_name,email,phone\n" + body)
    return str(path), FileInfo(
        file_format="csv", headers=list(TARGETS), encoding="utf-8", delimiter=","
    )


def test_one_worker_reads_and_prepares_in_another_process(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default one worker reads the file itself (the reader's CPU leaves the writing
    process): rows in file order, chunked, from the start row on, prepared elsewhere."""
    monkeypatch.setattr(engine, "prepare_rows", _pid_rows)  # inherited by the fork
    body = b"".join(b"A%d,B,a%d@x.org,\n" % (i, i) for i in range(7))
    path, info = _csv_file(tmp_path, body)
    stats: dict[str, float] = {}
    out = list(engine._read_in_worker(PLAN, path, info, 3, 3, stats))
    assert [[r for _pid, r in chunk] for chunk in out] == [[3, 4, 5], [6, 7, 8]]
    pids = {pid for chunk in out for pid, _r in chunk}
    assert len(pids) == 1 and os.getpid() not in pids
    assert stats["worker_blocked"] >= 0.0
    # The same rows as the in-line path (real preparation this time)
    monkeypatch.undo()
    rows = engine.iter_rows(path, info, start_row=2)
    inline = list(engine._prepared_chunks(PLAN, engine._batched(rows, 4), workers=0))
    worker = list(engine._read_in_worker(PLAN, path, info, 2, 4, {}))
    assert [[vars(p) for p in c] for c in worker] == [[vars(p) for p in c] for c in inline]


def test_reading_worker_passes_a_file_error_on_and_stops(tmp_path: Any) -> None:
    """A file that stops decoding half-way: the writing process gets the reader's own
    exception after the chunks before it (text is decoded by the buffer, so the last
    few kilobytes' rows may not arrive), and the worker process is gone."""
    body = b"".join(b"A%d,B,a%d@x.org,\n" % (i, i) for i in range(5000)) + b"\xff\xfe,x,y,z\n"
    path, info = _csv_file(tmp_path, body)
    got: list[list[int]] = []
    with pytest.raises(UnicodeDecodeError):
        for chunk in engine._read_in_worker(PLAN, path, info, 2, 1000, {}):
            got.append([p.row for p in chunk])
    assert 1 <= len(got) < 5
    assert got == [list(range(2 + 1000 * i, 1002 + 1000 * i)) for i in range(len(got))]
    import multiprocessing as mp

    assert not mp.active_children()


def test_reading_worker_is_stopped_when_the_writer_stops_early(tmp_path: Any) -> None:
    body = b"".join(b"A%d,B,a%d@x.org,\n" % (i, i) for i in range(50))
    path, info = _csv_file(tmp_path, body)
    chunks = engine._read_in_worker(PLAN, path, info, 2, 2, {})
    assert [p.row for p in next(chunks)] == [2, 3]
    import multiprocessing as mp

    assert mp.active_children()  # reading ahead, blocked on the bounded queue
    chunks.close()  # what the engine's ``closing`` does on an error or "stop"
    assert not mp.active_children()


def test_reading_worker_is_stopped_even_under_a_sigterm_handler(tmp_path: Any) -> None:
    """A parent whose SIGTERM handler raises (a test runner's, a server's): the forked
    worker used to catch that exception and block for ever putting it on the full queue,
    so stopping early hung the writer. It now ends on SIGTERM, at once."""
    import multiprocessing as mp
    import signal
    import time

    def raising(signum: int, frame: Any) -> None:
        raise SystemExit(1)

    previous = signal.signal(signal.SIGTERM, raising)
    try:
        body = b"".join(b"A%d,B,a%d@x.org,\n" % (i, i) for i in range(50))
        path, info = _csv_file(tmp_path, body)
        chunks = engine._read_in_worker(PLAN, path, info, 2, 2, {})
        assert [p.row for p in next(chunks)] == [2, 3]
        time.sleep(0.3)  # the worker reads ahead and blocks on the full queue
        started = time.monotonic()
        chunks.close()
        waited = time.monotonic() - started
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert not mp.active_children()
    assert waited < engine._STOP_SECONDS  # ended by SIGTERM, not killed after the wait
