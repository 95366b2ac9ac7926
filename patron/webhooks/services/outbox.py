"""The transactional outbox: deliveries are rows written in the caller's transaction.

Nothing is sent here. After the transaction commits, a task sends what is due
(``patron.webhooks.tasks``); if the process dies first, the rows are still there and
the next run's sweep sends them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction

from patron.webhooks.models import WebhookDelivery, WebhookEndpoint

BATCH = 2000


def new_event_id() -> str:
    return "msg_" + uuid.uuid4().hex


def envelope(event_type: str, occurred_at: dt.datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body every event has: ``{"type", "timestamp", "data"}`` (Standard Webhooks)."""
    return {"type": event_type, "timestamp": occurred_at.isoformat(), "data": data}


def contact_of(payload: dict[str, Any]) -> int | None:
    """The contact an event is about: ``data.contact.id`` of the envelope, if any."""
    data = payload.get("data")
    contact = data.get("contact") if isinstance(data, dict) else None
    pk = contact.get("id") if isinstance(contact, dict) else None
    return pk if isinstance(pk, int) and not isinstance(pk, bool) else None


def _active() -> list[WebhookEndpoint]:
    return list(
        WebhookEndpoint.objects.filter(is_active=True).only("pk", "event_types", "segment_ids")
    )


def endpoints_for(
    event_type: str,
    segment_id: int | None = None,
    candidates: Sequence[WebhookEndpoint] | None = None,
) -> list[WebhookEndpoint]:
    """Active endpoints subscribed to this event (and segment): one query at most."""
    out = []
    for ep in _active() if candidates is None else candidates:
        if event_type not in (ep.event_types or []):
            continue
        if segment_id is not None and ep.segment_ids and segment_id not in ep.segment_ids:
            continue
        out.append(ep)
    return out


def _schedule() -> None:
    from patron.webhooks.tasks import deliver_schedule

    transaction.on_commit(deliver_schedule)


#: Columns written per delivery (the rest keep their defaults: NULL, "" or 0).
_COLUMNS = (
    "endpoint_id",
    "event_id",
    "event_type",
    "contact_id",
    "payload",
    "status",
    "attempts",
    "last_error",
    "next_attempt_at",
    "created_at",
    "updated_at",
)


def _insert_sql() -> str:
    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in _COLUMNS)
    marks = ", ".join(["%s"] * len(_COLUMNS))
    table = qn(WebhookDelivery._meta.db_table)  # names from the model, values as parameters
    return f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608


def deliveries_create(
    endpoints: Sequence[WebhookEndpoint],
    events: Iterable[tuple[str, str, dict[str, Any]]],
    now: dt.datetime,
) -> int:
    """One delivery per (endpoint, event), in bulk; events are (event_id, type, payload).

    A plain multi-row INSERT (``executemany``) rather than ``bulk_create``: each payload
    is serialised once for all endpoints and no model instance is built per row, which
    made the ORM path the larger part of a big segment build. Values go through the
    fields' own database preparation, so both databases store what the ORM would.
    """
    if not endpoints:
        return 0
    meta = WebhookDelivery._meta
    payload_field = meta.get_field("payload")
    at = meta.get_field("created_at").get_db_prep_save(now, connection)  # type: ignore[union-attr]
    pending = WebhookDelivery.Status.PENDING.value
    sql = _insert_sql()
    made = 0
    rows: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for event_id, event_type, payload in events:
            body = payload_field.get_db_prep_save(payload, connection)  # type: ignore[union-attr]
            contact = contact_of(payload)
            for ep in endpoints:
                rows.append(
                    (ep.pk, event_id, event_type, contact, body, pending, 0, "", at, at, at)
                )
            if len(rows) >= BATCH:
                cursor.executemany(sql, rows)
                made += len(rows)
                rows = []
        if rows:
            cursor.executemany(sql, rows)
            made += len(rows)
    if made:
        _schedule()
    return made


def enqueue_segment_changes(
    *,
    segment_id: int,
    segment_name: str,
    entered: Sequence[int],
    exited: Sequence[int],
    occurred_at: dt.datetime,
) -> int:
    """Deliveries for contacts entering/leaving a segment, for every subscribed endpoint.

    Call inside the transaction that records the transitions. One query to find the
    endpoints, then bulk inserts (no query per contact). The payload holds ids, the
    segment's name and the time only: nothing a field permission could mask.
    """
    if not entered and not exited:
        return 0
    active = _active()
    wanted = {
        kind: endpoints_for(kind, segment_id, active)
        for kind, ids in (("segment.entered", entered), ("segment.exited", exited))
        if ids
    }
    if not any(wanted.values()):
        return 0
    segment = {"id": segment_id, "name": segment_name[:200]}
    at = occurred_at.isoformat()
    made = 0
    for kind, ids in (("segment.entered", entered), ("segment.exited", exited)):
        endpoints = wanted.get(kind) or []
        if not endpoints:
            continue
        events = (
            (
                new_event_id(),
                kind,
                envelope(
                    kind,
                    occurred_at,
                    {"segment": segment, "contact": {"id": int(cid)}, "occurred_at": at},
                ),
            )
            for cid in ids
        )
        made += deliveries_create(endpoints, events, occurred_at)
    return made


def deliveries_erase(contact_ids: Sequence[int]) -> int:
    """Delete every delivery about these contacts, pending or past (privacy erasure).

    Pending ones are never sent: a claimed one whose row is gone records nothing (its
    outcome update matches no row). Returns how many were deleted.
    """
    ids = [int(c) for c in contact_ids]
    if not ids:
        return 0
    deleted, _ = WebhookDelivery.objects.filter(contact_id__in=ids).delete()
    return deleted
