"""Import jobs, their per-chunk journal and per-row log, and saved column mappings.

An import runs chunk by chunk; each chunk commits its contacts, its journal
(``ImportChunk``: created ids, in-file key fingerprints) and the job's checkpoint in one
transaction, so a killed import resumes after the last committed chunk and a rollback
knows exactly what to undo.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImportMapping(models.Model):
    """A saved, reusable column mapping: {header: target} (see patron.imports.mapping)."""

    name = models.CharField(max_length=120)
    target = models.CharField(max_length=20, default="contacts")
    columns = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["target", "name"], name="import_mapping_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class ImportJob(models.Model):
    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        PREVIEWING = "previewing", "Checking"
        PREVIEWED = "previewed", "Checked"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        ROLLED_BACK = "rolled_back", "Rolled back"

    target = models.CharField(max_length=20, default="contacts")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The stored upload (immutable once stored: its SHA-256 is checked before each pass).
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    file_size = models.BigIntegerField(default=0)
    file_sha256 = models.CharField(max_length=64)
    file_format = models.CharField(max_length=8)  # csv | xlsx
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    headers = models.JSONField(default=list)
    # {header: target} and the options (see patron.imports.options.ImportOptions).
    mapping = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    error = models.TextField(blank=True)
    # Dry run: counts for the whole file and the first errors (row, column, reason).
    preview = models.JSONField(default=dict, blank=True)
    # Run: rows committed so far (the resume point), counts, speed.
    total_rows = models.BigIntegerField(null=True, blank=True)
    rows_done = models.BigIntegerField(default=0)
    last_row = models.BigIntegerField(default=1)  # last committed file row (1 = header)
    chunks_done = models.IntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    rate = models.FloatField(null=True, blank=True)  # rows per second
    eta_seconds = models.FloatField(null=True, blank=True)
    run_seconds = models.FloatField(default=0.0)  # committed work time (over resumes)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rollback_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="import_job_owner_idx")]

    def __str__(self) -> str:
        return f"Import #{self.pk} ({self.file_name})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.ROLLED_BACK)


class ImportChunk(models.Model):
    """One committed chunk: what it created (for rollback and the report) and the
    fingerprints of the keys it saw (so a resumed run still spots in-file repeats)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    seq = models.IntegerField()
    first_row = models.BigIntegerField()
    last_row = models.BigIntegerField()
    # [[row, contact_id], ...] of the contacts this chunk created: the record of their
    # creation (rollback, report, and the contact timeline's "imported" entry, ADR 0075).
    created = models.JSONField(default=list)
    # The ``created_at`` given to every contact in ``created`` (one instant a chunk): the
    # timeline finds a contact's chunk by it (indexed), then looks for the id in ``created``.
    created_stamp = models.DateTimeField(null=True, blank=True)
    # {"companies": [ids], "tags": [ids]} created along the way.
    created_other = models.JSONField(default=dict)
    # 64-bit fingerprints (array('q') bytes) of upsert keys and email match keys seen.
    seen_keys = models.BinaryField(default=b"")
    counts = models.JSONField(default=dict)
    committed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["job", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["job", "seq"], name="import_chunk_seq_unique")
        ]
        indexes = [models.Index(fields=["created_stamp"], name="import_chunk_stamp_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.seq}"


class ImportRow(models.Model):
    """A row worth reporting: updated (with before/after), rejected, duplicate, skipped,
    or created with values kept-and-flagged. Created rows without remarks are only in
    their chunk's ``created`` list; unchanged rows are only counted."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"
        DUPLICATE = "duplicate", "Duplicate"
        ERROR = "error", "Error"
        SKIPPED = "skipped", "Skipped"

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    row = models.BigIntegerField()
    action = models.CharField(max_length=10, choices=Action.choices)
    contact_id = models.BigIntegerField(null=True, blank=True)
    column = models.CharField(max_length=255, blank=True)
    reason = models.TextField(blank=True)
    # Updated rows: {"before": {...}, "after": {...}, "tags_added": [...], "custom": {...}}.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["job", "row", "id"]
        indexes = [
            models.Index(fields=["job", "row"], name="import_row_job_idx"),
            models.Index(fields=["job", "action"], name="import_row_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row} {self.action}"
