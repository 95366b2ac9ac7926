"""The dry run as a background task: queued from the page or the API, progress, results."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from patron.contacts.models import Company
from patron.core.tests.api_client import db_state
from patron.imports import views
from patron.imports.models import ImportJob
from patron.imports.services import (
    import_job_create,
    import_job_preview_queue,
    import_job_preview_run,
)

pytestmark = pytest.mark.django_db


def _job(actor: Any, write_csv: Any, rows: int = 30) -> ImportJob:
    path = write_csv([["Company", "Domain"]] + [[f"Co {i}", f"co{i}.example"] for i in range(rows)])
    return import_job_create(actor=actor, path=path, file_name="co.csv", target="companies")


def test_page_queues_a_large_check_and_shows_its_progress(
    admin_user_p: Any, client_for: Any, write_csv: Any, monkeypatch: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:  # fmt: skip
    monkeypatch.setattr(views, "INLINE_PREVIEW_ROWS", 10)
    job = _job(admin_user_p, write_csv)
    client = client_for(admin_user_p)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("imports:preview", args=[job.pk]))
    assert response.status_code == 302 and len(callbacks) == 1  # the task is enqueued
    job.refresh_from_db()
    assert job.status == "previewing" and job.preview == {"rows_checked": 0}
    progress = client.get(reverse("imports:progress", args=[job.pk]))
    assert b"Checking (nothing is written)" in progress.content
    assert b"was=previewing" in progress.content
    # What the worker does
    done = import_job_preview_run(job_id=job.pk)
    assert done is not None and done.status == "previewed"
    assert done.preview["counts"]["created"] == 30 and not Company.objects.exists()
    finished = client.get(reverse("imports:progress", args=[job.pk]), {"was": "previewing"})
    assert finished["HX-Refresh"] == "true"
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert b"Dry run: 30 rows" in page.content
    # Running the task again changes nothing (idempotent)
    assert import_job_preview_run(job_id=job.pk).status == "previewed"  # type: ignore[union-attr]


def test_small_files_are_checked_in_the_request(
    admin_user_p: Any, client_for: Any, write_csv: Any
) -> None:
    job = _job(admin_user_p, write_csv, rows=3)
    client_for(admin_user_p).post(reverse("imports:preview", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "previewed" and job.preview["counts"]["created"] == 3


def test_a_check_cannot_be_queued_twice_unless_its_worker_died(
    admin_user_p: Any, write_csv: Any
) -> None:
    job = _job(admin_user_p, write_csv)
    import_job_preview_queue(actor=admin_user_p, job=job, enqueue=False)
    with pytest.raises(ValidationError, match="being checked"):
        import_job_preview_queue(actor=admin_user_p, job=job, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(hours=1))
    again = import_job_preview_queue(actor=admin_user_p, job=job, enqueue=False)
    assert again.status == "previewing"


def test_api_background_check_and_refusal(
    admin_user_p: Any, marketing_user_p: Any, api_for: Any, write_csv: Any
) -> None:
    job = _job(admin_user_p, write_csv)
    before = db_state()
    refused = api_for(marketing_user_p).client.post(
        f"/api/v1/imports/{job.pk}/preview?background=true"
    )
    assert refused.status_code == 404  # someone else's import does not exist for them
    assert db_state() == before
    queued = api_for(admin_user_p).client.post(f"/api/v1/imports/{job.pk}/preview?background=true")
    assert queued.status_code == 202 and queued.json()["status"] == "previewing"
    import_job_preview_run(job_id=job.pk)
    got = api_for(admin_user_p).client.get(f"/api/v1/imports/{job.pk}").json()
    assert got["status"] == "previewed" and got["preview"]["rows"] == 30
