"""Fixtures of the import tests: files on disk and a one-call import runner."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from patron.core.tests.api_client import api_for, api_key_client, world

__all__ = ["api_for", "api_key_client", "world"]


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., str]:
    """``write_csv(rows, name=..., delimiter=",", encoding="utf-8")`` -> path (header first)."""
    counter = iter(range(1, 10_000))

    def write(
        rows: list[list[Any]],
        name: str | None = None,
        delimiter: str = ",",
        encoding: str = "utf-8",
    ) -> str:
        path = tmp_path / (name or f"file{next(counter)}.csv")
        with open(path, "w", newline="", encoding=encoding) as fh:
            csv.writer(fh, delimiter=delimiter).writerows(rows)
        return str(path)

    return write


@pytest.fixture
def run_import(db: None) -> Callable[..., Any]:
    """``run_import(actor, path, **options)`` -> the finished job (dry run first, inline)."""
    from patron.imports.services import (
        import_job_configure,
        import_job_create,
        import_job_preview,
        import_job_run,
        import_job_start,
    )

    def run(actor: Any, path: str, mapping: dict[str, str] | None = None, **options: Any) -> Any:
        job = import_job_create(actor=actor, path=path, file_name=Path(path).name)
        if mapping:
            job = import_job_configure(actor=actor, job=job, mapping={**job.mapping, **mapping})
        job = import_job_configure(actor=actor, job=job, options=options or {})
        job = import_job_preview(actor=actor, job=job, workers=0)
        job = import_job_start(actor=actor, job=job, enqueue=False)
        return import_job_run(job_id=job.pk, workers=0)

    return run


def contact_state() -> list[dict[str, Any]]:
    """Every contact row with its tags, companies and custom values."""
    from patron.contacts.models import Contact, ContactCompany, CustomFieldValue

    out = []
    for c in Contact.objects.order_by("pk").values():
        c["tags"] = sorted(
            Contact.tags.through.objects.filter(contact_id=c["id"]).values_list(
                "tag__name", flat=True
            )
        )
        c["companies"] = sorted(
            ContactCompany.objects.filter(contact_id=c["id"]).values_list(
                "company__name", flat=True
            )
        )
        c["custom"] = sorted(
            (v.field.key, str(v.value))
            for v in CustomFieldValue.objects.filter(contact_id=c["id"]).select_related("field")
        )
        out.append(c)
    return out
