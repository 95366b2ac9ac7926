"""The consent ledger: append-only, per contact, purpose and channel."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class Consent(models.Model):
    class Purpose(models.TextChoices):
        EMAIL_MARKETING = "email_marketing", "Email marketing"
        SMS_MARKETING = "sms_marketing", "SMS marketing"
        PHONE_MARKETING = "phone_marketing", "Phone marketing"
        PROFILING = "profiling", "Profiling and personalisation"
        ANALYTICS = "analytics", "Analytics"
        SALE_SHARE = "sale_share", "Sale or sharing of personal data"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"
        PHONE = "phone", "Phone"
        POST = "post", "Post"
        WEB = "web", "Web"
        ANY = "any", "Any"

    class Status(models.TextChoices):
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class LawfulBasis(models.TextChoices):
        CONSENT = "consent", "Consent"
        CONTRACT = "contract", "Contract"
        LEGAL_OBLIGATION = "legal_obligation", "Legal obligation"
        VITAL_INTERESTS = "vital_interests", "Vital interests"
        PUBLIC_TASK = "public_task", "Public task"
        LEGITIMATE_INTERESTS = "legitimate_interests", "Legitimate interests"

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    lawful_basis = models.CharField(max_length=24, choices=LawfulBasis.choices)
    source = models.CharField(max_length=200, help_text="Where it was given: form, import, ...")
    wording_version = models.CharField(max_length=60, blank=True)
    recorded_at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["contact", "purpose", "channel", "-recorded_at"], name="consent_lookup_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose}/{self.channel}: {self.status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("The consent ledger is append-only: record a new entry instead.")
        super().save(*args, **kwargs)


class Erasure(models.Model):
    """The record that a person was erased (GDPR Art. 17), holding no personal data.

    ``contact_id`` is the id the contact had (ids are never reused); ``removed`` counts
    what was deleted, by kind (e.g. ``{"webhook_deliveries": 3, "events.Event": 12}``).
    Its ``matches`` are keyed hashes of the person's identifiers, so a later import or
    tracking call can recognise them without the values being kept.
    """

    contact_id = models.BigIntegerField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    removed = models.JSONField(default=dict, blank=True)
    erased_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"erasure of contact {self.contact_id}"


class ErasureMatch(models.Model):
    """HMAC-SHA256 (hex) of one identifier of an erased person ("email:a@b.com", ...)."""

    erasure = models.ForeignKey(Erasure, on_delete=models.CASCADE, related_name="matches")
    digest = models.CharField(max_length=64, db_index=True)

    def __str__(self) -> str:
        return self.digest[:12]
