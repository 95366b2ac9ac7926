"""Helpers shared by the event processor tests (test_processing_*.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from patron.contacts.models import Contact
from patron.events.services.ingest import events_ingest
from patron.events.services.processing import events_process_pending

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
_ids = iter(range(1, 1_000_000))


def at(minutes: float) -> str:
    return (T0 + dt.timedelta(minutes=minutes)).isoformat()


def send(source, *messages: dict[str, Any]) -> None:
    msgs = [{"messageId": f"m{next(_ids)}", **m} for m in messages]
    result = events_ingest(source=source, messages=msgs, received_at=T0 + dt.timedelta(days=1))
    assert not result.rejected, result.rejected


def run() -> int:
    processed, more = events_process_pending()
    assert not more
    return processed


def identities(contact: Contact) -> set[tuple[str, str]]:
    return set(contact.identities.values_list("kind", "value"))
