"""One row per rate-limited key: the current fixed window and its request count."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """Requests counted in the window ``slot`` (``unix time // window``) for ``key``.

    Written only by ``patron.ratelimit.services.hit`` (one upsert per request); a new
    window overwrites the row, so the table holds one row per key and needs no cleanup.
    """

    key = models.CharField(max_length=100, primary_key=True)
    slot = models.BigIntegerField()
    count = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count} in window {self.slot}"
