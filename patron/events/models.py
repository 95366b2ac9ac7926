"""Behavioural events in the Segment spec's shape, linked to contacts."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Event(models.Model):
    class Type(models.TextChoices):
        IDENTIFY = "identify", "Identify"
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        GROUP = "group", "Group"
        ALIAS = "alias", "Alias"

    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TRACK)
    event = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=200, blank=True, help_text="Page/screen name")
    user_id = models.CharField(max_length=200, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=120, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_id", "message_id"],
                condition=~Q(message_id=""),
                name="event_message_once_per_source",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-timestamp"], name="event_contact_time_idx"),
            models.Index(fields=["contact", "event", "-timestamp"], name="event_contact_name_idx"),
            models.Index(fields=["anonymous_id"], name="event_anon_idx"),
            models.Index(fields=["user_id"], name="event_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.event or self.name}"
