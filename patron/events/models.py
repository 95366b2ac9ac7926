"""Tracking sources, behavioural events in the Segment spec's shape, and what they build.

- ``Source``: a website/app/back end sending events, with a hashed, rotatable write key.
- ``Event``: one accepted message, stored once per (source, message id), processed later.
- ``RejectedMessage``: the debugger's ring buffer of messages refused, with the reason.
- ``ContactEventSummary`` / ``ContactEventCount``: per-contact behavioural aggregates.
- ``ContactTraits``: identify traits that are neither contact fields nor custom fields.
- ``IdentityConflict``: two contacts found to be one person, waiting for (or done by) a merge.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Source(models.Model):
    """A sender of tracking events. Only SHA-256 hashes of write keys are stored."""

    name = models.CharField(max_length=120, unique=True)
    key_prefix = models.CharField(max_length=16, help_text="First characters, for display")
    key_hash = models.CharField(max_length=64, unique=True)
    previous_key_prefix = models.CharField(max_length=16, blank=True)
    previous_key_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    previous_key_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    rejected_count = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    class Type(models.TextChoices):
        IDENTIFY = "identify", "Identify"
        TRACK = "track", "Track"
        PAGE = "page", "Page"
        SCREEN = "screen", "Screen"
        GROUP = "group", "Group"
        ALIAS = "alias", "Alias"

    # No index of its own (db_index=False): event_contact_time_pidx leads with it, serves
    # every look-up by contact (ADR 0073), and is not written at ingest, where the contact
    # is not known yet. No database constraint (db_constraint=False, ADR 0076): its check
    # of every event the processor attaches cost ~12 µs an event at commit. Integrity is
    # kept instead by the processor, which locks the contacts it attaches events to (one
    # statement a batch), and by a trigger deleting the events of deleted contacts
    # (migration 0010); Django still cascades deletes (on_delete) as before.
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TRACK)
    event = models.CharField(max_length=200, blank=True)
    name = models.CharField(max_length=200, blank=True, help_text="Page/screen name")
    user_id = models.CharField(max_length=200, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True)
    group_id = models.CharField(max_length=200, blank=True)
    previous_id = models.CharField(max_length=200, blank=True)
    # timestamp: when it happened, corrected for client clock skew (see services.ingest).
    timestamp = models.DateTimeField()
    original_timestamp = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    traits = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    integrations = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=120, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    # False until the processor has resolved identity, profile and aggregates for it.
    processed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["source_id", "message_id"],
                condition=~Q(message_id=""),
                name="event_message_once_per_source",
            )
        ]
        # The contact and name indexes are partial (contact set): ingest stores every event
        # with no contact, so it writes none of them; the processor's UPDATE that sets the
        # contact adds the entries. Readers compare contact_id (=, IN, a join), which both
        # databases take as implying NOT NULL; queries across contacts say
        # ``contact__isnull=False`` (docs/adr/0073-partial-event-indexes.md).
        indexes = [
            models.Index(
                fields=["contact", "-timestamp"],
                condition=Q(contact__isnull=False),
                name="event_contact_time_pidx",
            ),
            models.Index(
                fields=["contact", "event", "-timestamp"],
                condition=Q(contact__isnull=False),
                name="event_contact_name_pidx",
            ),
            # (No index on user_id or source_id alone: nothing reads by them, and every
            # index costs on the ingest hot path. Contacts are found via ContactIdentity.)
            # Anonymous events without a contact, for the resolver: when an anonymous id is
            # identified, its earlier events still without a contact are attached. Partial
            # (no contact): the processor's UPDATE that sets an event's contact writes a new
            # row version (PostgreSQL) that then takes no entry here, one index insert of
            # seven fewer per event (docs/adr/0091-event-mark-shrunk.md).
            models.Index(
                fields=["anonymous_id"],
                condition=Q(contact__isnull=True),
                name="event_anon_pidx",
            ),
            # Segment conditions "performed X (N times) in the last N days" read all events of
            # one name in a time window, across contacts (issue 6).
            models.Index(
                fields=["event", "timestamp", "contact"],
                condition=Q(contact__isnull=False),
                name="event_name_time_pidx",
            ),
            models.Index(fields=["id"], condition=Q(processed=False), name="event_unprocessed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type}:{self.event or self.name}"


class RejectedMessage(models.Model):
    """A message refused at ingest (or a part of it refused in processing), with why.

    A ring buffer per source: only the newest ``KEEP`` rows are kept; the source's
    ``rejected_count`` counts them all.
    """

    KEEP = 200

    class Stage(models.TextChoices):
        INGEST = "ingest", "Ingest"
        PROCESSING = "processing", "Processing"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rejections")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.INGEST)
    received_at = models.DateTimeField()
    type = models.CharField(max_length=20, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=300)
    payload = models.TextField(blank=True, help_text="The message, cut to 2,000 characters")

    class Meta:
        indexes = [models.Index(fields=["source", "-id"], name="rejected_source_recent_idx")]

    def __str__(self) -> str:
        return f"{self.source_id}: {self.reason}"


class ContactEventSummary(models.Model):
    """Behaviour of one contact, kept up to date by the event processor."""

    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="event_summary"
    )
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    event_count = models.PositiveBigIntegerField(default=0)
    page_views = models.PositiveBigIntegerField(default=0)
    screen_views = models.PositiveBigIntegerField(default=0)
    sessions = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.contact_id}: {self.event_count} events"


#: How many of the most recent timestamps ``ContactEventCount`` keeps (docs/adr/0060).
RECENT_K = 8
#: Their columns, most recent first: ``recent_1 >= recent_2 >= ...``, NULL past ``count``.
RECENT_FIELDS = tuple(f"recent_{i}" for i in range(1, RECENT_K + 1))


class ContactEventCount(models.Model):
    """How often, and when last and first, one contact did one named (track) event; and
    the timestamps of its ``RECENT_K`` most recent ones, so that "N times in the last D
    days" is a comparison on this row rather than a count over events (ADR 0060)."""

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="event_counts"
    )
    event = models.CharField(max_length=200)
    count = models.PositiveBigIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    recent_1 = models.DateTimeField(null=True, blank=True)
    recent_2 = models.DateTimeField(null=True, blank=True)
    recent_3 = models.DateTimeField(null=True, blank=True)
    recent_4 = models.DateTimeField(null=True, blank=True)
    recent_5 = models.DateTimeField(null=True, blank=True)
    recent_6 = models.DateTimeField(null=True, blank=True)
    recent_7 = models.DateTimeField(null=True, blank=True)
    recent_8 = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "event"], name="contact_event_count_unique")
        ]
        indexes = [models.Index(fields=["event", "count"], name="event_count_name_idx")]

    def __str__(self) -> str:
        return f"{self.contact_id}:{self.event}={self.count}"


class ContactTraits(models.Model):
    """Custom attributes from identify calls that match no contact or custom field."""

    contact = models.OneToOneField(
        "contacts.Contact", primary_key=True, on_delete=models.CASCADE, related_name="traits"
    )
    traits = models.JSONField(default=dict, blank=True)
    # Hash of the identify traits last applied to the contact: the same traits again (most
    # identify calls repeat them) are skipped without loading or normalising anything.
    applied_hash = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.contact_id}: {len(self.traits)} traits"


class IdentityConflict(models.Model):
    """Evidence that two contacts are one person (an identify or alias joined them).

    Resolved through the hygiene merge service (with its journal) when it is available;
    until then it waits here for a person, and neither contact is changed.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        MERGED = "merged", "Merged"
        DISMISSED = "dismissed", "Dismissed"

    survivor = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", null=True
    )
    merged = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="+", null=True
    )
    kind = models.CharField(max_length=16)
    value = models.CharField(max_length=254)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["survivor", "merged"],
                condition=Q(status="pending"),
                name="identity_conflict_pending_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.merged_id} -> {self.survivor_id} ({self.kind})"
