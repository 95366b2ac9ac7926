"""Helpers of the import-target tests: run a file through the whole job life cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patron.imports.services import (
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_run,
    import_job_start,
)


def check(actor: Any, path: str, target: str, **options: Any) -> Any:
    """Upload, configure and dry-run a file; returns the checked job."""
    job = import_job_create(actor=actor, path=path, file_name=Path(path).name, target=target)
    job = import_job_configure(actor=actor, job=job, options=options or None)
    return import_job_preview(actor=actor, job=job)


def run(actor: Any, path: str, target: str, **options: Any) -> tuple[Any, Any]:
    """(checked job, finished job) of a whole import."""
    checked = check(actor, path, target, **options)
    job = import_job_start(actor=actor, job=checked, enqueue=False)
    return checked, import_job_run(job_id=job.pk)


def assert_only_import_state_changed(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Nothing but the import's own rows and its import.* activity entries changed."""
    keep = {k for k in after if not k.startswith("imports.") and k != "core.Activity"}
    assert {k: after[k] for k in keep} == {k: before.get(k) for k in keep}
    new = [a for a in after["core.Activity"] if a not in before["core.Activity"]]
    assert all(a["verb"].startswith("import.") for a in new), [a["verb"] for a in new]
