"""Background tasks of the imports app. They take ids, are idempotent, and call services."""

from __future__ import annotations

from django_tasks import task


@task()
def import_job_run_task(job_id: int) -> str:
    """Run or continue an import (a finished or already-running job is left alone)."""
    from patron.imports.services.jobs import import_job_run

    job = import_job_run(job_id=job_id)
    return job.status if job is not None else "missing"


@task()
def import_job_preview_task(job_id: int) -> str:
    """Run a queued dry run (a job no longer waiting for its check is left alone)."""
    from patron.imports.services.preview import import_job_preview_run

    job = import_job_preview_run(job_id=job_id)
    return job.status if job is not None else "missing"
