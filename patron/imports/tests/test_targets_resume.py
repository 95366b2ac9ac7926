"""Import targets: killed half-way and resumed (each row once), bad rows stop, bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import Company
from patron.contacts.services import contact_create
from patron.imports.models import ImportJob
from patron.imports.services import (
    import_job_resume,
    import_job_rollback,
    import_job_run,
    import_job_start,
)
from patron.imports.targets import runner
from patron.imports.tests.target_helpers import check
from patron.support.models import Ticket

pytestmark = pytest.mark.django_db


class Killed(BaseException):
    """Stands for the process dying (not an Exception: nothing may catch it)."""


def test_killed_after_a_chunk_then_resumed_creates_every_row_once(
    admin_user_p: Any, write_csv: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(runner, "CHUNK_ROWS", 10)
    rows = [["Company", "Domain"]] + [[f"Co {i}", f"co{i}.example"] for i in range(35)]
    path = write_csv(rows)
    job = import_job_start(
        actor=admin_user_p, job=check(admin_user_p, path, "companies"), enqueue=False
    )
    # When the runner dies while the third chunk is being written
    original = runner.TargetRunner._journal
    calls = {"n": 0}

    def dying(self: Any, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise Killed
        original(self, *args)

    monkeypatch.setattr(runner.TargetRunner, "_journal", dying)
    with pytest.raises(Killed):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    # Then the two committed chunks stay and the third left nothing
    assert job.rows_done == 20 and job.last_row == 21
    assert Company.objects.count() == 20
    # When it is resumed (the runner died: its heartbeat is old)
    monkeypatch.setattr(runner.TargetRunner, "_journal", original)
    ImportJob.objects.filter(pk=job.pk).update(status="failed")
    import_job_resume(actor=admin_user_p, job=job, enqueue=False)
    done = import_job_run(job_id=job.pk)
    assert done is not None and done.status == "done"
    assert done.counts["created"] == 35 and done.rows_done == 35
    names = sorted(Company.objects.values_list("name", flat=True))
    assert names == sorted(f"Co {i}" for i in range(35))
    # And a rollback removes all of them, across the resume
    import_job_rollback(actor=admin_user_p, job=done)
    assert not Company.objects.exists()


def test_bad_rows_under_stop_refuse_to_start(admin_user_p: Any, write_csv: Any) -> None:
    contact_create(actor=admin_user_p, data={"email": "jane@example.com"})
    path = write_csv(
        [["Ticket id", "Email", "Subject"], ["T-1", "jane@example.com", "Hi"], ["T-2", "", "x"]]
    )
    checked = check(admin_user_p, path, "tickets", on_error="stop")
    assert checked.preview["counts"]["error"] == 1
    with pytest.raises(ValidationError, match="bad rows stop"):
        import_job_start(actor=admin_user_p, job=checked, enqueue=False)
    assert not Ticket.objects.exists()


def test_hostile_cells_are_stored_as_text_and_huge_cells_are_row_errors(
    admin_user_p: Any, write_csv: Any
) -> None:
    contact_create(actor=admin_user_p, data={"email": "jane@example.com"})
    huge = "x" * (10 * 1024 * 1024)
    path = write_csv(
        [
            ["Ticket id", "Email", "Subject", "Description"],
            ["T-1", "jane@example.com", '=HYPERLINK("http://x")', "<script>alert(1)</script>"],
            ["T-2", "jane@example.com", "big", huge],
            ["T-3", "jane@example.com", "ok", "fine"],
        ]
    )
    checked = check(admin_user_p, path, "tickets")
    assert checked.preview["counts"]["created"] == 2 and checked.preview["counts"]["error"] == 1
    assert [i["row"] for i in checked.preview["issues"]] == [3]
    job = import_job_start(actor=admin_user_p, job=checked, enqueue=False)
    import_job_run(job_id=job.pk)
    t1 = Ticket.objects.get(external_id="T-1")
    assert t1.subject == '=HYPERLINK("http://x")'
    assert t1.description == "<script>alert(1)</script>"
    assert not Ticket.objects.filter(external_id="T-2").exists()


def test_unreadable_files_are_refused_with_a_reason(admin_user_p: Any, tmp_path: Path) -> None:
    from patron.imports.services import import_job_create

    zip_bomb = tmp_path / "bomb.xlsx"
    import zipfile

    with zipfile.ZipFile(zip_bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"\0" * (200 * 1024 * 1024))
    with pytest.raises(ValidationError) as exc:
        import_job_create(
            actor=admin_user_p, path=str(zip_bomb), file_name="b.xlsx", target="orders"
        )
    assert "file" in exc.value.message_dict
    dup = tmp_path / "dup.csv"
    dup.write_text("Order id,Order id\n1,2\n")
    with pytest.raises(ValidationError) as exc:
        import_job_create(actor=admin_user_p, path=str(dup), file_name="d.csv", target="orders")
    assert "file" in exc.value.message_dict
    assert not ImportJob.objects.exists()
