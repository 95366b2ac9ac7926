"""Support interactions and satisfaction surveys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Ticket(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        CHAT = "chat", "Chat"
        WEB = "web", "Web form"
        SOCIAL = "social", "Social"
        IN_PERSON = "in_person", "In person"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        RESOLVED = "resolved", "Resolved"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="tickets"
    )
    subject = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices, default=Channel.EMAIL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    external_id = models.CharField(max_length=120, null=True, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="ticket_external_id_unique",
            )
        ]
        indexes = [
            models.Index(fields=["contact", "-opened_at"], name="ticket_contact_idx"),
            models.Index(fields=["status"], name="ticket_status_idx"),
        ]

    def __str__(self) -> str:
        return self.subject


class SurveyResponse(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", "NPS (0-10)"
        CSAT = "csat", "CSAT (1-5)"

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="survey_responses"
    )
    kind = models.CharField(max_length=4, choices=Kind.choices)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL)
    responded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="nps") & Q(score__lte=10))
                | (Q(kind="csat") & Q(score__gte=1) & Q(score__lte=5)),
                name="survey_score_in_range",
            )
        ]
        indexes = [models.Index(fields=["contact", "-responded_at"], name="survey_contact_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"
