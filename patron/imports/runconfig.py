"""What an import run is configured with: chunk, worker and commit-group sizes from the
settings/environment, and the run's plan (the columns, key and custom fields it prepares
rows by). Used by ``patron.imports.engine``, which re-exports these names."""

from __future__ import annotations

import hashlib
import os

from django.conf import settings

from patron.contacts.models import CustomField
from patron.contacts.selectors import lifecycle_stages
from patron.core.services import workspace_get
from patron.imports.models import ImportJob
from patron.imports.options import options_of
from patron.imports.prepare import CustomDef, Plan


def chunk_rows() -> int:
    return int(
        getattr(settings, "PATRON_IMPORT_CHUNK_ROWS", 0)
        or os.environ.get("PATRON_IMPORT_CHUNK_ROWS", 5000)
    )


def default_workers() -> int:
    value = os.environ.get("PATRON_IMPORT_WORKERS")
    if value is not None:
        return int(value)
    # One core stays with this process (classify + write) and the database.
    return max(min((os.cpu_count() or 1) - 1, 4), 0)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def custom_fields_map() -> dict[str, CustomField]:
    return {f.key: f for f in CustomField.objects.filter(entity=CustomField.Entity.CONTACT)}


def plan_for(job: ImportJob, custom: dict[str, CustomField]) -> Plan:
    headers = tuple(job.headers)
    columns = tuple(
        (headers.index(h), target)
        for h, target in (job.mapping or {}).items()
        if target and h in headers
    )
    opts = options_of(job)
    return Plan(
        headers=headers,
        columns=tuple(sorted(columns)),
        key=opts.key,
        region=workspace_get().default_region or settings.PATRON_DEFAULT_REGION,
        stages=tuple((s["key"], s.get("label", s["key"])) for s in lifecycle_stages()),
        custom=tuple(
            CustomDef(
                key=f.key,
                label=f.label,
                type=f.type,
                choices=tuple(f.choices or ()),
                max_length=f.max_length,
            )
            for f in custom.values()
        ),
        tags=opts.tags,
    )


def commit_rows() -> int:
    """Rows per transaction: whole chunks are committed together until this many.

    On SQLite a commit writes every index page the transaction touched to the WAL (and
    the checkpoint copies them again); a growing table's random-key indexes (email match
    key, phone, name key, ...) are touched all over by every chunk, so the commit cost
    is per *transaction*, nearly whatever its size (6.7 s per 100k rows at 1M rows with
    5,000-row commits). Grouping chunks cuts that without the memory of bigger chunks
    (the transaction's dirty pages live in SQLite's bounded page cache, not in Python)."""
    value = getattr(settings, "PATRON_IMPORT_COMMIT_ROWS", 0) or os.environ.get(
        "PATRON_IMPORT_COMMIT_ROWS"
    )
    return int(value) if value else chunk_rows() * 5


def commit_seconds() -> float:
    """A commit group also ends after this long, so other writers (SQLite's one write
    lock) and the progress display never wait much longer than one chunk."""
    return float(os.environ.get("PATRON_IMPORT_COMMIT_SECONDS", 5))
