"""The next chunk classified on a second connection while a chunk is written (PostgreSQL,
ADR 0092): it really runs beside the write; outcomes, the contacts written and the
rollback are those of the serial run; a crash and resume still writes every row once;
someone erased while the next chunk was classified is still skipped."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, connections, transaction

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.imports import overlap
from patron.imports.chunk import ChunkProcessor
from patron.imports.erased import ERASED_REASON
from patron.imports.models import ImportJob, ImportRow
from patron.imports.services import (
    import_job_create,
    import_job_rollback,
    import_job_run,
    import_job_start,
)
from patron.imports.tests.conftest import contact_state
from patron.privacy.services import contact_erase

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the overlap runs on PostgreSQL only"
)
pytestmark = [pytest.mark.django_db(transaction=True), postgres_only]

HEADER = ["email", "first_name", "last_name", "phone", "city"]


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATRON_IMPORT_OVERLAP", "1")  # opt-in
    monkeypatch.setenv("PATRON_IMPORT_CHUNK_ROWS", "4")
    monkeypatch.setenv("PATRON_IMPORT_COMMIT_ROWS", "8")


def _run(actor: Any, path: str) -> ImportJob:
    job = import_job_create(actor=actor, path=path, file_name="x.csv")
    job = import_job_start(actor=actor, job=job, enqueue=False)
    done = import_job_run(job_id=job.pk, workers=0)
    assert done is not None
    return done


def _in_thread(fn: Any) -> None:
    """Run ``fn`` on its own connection (committed when it returns), as another user."""

    def target() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    t = threading.Thread(target=target)
    t.start()
    t.join(30)


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int, str]]]:
    """(what, first row of the chunk, thread) for each classification and write."""
    seen: list[tuple[str, int, str]] = []
    classify, write = ChunkProcessor.classify, ChunkProcessor.write

    def classify_logged(self: Any, prepared: Any) -> Any:
        seen.append(("classify", prepared[0].row, threading.current_thread().name))
        return classify(self, prepared)

    def write_logged(self: Any, result: Any) -> None:
        row = result.outcomes[0].p.row
        seen.append(("write", row, threading.current_thread().name))
        write(self, result)
        seen.append(("written", row, threading.current_thread().name))

    monkeypatch.setattr(ChunkProcessor, "classify", classify_logged)
    monkeypatch.setattr(ChunkProcessor, "write", write_logged)
    yield seen


def test_only_when_asked_for_and_outside_a_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    assert overlap.overlap_enabled()
    with transaction.atomic():
        assert not overlap.overlap_enabled()  # a second connection could not see its rows
    monkeypatch.delenv("PATRON_IMPORT_OVERLAP")
    assert not overlap.overlap_enabled()  # opt-in


def test_the_next_chunk_is_classified_on_another_connection_during_the_write(
    admin_user_p: Any, write_csv: Any, monkeypatch: pytest.MonkeyPatch, events: Any
) -> None:
    # Given a write that waits (up to 10 s) for the next chunk's classification to start
    started = threading.Event()
    classify = ChunkProcessor.classify
    write = ChunkProcessor.write

    def classify_flag(self: Any, prepared: Any) -> Any:
        if prepared[0].row == 6:
            started.set()
        return classify(self, prepared)

    def write_waiting(self: Any, result: Any) -> None:
        if result.outcomes[0].p.row == 2:
            assert started.wait(10), "chunk 2 was not classified during chunk 1's write"
        write(self, result)

    monkeypatch.setattr(ChunkProcessor, "classify", classify_flag)
    monkeypatch.setattr(ChunkProcessor, "write", write_waiting)
    rows = [HEADER] + [[f"w{i}@example.com", f"W{i}", "", "", ""] for i in range(10)]
    # When the file is imported
    job = _run(admin_user_p, write_csv(rows))
    # Then every row is written once, and the classifications ran in their own thread,
    # the next one started before the chunk before it was written
    assert job.counts["created"] == 10 and Contact.objects.count() == 10
    assert {t for what, _, t in events if what == "classify"} == {"import-classify_0"}
    order = [(what, row) for what, row, _ in events]
    assert order.index(("classify", 6)) < order.index(("written", 2))


def _messy_file(write_csv: Any) -> str:
    rows = [
        HEADER,
        # chunk 1 (rows 2-5): an update, a new row, a bad row, a phone an old contact has
        ["old@example.com", "Old", "Timer", "", "Berlin"],
        ["new1@example.com", "New", "One", "+1 415 555 0101", "Rome"],
        ["not-an-email", "Bad", "Row", "", ""],
        ["ann.lee@else.example", "Ann", "Lee", "+1 415 555 0100", "Oslo"],
        # chunk 2 (rows 6-9): a key repeat of chunk 1, a phone a contact of chunk 1 has,
        # a Gmail address whose variant comes in chunk 3, the updated key again
        ["NEW1@example.com", "New", "One", "", ""],
        ["new2@example.com", "New", "Two", "(415) 555-0101", ""],
        ["new.three@gmail.com", "New", "Three", "", ""],
        ["old@example.com", "Old", "Again", "", "Lyon"],
        # chunk 3 (rows 10-13) and after: the variant, and plain new rows over groups
        ["NewThree+crm@googlemail.com", "N", "Three", "", ""],
    ]
    rows += [[f"p{i}@example.com", f"P{i}", "L", f"+1 212 555 {i:04d}", ""] for i in range(15)]
    return write_csv(rows)


def _outcomes(job: ImportJob) -> list[tuple[Any, ...]]:
    return list(
        ImportRow.objects.filter(job=job)
        .order_by("row")
        .values_list("row", "action", "column", "reason")
    )


def _contacts() -> list[dict[str, Any]]:
    drop = ("id", "created_at", "updated_at")
    return sorted(
        ({k: v for k, v in c.items() if k not in drop} for c in contact_state()),
        key=lambda c: c["email"],
    )


def test_outcomes_writes_and_rollback_are_those_of_the_serial_run(
    admin_user_p: Any, write_csv: Any, monkeypatch: pytest.MonkeyPatch, events: Any
) -> None:
    # Given contacts the file updates or resembles
    contact_create(
        actor=admin_user_p, data={"email": "old@example.com", "first_name": "Old", "city": "Paris"}
    )
    contact_create(
        actor=admin_user_p,
        data={
            "email": "ann@corp.example",
            "first_name": "Ann",
            "last_name": "Lee",
            "phone": "+14155550100",
            "city": "Oslo",
        },
    )
    before = _contacts()
    path = _messy_file(write_csv)
    # When it is imported with the overlap, rolled back, then imported without it
    job = _run(admin_user_p, path)
    assert any(t == "import-classify_0" for what, _, t in events if what == "classify")
    overlapped = (job.counts, _outcomes(job), _contacts())
    import_job_rollback(actor=admin_user_p, job=job)
    assert _contacts() == before
    monkeypatch.setenv("PATRON_IMPORT_OVERLAP", "0")
    events.clear()
    serial_job = _run(admin_user_p, path)
    assert {t for what, _, t in events} == {threading.current_thread().name}
    # Then both runs classified every row alike and wrote the same contacts
    assert (serial_job.counts, _outcomes(serial_job), _contacts()) == overlapped
    # (duplicates: two key repeats, the Gmail variant, and Ann Lee by phone and name)
    counts = serial_job.counts
    assert (counts["created"], counts["updated"], counts["duplicate"], counts["error"]) == (
        18,
        1,
        4,
        1,
    ), counts


def test_a_crash_during_a_write_then_resume_writes_every_row_exactly_once(
    admin_user_p: Any, write_csv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 30 rows (an in-file repeat among them), 4 a chunk, 8 to a transaction, and a
    # crash in the 4th chunk's write, while the 5th chunk is being classified beside it
    rows = [HEADER] + [[f"c{i}@example.com", f"C{i}", "", "", ""] for i in range(29)]
    rows.insert(10, ["c3@example.com", "repeat", "", "", ""])  # file row 11, chunk 3
    path = write_csv(rows)
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    real_write = ChunkProcessor.write
    calls = {"n": 0}

    def crashing_write(self: Any, result: Any) -> None:
        calls["n"] += 1
        real_write(self, result)
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(ChunkProcessor, "write", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        import_job_run(job_id=job.pk, workers=0)
    # Then the 3rd and 4th chunks (one transaction) are undone, the first two kept
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and job.chunks_done == 2
    assert Contact.objects.count() == 8
    # When it is resumed
    monkeypatch.setattr(ChunkProcessor, "write", real_write)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    job = import_job_run(job_id=job.pk, workers=0)
    # Then every row exists once and the repeat is still one
    assert job is not None and job.status == ImportJob.Status.DONE
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(
        f"c{i}@example.com" for i in range(29)
    )
    assert job.counts["created"] == 29 and job.counts["duplicate"] == 1 and job.rows_done == 30


def test_someone_erased_while_the_next_chunk_was_classified_is_still_skipped(
    admin_user_p: Any, write_csv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a person of chunk 2 erased (by another user, committed) during chunk 1's write,
    # after chunk 2's classification beside it has ended
    classified = threading.Event()
    classify_beside = overlap.Classifier._classify
    write = ChunkProcessor.write

    def classify_flag(self: Any, prepared: Any) -> Any:
        out = classify_beside(self, prepared)
        if prepared[0].row == 6:
            classified.set()
        return out

    def write_erasing(self: Any, result: Any) -> None:
        if result.outcomes[0].p.row == 2:
            assert classified.wait(10)

            def erase() -> None:
                gone = contact_create(
                    actor=admin_user_p, data={"email": "e7@example.com", "first_name": "E"}
                )
                contact_erase(actor=admin_user_p, contact=gone)

            _in_thread(erase)
        write(self, result)

    monkeypatch.setattr(overlap.Classifier, "_classify", classify_flag)
    monkeypatch.setattr(ChunkProcessor, "write", write_erasing)
    rows = [HEADER] + [[f"e{i}@example.com", f"E{i}", "", "", ""] for i in range(10)]
    # When the file is imported
    job = _run(admin_user_p, write_csv(rows))
    # Then the erased person's row (file row 9, in chunk 2) is skipped, not re-created
    assert not Contact.objects.filter(email="e7@example.com").exists()
    skipped = ImportRow.objects.get(job=job, row=9)
    assert (skipped.action, skipped.reason) == ("skipped", ERASED_REASON)
    assert job.counts["created"] == 9
