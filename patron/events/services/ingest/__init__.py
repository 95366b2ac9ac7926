"""Ingest: validate Segment-spec messages and store them durably, once per message id.

Only validation and one batched insert happen here (inside the HTTP request); identity
resolution, profiles and aggregates run after commit in the processor (``processing``).
What a valid message is: ``messages``; how the rows are written: ``insert``; the write
service itself (and its group commit on SQLite) is here.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from patron.events.models import RejectedMessage, Source
from patron.events.services.ingest.insert import (
    COLUMNS,
    events_insert,
    sqlite_execute,
    sqlite_statements,
)
from patron.events.services.ingest.messages import (
    EARLIEST,
    FUTURE_TOLERANCE,
    MAX_BATCH_BYTES,
    MAX_DEPTH,
    MAX_ID_LENGTH,
    MAX_MESSAGE_BYTES,
    TYPES,
    MessageError,
    build_event,
    dump_json,
    message_id_for,
    parse_time,
)
from patron.events.services.ingest_wal import checkpoints_aside
from patron.events.services.ingest_writer import Job, file_database, writer_for

__all__ = [
    "COLUMNS",
    "EARLIEST",
    "FUTURE_TOLERANCE",
    "GROUP_COMMIT",
    "MAX_BATCH_BYTES",
    "MAX_DEPTH",
    "MAX_ID_LENGTH",
    "MAX_MESSAGE_BYTES",
    "TYPES",
    "IngestResult",
    "MessageError",
    "build_event",
    "dump_json",
    "events_ingest",
    "events_insert",
    "message_id_for",
    "parse_time",
    "rejections_record",
    "sqlite_execute",
    "sqlite_statements",
]


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)


#: SQLite: requests' writes committed in groups by a writer thread (ingest_writer).
GROUP_COMMIT = True


def _excerpt(raw: Any) -> str:
    try:
        text = json.dumps(raw, separators=(",", ":"), default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(raw)
    return text[:2000]


# --- the write service --------------------------------------------------------------------


def events_ingest(
    *,
    source: Source,
    messages: list[Any],
    received_at: dt.datetime | None = None,
    batch_context: Mapping[str, Any] | None = None,
    batch_integrations: Mapping[str, Any] | None = None,
    batch_sent_at: dt.datetime | None = None,
    forced_type: str | None = None,
    check_nul: bool = True,
) -> IngestResult:
    """Validate messages one by one and store the valid ones in one batched insert.

    A message id already stored for the source (or repeated in this batch) is skipped, so
    retries never create a second event. Invalid messages go to the debugger's ring
    buffer with their reason and are counted on the source. Processing is scheduled for
    after commit.

    Validation runs before the write transaction: on SQLite that transaction holds the
    database's one write lock, so it contains only the inserts; and its commit leaves
    the WAL checkpoint to a thread (``ingest_wal``), so that no request waits for one.
    On a SQLite file, outside a caller's transaction, that transaction is shared with
    the other requests waiting at the same moment, and this call returns once it is
    committed (``ingest_writer``, docs/adr/0081-sqlite-ingest-group-commit.md).

    The actor is the source itself (write-key authentication); the events are the
    record of this write, so no activity entry is added per request (see
    docs/adr/0004-tracking-ingest.md).
    """
    received_at = received_at or timezone.now()
    result = IngestResult()
    rows: dict[str, dict[str, Any]] = {}
    rejected: list[RejectedMessage] = []
    for index, raw in enumerate(messages):
        try:
            row = build_event(
                raw,
                source=source,
                received_at=received_at,
                batch_context=batch_context,
                batch_integrations=batch_integrations,
                batch_sent_at=batch_sent_at,
                forced_type=forced_type,
                check_nul=check_nul,
            )
        except MessageError as exc:
            reason = str(exc)
            result.rejected.append({"index": index, "reason": reason})
            rejected.append(
                RejectedMessage(
                    source=source,
                    received_at=received_at,
                    type=str(raw.get("type", forced_type or ""))[:20]
                    if isinstance(raw, dict)
                    else "",
                    message_id=str(raw.get("messageId", ""))[:200] if isinstance(raw, dict) else "",
                    reason=reason[:300],
                    payload=_excerpt(raw),
                )
            )
            continue
        if row["message_id"] in rows:
            result.duplicates += 1
            continue
        rows[row["message_id"]] = row
    if not rows and not rejected:
        return result
    from patron.events.tasks import events_process_schedule

    values = list(rows.values())
    path = None if connection.in_atomic_block else file_database()
    grouped = path is not None and GROUP_COMMIT
    statements = sqlite_statements(values) if grouped and values else []

    def write() -> int:
        # ON CONFLICT DO NOTHING: a retry, or a concurrent request with the same ids.
        accepted = sqlite_execute(statements) if grouped else events_insert(values)
        if rejected:
            for item in rejected:  # written again after a rolled-back group: new ids
                item.pk = None
            rejections_record(source_id=source.pk, rejected=rejected)
        return accepted

    if grouped:
        assert path is not None
        # SQLite: this process's writer commits it with the other requests waiting now.
        job = writer_for(path).submit(
            Job(write=write, events=len(values) + len(rejected), on_commit=events_process_schedule)
        )
        result.accepted = job.accepted
    else:
        # SQLite: the commit does not checkpoint the WAL; a thread does, after (ingest_wal).
        with checkpoints_aside(), transaction.atomic():
            result.accepted = write()
            if result.accepted:
                transaction.on_commit(events_process_schedule)
    result.duplicates += len(rows) - result.accepted
    return result


def rejections_record(*, source_id: int, rejected: list[RejectedMessage]) -> None:
    """Append to the source's debugger ring buffer (newest ``KEEP``) and count them."""
    RejectedMessage.objects.bulk_create(rejected)
    Source.objects.filter(pk=source_id).update(rejected_count=F("rejected_count") + len(rejected))
    cutoff = (
        RejectedMessage.objects.filter(source_id=source_id)
        .order_by("-id")
        .values_list("id", flat=True)[RejectedMessage.KEEP : RejectedMessage.KEEP + 1]
    )
    ids = list(cutoff)
    if ids:
        RejectedMessage.objects.filter(source_id=source_id, id__lte=ids[0]).delete()
