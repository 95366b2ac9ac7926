"""Segments: saved rule trees, their live membership with history, and time triggers.

- ``Segment``: a rule tree (JSON, see ``patron.segments.rules``). ``dynamic`` segments are
  kept up to date as contacts change and as time passes; ``static`` ones are snapshots
  taken on demand; ``is_template`` rows are editable starting points, never evaluated.
- ``SegmentMembership``: one row per stay in a segment (``entered_at`` .. ``exited_at``);
  the open rows (``exited_at`` null) are the current members.
- ``SegmentTimer``: per (segment, contact) the next moment at which the passing of time
  alone could change the contact's membership (a window boundary), so time-window rules
  are re-checked exactly then, for exactly those contacts.
- ``SegmentSize``: the member count per segment per day, for the size-over-time chart.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Segment(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", "Live"
        STATIC = "static", "Snapshot"

    class Status(models.TextChoices):
        PENDING = "pending", "Being built"
        READY = "ready", "Ready"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DYNAMIC)
    rules = models.JSONField(default=dict)
    # Topics the rules depend on (see rules.deps), for picking segments on a change.
    depends_on = models.JSONField(default=list, blank=True)
    is_template = models.BooleanField(default=False)
    template_key = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    member_count = models.PositiveIntegerField(default=0)
    built_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_live(self) -> bool:
        return self.kind == self.Kind.DYNAMIC and not self.is_template


class SegmentMembership(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    entered_at = models.DateTimeField()
    exited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "contact"],
                condition=Q(exited_at__isnull=True),
                name="segment_member_open_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["segment", "contact"],
                condition=Q(exited_at__isnull=True),
                name="segment_member_current_idx",
            ),
            models.Index(fields=["contact", "segment"], name="segment_member_contact_idx"),
            models.Index(fields=["segment", "-entered_at"], name="segment_member_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.contact_id}"


class SegmentTimer(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segment_timer_unique")
        ]
        indexes = [models.Index(fields=["due_at"], name="segment_timer_due_idx")]

    def __str__(self) -> str:
        return f"{self.segment_id}:{self.contact_id}@{self.due_at}"


class SegmentSize(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="segment_size_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.size}"
