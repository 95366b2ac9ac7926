"""Sending due deliveries: claim, sign, POST to the checked address, record the outcome.

A run claims a batch (row locks where the database has SKIP LOCKED; a lease on
``next_attempt_at`` everywhere), counts the attempt at claim time, sends the batch from
a small thread pool (HTTP only; the database is touched by the calling thread), and
records each outcome. A worker that dies mid-batch leaves its deliveries pending with a
lease that expires, so the next run sends them again (at-least-once: receivers
de-duplicate by ``webhook-id``).

Outcomes: 2xx succeeded. Network errors, timeouts, 408, 429 and 5xx are retried with
exponential backoff and jitter (``Retry-After`` honoured up to a cap) until the attempts
run out (dead). Other 4xx, redirects (never followed) and refused addresses fail at once.
An endpoint whose attempts keep failing is disabled, with an activity entry.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import urllib3
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from patron.webhooks import conf
from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.signing import sign_headers
from patron.webhooks.ssrf import UnsafeURL, post, target_for
from patron.webhooks.vault import SecretUnreadable, decrypt

logger = logging.getLogger(__name__)
LEASE = dt.timedelta(minutes=10)
USER_AGENT = "Patron-Webhooks/1"
RETRY_STATUS = frozenset({408, 429})


@dataclass(frozen=True)
class Job:
    delivery_id: int
    endpoint_id: int
    url: str
    event_id: str
    body: bytes
    secrets: tuple[str, ...]
    attempt: int


@dataclass(frozen=True)
class Outcome:
    ok: bool
    retry: bool
    status_code: int | None
    error: str
    retry_after: float | None = None


def body_of(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> tuple[str, ...]:
    """The secrets that sign now, decrypted (the previous one only during its grace)."""
    out = [decrypt(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires is not None and expires > now:
        out.append(decrypt(endpoint.previous_secret_encrypted))
    return tuple(out)


def _retry_after(raw: str | None) -> float | None:
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - timezone.now()).total_seconds(), 0.0)


def _network_error(exc: Exception) -> str:
    """A fixed, short description (exception texts can carry the URL and its query)."""
    if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return "timed out waiting for the answer"
    if isinstance(exc, urllib3.exceptions.SSLError):
        return "TLS handshake or certificate error"
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # before its base class
        return "connection failed"
    if isinstance(exc, urllib3.exceptions.ConnectTimeoutError):
        return "connect timeout"
    if isinstance(exc, urllib3.exceptions.ProtocolError):
        return "connection broken"
    return "network error"


def attempt(job: Job) -> Outcome:
    """One HTTP attempt (no database access: runs in worker threads)."""
    if not job.secrets:  # never sent unsigned; retried, so restoring the key lets it go
        return Outcome(False, True, None, "the signing secret cannot be decrypted (keys changed?)")
    try:
        target = target_for(job.url)
    except UnsafeURL as exc:
        return Outcome(False, False, None, f"refused: {exc}"[:300])
    except OSError:
        return Outcome(False, True, None, "the host could not be resolved")
    headers = {
        **sign_headers(job.secrets, job.event_id, job.body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        response = post(target, job.body, headers)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Outcome(False, True, None, _network_error(exc))
    code = response.status
    if 200 <= code < 300:
        return Outcome(True, False, code, "")
    if 300 <= code < 400:
        return Outcome(False, False, code, f"HTTP {code}: redirects are not followed")
    retry = code >= 500 or code in RETRY_STATUS
    after = _retry_after(response.retry_after) if code in (429, 503) else None
    return Outcome(False, retry, code, f"HTTP {code}", after)


def backoff(attempts: int, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: doubling from the base, capped, with jitter."""
    if retry_after is not None:
        return min(max(retry_after, 1.0), float(conf.get("PATRON_WEBHOOKS_RETRY_AFTER_CAP")))
    base = float(conf.get("PATRON_WEBHOOKS_BACKOFF_BASE"))
    cap = float(conf.get("PATRON_WEBHOOKS_BACKOFF_CAP"))
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (jitter, not secrecy)


def claim(now: dt.datetime, limit: int, delivery_ids: list[int] | None = None) -> list[Job]:
    """Take up to ``limit`` due deliveries: count the attempt and lease them."""
    with transaction.atomic():
        qs = WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING,
            next_attempt_at__lte=now,
            endpoint__is_active=True,
        )
        if delivery_ids is not None:
            qs = qs.filter(pk__in=delivery_ids)
        qs = qs.order_by("next_attempt_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True, of=("self",))
        rows = list(qs.select_related("endpoint")[:limit])
        if not rows:
            return []
        WebhookDelivery.objects.filter(pk__in=[r.pk for r in rows]).update(
            attempts=F("attempts") + 1, next_attempt_at=now + LEASE, updated_at=now
        )
    keys: dict[int, tuple[str, ...]] = {}  # decrypt each endpoint's secrets once a batch
    for r in rows:
        if r.endpoint_id not in keys:
            try:
                keys[r.endpoint_id] = signing_secrets(r.endpoint, now)
            except SecretUnreadable:
                logger.error("webhooks: endpoint %s's secret cannot be decrypted", r.endpoint_id)
                keys[r.endpoint_id] = ()
    return [
        Job(
            delivery_id=r.pk,
            endpoint_id=r.endpoint_id,
            url=r.endpoint.url,
            event_id=r.event_id,
            body=body_of(r.payload),
            secrets=keys[r.endpoint_id],
            attempt=r.attempts + 1,
        )
        for r in rows
    ]


def record(job: Job, outcome: Outcome, now: dt.datetime) -> str:
    """Write one attempt's outcome; disable the endpoint when failures pile up."""
    max_attempts = int(conf.get("PATRON_WEBHOOKS_MAX_ATTEMPTS"))
    S = WebhookDelivery.Status
    fields: dict[str, object] = {
        "last_status_code": outcome.status_code,
        "last_error": outcome.error[:300],
        "updated_at": now,
    }
    if outcome.ok:
        fields.update(status=S.SUCCEEDED, next_attempt_at=None, delivered_at=now)
    elif outcome.retry and job.attempt < max_attempts:
        delay = backoff(job.attempt, outcome.retry_after)
        fields.update(status=S.PENDING, next_attempt_at=now + dt.timedelta(seconds=delay))
    else:
        fields.update(status=S.DEAD if outcome.retry else S.FAILED, next_attempt_at=None)
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=job.delivery_id, status=S.PENDING).update(**fields)
        endpoints = WebhookEndpoint.objects.filter(pk=job.endpoint_id)
        if outcome.ok:
            endpoints.filter(consecutive_failures__gt=0).update(consecutive_failures=0)
        else:
            endpoints.update(consecutive_failures=F("consecutive_failures") + 1)
            _maybe_disable(job.endpoint_id)
    return str(fields["status"])


def _maybe_disable(endpoint_id: int) -> None:
    from patron.webhooks.services.endpoints import endpoint_set_active

    limit = int(conf.get("PATRON_WEBHOOKS_DISABLE_AFTER"))
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, is_active=True).first()
    if endpoint is not None and endpoint.consecutive_failures >= limit:
        endpoint_set_active(
            actor=None,
            endpoint=endpoint,
            active=False,
            reason=f"Disabled after {endpoint.consecutive_failures} failed attempts in a row.",
        )


def deliveries_send_due(
    *, max_seconds: float = 50.0, delivery_ids: list[int] | None = None
) -> tuple[int, bool]:
    """Send due deliveries until none are left or time runs out: (attempts made, more due)."""
    started = time.monotonic()
    batch = int(conf.get("PATRON_WEBHOOKS_BATCH"))
    threads = int(conf.get("PATRON_WEBHOOKS_THREADS"))
    done = 0
    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
        while time.monotonic() - started < max_seconds:
            jobs = claim(timezone.now(), batch, delivery_ids)
            if not jobs:
                return done, False
            for job, outcome in zip(jobs, pool.map(attempt, jobs), strict=True):
                try:
                    record(job, outcome, timezone.now())
                except Exception:  # the lease expires and the next run retries it
                    logger.exception("webhooks: could not record delivery %s", job.delivery_id)
                done += 1
    due = next_due()
    return done, due is not None and due <= timezone.now()


def next_due() -> dt.datetime | None:
    """When the earliest pending delivery of an active endpoint is due."""
    return (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, endpoint__is_active=True
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
