"""Merge journal, duplicate review queue and daily data-quality snapshots."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class MergeRecord(models.Model):
    """One merge: full before-images and the ids of every row it moved, created or deleted.

    Contact ids are plain integers: the merged contact is deleted by the merge and
    re-created with the same id by an undo.
    """

    class Rule(models.TextChoices):
        MOST_RECENT = "most_recent", "Most recent"
        MOST_COMPLETE = "most_complete", "Most complete"
        TRUSTED_SOURCE = "trusted_source", "Trusted source first"

    survivor_id = models.BigIntegerField(db_index=True)
    merged_id = models.BigIntegerField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    rule = models.CharField(max_length=20, choices=Rule.choices, default=Rule.MOST_COMPLETE)
    # Made by auto-merge (an admin's threshold), not by a person.
    automatic = models.BooleanField(default=False)
    field_choices = models.JSONField(default=dict, blank=True)
    # Row images: {"model": "app_label.model", "pk": ..., "fields": {attname: value}}.
    survivor_before = models.JSONField()
    survivor_after = models.JSONField()
    merged_before = models.JSONField()
    # {"app_label.Model.fk_field": [ids]}: rows re-pointed from merged to survivor.
    moved = models.JSONField(default=dict)
    # [{"model": "app_label.model", "pk": ..., "fields": {...}}]: rows the merge deleted.
    deleted = models.JSONField(default=list)
    # [["app_label.model", pk]]: rows the merge created (secondary identities).
    created = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the undo could not restore because it changed later (kept, reported).
    undo_report = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Merge #{self.pk}: {self.merged_id} -> {self.survivor_id}"

    @property
    def is_undone(self) -> bool:
        return self.undone_at is not None


class DuplicateCandidate(models.Model):
    """A suspected duplicate pair in the review queue (contact_a_id < contact_b_id)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Not a duplicate"
        MERGED = "merged", "Merged"

    class Source(models.TextChoices):
        REALTIME = "realtime", "On create or update"
        SCAN = "scan", "Whole-database scan"

    contact_a = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact_b = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    explanation = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REALTIME)
    cluster_id = models.BigIntegerField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact_a", "contact_b"], name="duplicate_pair_unique"
            ),
            models.CheckConstraint(
                condition=Q(contact_a__lt=F("contact_b")), name="duplicate_pair_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "-score", "id"], name="duplicate_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_a_id}~{self.contact_b_id} ({self.score:.2f})"


class HygieneSettings(models.Model):
    """Workspace-wide hygiene settings (one row, id=1). Only admins change them."""

    AUTO_MERGE_FLOOR = 0.9  # the lowest threshold an admin may choose

    auto_merge_enabled = models.BooleanField(default=False)
    auto_merge_threshold = models.FloatField(default=0.99)
    auto_merge_rule = models.CharField(
        max_length=20, choices=MergeRecord.Rule.choices, default=MergeRecord.Rule.MOST_COMPLETE
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "hygiene settings"

    def __str__(self) -> str:
        state = f"on at {self.auto_merge_threshold:.2f}" if self.auto_merge_enabled else "off"
        return f"Auto-merge {state}"


class ScanRun(models.Model):
    """One whole-database duplicate scan: what it read, found, and the model it used."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    engine = models.CharField(max_length=20, default="splink")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    actor_label = models.CharField(max_length=200, blank=True)
    records = models.PositiveIntegerField(default=0)
    candidates = models.PositiveIntegerField(default=0)
    clusters = models.PositiveIntegerField(default=0)
    auto_merged = models.PositiveIntegerField(default=0)
    trained = models.BooleanField(default=False)
    # The Splink model (settings and trained m/u), reusable on the Spark backend.
    model = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Scan #{self.pk} ({self.status})"


class QualitySnapshot(models.Model):
    """The workspace's data-quality figures on one day, for trends."""

    day = models.DateField(unique=True)
    figures = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Quality {self.day}"
