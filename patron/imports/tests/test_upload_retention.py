"""Stored import uploads are deleted after the retention period (ADR 0088); the job, its
report and journal stay and a rollback still works; erasure does not read expired ones."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils import timezone

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.imports.models import ImportChunk, ImportJob
from patron.imports.services import (
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_rollback,
    import_job_run,
    import_job_start,
)
from patron.privacy.services import contact_erase
from patron.privacy.services import uploads as uploads_mod
from patron.privacy.services.retention import (
    DEFAULT_DAYS,
    UPLOAD_EXPIRED,
    import_uploads_purge,
    upload_retention_days,
)
from patron.privacy.tasks import PURGE_PATH, import_uploads_purge_task

pytestmark = pytest.mark.django_db

CSV = b"First name,Email\nAnn,ann@example.com\nBo,bo@example.com\n"


@pytest.fixture
def var(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path / "imports"


def _upload(actor: Any, data: bytes = CSV, name: str = "list.csv") -> ImportJob:
    return import_job_create(actor=actor, file=io.BytesIO(data), file_name=name)


def _run(actor: Any, job: ImportJob) -> ImportJob:
    job = import_job_configure(actor=actor, job=job, options={})
    job = import_job_preview(actor=actor, job=job, workers=0)
    job = import_job_start(actor=actor, job=job, enqueue=False)
    done = import_job_run(job_id=job.pk, workers=0)
    assert done is not None and done.status == "done"
    return done


def _age(job: ImportJob, days: float) -> None:
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - dt.timedelta(days=days))


def test_the_setting_is_days_or_off_and_a_typo_is_an_error(settings: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("PATRON_IMPORT_UPLOAD_RETENTION_DAYS", raising=False)
    assert upload_retention_days() == DEFAULT_DAYS == 30
    monkeypatch.setenv("PATRON_IMPORT_UPLOAD_RETENTION_DAYS", " 7 ")
    assert upload_retention_days() == 7
    monkeypatch.setenv("PATRON_IMPORT_UPLOAD_RETENTION_DAYS", "off")
    assert upload_retention_days() is None
    settings.PATRON_IMPORT_UPLOAD_RETENTION_DAYS = 0  # a setting wins over the environment
    assert upload_retention_days() == 0
    for bad in ("-1", "7d", "1.5"):
        settings.PATRON_IMPORT_UPLOAD_RETENTION_DAYS = bad
        with pytest.raises(ImproperlyConfigured, match="whole number of days"):
            upload_retention_days()


def test_uploads_past_retention_go_and_the_jobs_report_journal_and_rollback_stay(
    admin_user_p: Any, var: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # Given an import run 31 days ago, an upload checked 31 days ago and never run,
    # one that is running, a recent one, and a CLI user's own file
    old = _run(admin_user_p, _upload(admin_user_p))
    _age(old, 31)
    idle = _upload(admin_user_p, b"Email\ncy@example.com\n", "idle.csv")
    ImportJob.objects.filter(pk=idle.pk).update(status="previewed")
    _age(idle, 31)
    busy = _upload(admin_user_p, b"Email\ndi@example.com\n", "busy.csv")
    ImportJob.objects.filter(pk=busy.pk).update(status="running")
    _age(busy, 31)
    recent = _upload(admin_user_p, b"Email\ned@example.com\n", "recent.csv")
    _age(recent, 29)
    own = var.parent / "mine.csv"
    own.write_bytes(b"Email\nfi@example.com\n")
    cli = import_job_create(actor=admin_user_p, path=str(own), file_name="mine.csv")
    _age(cli, 31)
    chunks = list(ImportChunk.objects.filter(job=old).values_list("created", flat=True))

    # When the purge runs
    with django_capture_on_commit_callbacks(execute=True):
        result = import_uploads_purge()

    # Then only the old stored uploads of jobs that are not busy are gone
    assert sorted(result.jobs) == sorted([old.pk, idle.pk])
    assert result.files == 2 and result.bytes == len(CSV) + idle.file_size
    assert not Path(old.file_path).exists() and not Path(idle.file_path).exists()
    assert Path(busy.file_path).exists() and Path(recent.file_path).exists() and own.exists()
    # The unfinished job says why; the finished one keeps its state, journal and counts
    idle.refresh_from_db()
    old.refresh_from_db()
    assert idle.error == UPLOAD_EXPIRED.format(days=30) and idle.status == "previewed"
    assert old.status == "done" and old.error == "" and old.counts["created"] == 2
    assert list(ImportChunk.objects.filter(job=old).values_list("created", flat=True)) == chunks
    entries = Activity.objects.filter(verb="import.upload_expired").order_by("subject_id")
    assert [(e.subject_id, e.changes["retention_days"]) for e in entries] == [
        (old.pk, 30),
        (idle.pk, 30),
    ]
    # And the next look is in an hour (the busy job's upload is past due but must wait)
    assert result.kept == 2 and result.next_due is not None
    assert abs((result.next_due - (timezone.now() + dt.timedelta(hours=1))).total_seconds()) < 60
    # ... or when the recent upload expires, once the busy one is gone
    ImportJob.objects.filter(pk=busy.pk).update(file_path="")
    next_due = import_uploads_purge().next_due
    assert next_due is not None
    assert abs((next_due - (timezone.now() + dt.timedelta(days=1))).total_seconds()) < 60
    # And a second purge finds nothing more
    with django_capture_on_commit_callbacks(execute=True):
        assert import_uploads_purge().files == 0
    # And the import can still be rolled back: it reads the journal, not the file
    assert Contact.objects.filter(email__in=["ann@example.com", "bo@example.com"]).count() == 2
    import_job_rollback(actor=admin_user_p, job=old)
    assert not Contact.objects.filter(email__in=["ann@example.com", "bo@example.com"]).exists()
    assert ImportJob.objects.get(pk=old.pk).status == "rolled_back"


def test_retention_off_keeps_everything(
    admin_user_p: Any, var: Path, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    job = _upload(admin_user_p)
    _age(job, 3650)
    settings.PATRON_IMPORT_UPLOAD_RETENTION_DAYS = "off"
    with django_capture_on_commit_callbacks(execute=True):
        result = import_uploads_purge()
    assert result.files == 0 and result.days is None and Path(job.file_path).exists()


def test_the_command_counts_then_deletes(
    admin_user_p: Any, var: Path, django_capture_on_commit_callbacks: Any
) -> None:
    job = _upload(admin_user_p)
    _age(job, 10)
    out = io.StringIO()
    call_command("privacy", "purge-uploads", "--dry-run", "--days", "7", stdout=out)
    assert "1 stored upload(s)" in out.getvalue() and Path(job.file_path).exists()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("privacy", "purge-uploads", "--days", "7", stdout=out)
    assert "Deleted 1 stored upload(s)" in out.getvalue()
    assert not Path(job.file_path).exists()


def test_each_upload_makes_sure_a_purge_is_scheduled_once(
    admin_user_p: Any, var: Path, django_capture_on_commit_callbacks: Any
) -> None:
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        first = _upload(admin_user_p)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(admin_user_p, name="second.csv")
    pending = DBTaskResult.objects.filter(task_path=PURGE_PATH, status="READY")
    assert pending.count() == 1
    due = pending.get().run_after - timezone.now()
    assert dt.timedelta(days=29, hours=23) < due <= dt.timedelta(days=30)
    # When the task runs a month later, it deletes the first upload and makes sure the
    # next look comes by the time the second expires (already pending here: no new one)
    _age(first, 31)
    with django_capture_on_commit_callbacks(execute=True):
        assert import_uploads_purge_task.call() == 1
    assert not Path(first.file_path).exists()
    assert pending.count() == 1
    # And once nothing is pending, it schedules the next look itself
    pending.delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert import_uploads_purge_task.call() == 0
    due = pending.get().run_after - timezone.now()
    assert dt.timedelta(days=29, hours=23) < due <= dt.timedelta(days=30)


def test_erasure_deletes_expired_uploads_without_reading_them(
    admin_user_p: Any,
    var: Path,
    monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given an old upload that mentions Ada and a recent one that does not
    ada = contact_create(actor=admin_user_p, data={"email": "ada@example.com"})
    old = _upload(admin_user_p, b"Email\nada@example.com\n", "old.csv")
    _age(old, 40)
    recent = _upload(admin_user_p, b"Email\nbob@example.com\n", "recent.csv")
    read: list[int] = []
    real = uploads_mod._file_mentions

    def spy(job: Any, who: Any) -> bool:
        read.append(job.pk)
        return real(job, who)

    monkeypatch.setattr(uploads_mod, "_file_mentions", spy)
    # When Ada is erased
    with django_capture_on_commit_callbacks(execute=True):
        record = contact_erase(actor=admin_user_p, contact=ada)
    # Then only the recent upload was read; the old one is gone, as past retention
    assert read == [recent.pk]
    assert not Path(old.file_path).exists() and Path(recent.file_path).exists()
    assert record.removed["import_files"] == 0 and record.removed["import_files_expired"] == 1
    assert ImportJob.objects.get(pk=old.pk).error == UPLOAD_EXPIRED.format(days=30)
