"""Erasure in stored import uploads and dry-run reports (ADR 0080): files that mention the
person are deleted on commit (and only those), reports lose their entries about them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.imports.models import ImportChunk, ImportJob, ImportRow
from patron.privacy.services import contact_erase
from patron.privacy.services.uploads import UPLOAD_ERASED, Identifiers

pytestmark = pytest.mark.django_db

ADA = "Ada.Lovelace@Example.com"


@pytest.fixture
def uploads(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    folder = tmp_path / "imports"
    folder.mkdir()
    return folder


def _job(folder: Path, name: str, text: str, *, encoding: str = "utf-8", **fields: Any) -> Any:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return ImportJob.objects.create(
        file_name=name, file_path=str(path), file_sha256="0" * 64, file_format="csv",
        encoding=encoding, delimiter=",", headers=text.splitlines()[0].split(","), **fields,
    )  # fmt: skip


def _person(admin: Any, first: str, email: str, **data: Any) -> Contact:
    return contact_create(actor=admin, data={"first_name": first, "email": email, **data})


def test_files_mentioning_the_person_go_after_commit_and_others_stay(
    admin_user_p: Any, uploads: Path, django_capture_on_commit_callbacks: Any
) -> None:
    ada = _person(admin_user_p, "Ada", ADA, phone="+14155550134")
    bob = _person(admin_user_p, "Bob", "bob@example.com")
    rows = "name,email\nAda,ADA.LOVELACE@example.com\nBob,bob@example.com\n"
    by_email = _job(uploads, "a.csv", rows, status="done")
    by_phone = _job(uploads, "b.csv", "name,phone\nSomeone,(415) 555-0134\n", status="previewed")
    utf16 = _job(uploads, "c.csv", "email\nada.lovelace@example.com\n", encoding="utf-16",
                 status="uploaded")  # fmt: skip
    by_report = _job(uploads, "d.csv", "name\nA. L.\n", status="done")
    ImportRow.objects.create(job=by_report, row=2, action="updated", contact_id=ada.pk)
    by_journal = _job(uploads, "e.csv", "name\nA. L.\n", status="done")
    ImportChunk.objects.create(job=by_journal, seq=1, first_row=2, last_row=2,
                               created=[[2, ada.pk]])  # fmt: skip
    only_bob = _job(uploads, "f.csv", "name,email\nBob,bob@example.com\n", status="done")
    outside = uploads.parent / "mine.csv"  # a CLI user's own file: never deleted
    outside.write_text("email\nada.lovelace@example.com\n")
    ImportJob.objects.create(file_name="mine.csv", file_path=str(outside), file_sha256="0" * 64,
                             file_format="csv", encoding="utf-8", delimiter=",",
                             headers=["email"], status="done")  # fmt: skip
    doomed = [by_email, by_phone, utf16, by_report, by_journal]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record = contact_erase(actor=admin_user_p, contact=ada)
        assert all(Path(j.file_path).exists() for j in doomed)  # nothing before commit
    for callback in callbacks:
        callback()

    assert record.removed["import_files"] == 5
    assert [Path(j.file_path).exists() for j in doomed] == [False] * 5
    assert Path(only_bob.file_path).exists() and outside.exists()
    # Jobs that had not finished say why their file is gone; finished ones keep their state.
    errors = dict(ImportJob.objects.values_list("file_name", "error"))
    assert errors["b.csv"] == UPLOAD_ERASED and errors["c.csv"] == UPLOAD_ERASED
    assert errors["a.csv"] == "" and errors["f.csv"] == ""
    assert ImportJob.objects.get(pk=by_email.pk).status == "done"
    assert Contact.objects.filter(pk=bob.pk).exists()


def test_a_rolled_back_erasure_deletes_no_file(
    admin_user_p: Any, uploads: Path, django_capture_on_commit_callbacks: Any
) -> None:
    ada = _person(admin_user_p, "Ada", ADA)
    job = _job(uploads, "a.csv", f"email\n{ADA}\n", status="done")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contact_erase(actor=admin_user_p, contact=ada)
    assert callbacks  # registered on commit, and only run then
    assert Path(job.file_path).exists()


def test_dry_run_reports_lose_their_entries_about_the_person(
    admin_user_p: Any, uploads: Path
) -> None:
    ada = _person(admin_user_p, "Ada", ADA)
    bob = _person(admin_user_p, "Bob", "bob@example.com")
    preview = {
        "rows": 3,
        "counts": {"updated": 2, "error": 2},
        "changes": [
            {"row": 2, "contact_id": ada.pk, "before": {"city": "London"}, "after": {}},
            {"row": 3, "contact_id": bob.pk, "before": {"city": "Paris"}, "after": {}},
        ],
        "issues": [
            {"row": 4, "action": "error", "column": "email", "reason": f"bad: {ADA.lower()}"},
            {"row": 5, "action": "error", "column": "email", "reason": "bad: bob@example"},
        ],
    }
    job = ImportJob.objects.create(file_name="x.csv", file_path="", file_sha256="0" * 64,
                                   preview=preview, status="previewed")  # fmt: skip
    record = contact_erase(actor=admin_user_p, contact=ada)
    job.refresh_from_db()
    assert [c["row"] for c in job.preview["changes"]] == [3]
    assert [i["row"] for i in job.preview["issues"]] == [5]
    assert job.preview["counts"] == preview["counts"] and job.preview["rows"] == 3
    assert record.removed["import_report_entries"] == 2
    assert record.removed["import_files"] == 0


def test_identifiers_match_whole_cells_not_fragments() -> None:
    who = Identifiers({"email": {ADA}, "phone": {"+14155550134"}, "user_id": {"u-1"}})
    assert who.cell(" ada.lovelace@example.com ") and who.cell("u-1")
    assert who.cell("+1 415 555 0134") and who.cell("415-555-0134")
    assert not who.cell("lovelace") and not who.cell("ada.lovelace@example.org")
    assert not who.cell("555") and not who.cell("") and not who.cell("42")


def test_the_scan_only_reads(admin_user_p: Any, uploads: Path) -> None:
    """Erasure scans files before its first write (no write lock held while reading)."""
    from patron.privacy.services.uploads import import_uploads_scan

    ada = _person(admin_user_p, "Ada", ADA)
    job = _job(uploads, "a.csv", f"email\n{ADA}\n", status="previewed",
               preview={"changes": [{"row": 2, "contact_id": ada.pk}]})  # fmt: skip
    before = list(ImportJob.objects.values())
    plan = import_uploads_scan(contact_ids=[ada.pk], found={"email": {ADA}})
    assert plan.files == [Path(job.file_path)] and plan.entries == 1
    assert plan.idle_jobs == {job.pk: "previewed"}
    assert list(ImportJob.objects.values()) == before and Path(job.file_path).exists()
