"""Shared models: the workspace settings and the append-only activity log."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Workspace(models.Model):
    """Workspace-wide settings. There is exactly one row (id=1)."""

    class Visibility(models.TextChoices):
        ALL = "all", "All records"
        TEAM = "team", "Own and team's records"
        OWN = "own", "Own records only"

    name = models.CharField(max_length=200, default="My workspace")
    restricted_visibility = models.CharField(
        max_length=8,
        choices=Visibility.choices,
        default=Visibility.ALL,
        help_text="What users whose role is restricted (e.g. Sales) can see.",
    )
    default_region = models.CharField(max_length=2, default="US")
    lifecycle_stages = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class ActivityQuerySet(models.QuerySet["Activity"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("The activity log is append-only.")

    def for_contact(self, contact_id: int) -> ActivityQuerySet:
        return self.filter(contact_id=contact_id)


class Activity(models.Model):
    """One entry per write: who did what to which record, with before/after.

    The audit trail and the contact timeline read it; automation will trigger on it.
    Append-only: rows are never updated (erasure is the one deletion, in privacy services).
    """

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.BigIntegerField(null=True)
    subject_label = models.CharField(max_length=300, blank=True)
    contact_id = models.BigIntegerField(null=True, blank=True)
    company_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "activities"
        indexes = [
            models.Index(fields=["contact_id", "-created_at"], name="activity_contact_idx"),
            models.Index(fields=["company_id", "-created_at"], name="activity_company_idx"),
            models.Index(fields=["subject_type", "subject_id"], name="activity_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.verb} {self.subject_type}:{self.subject_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("The activity log is append-only.")
        super().save(*args, **kwargs)
