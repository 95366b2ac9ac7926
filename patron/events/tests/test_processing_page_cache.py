"""The processor's SQLite page cache (``_wal.page_cache``): the size asked for while
batches run, the connection's own size again after, and nothing done on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from patron.events.models import Event
from patron.events.services import processing
from patron.events.services._wal import page_cache
from patron.events.services.ingest import events_ingest

pytestmark = pytest.mark.usefixtures("no_processing")


def _cache_size() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_batches_run_with_the_configured_cache_and_restore_it(
    source_key: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite pragma; PostgreSQL has no per-connection page cache")
    source, _ = source_key
    events_ingest(
        source=source,
        messages=[
            {"type": "track", "userId": f"u{i % 3}", "event": "Clicked", "messageId": f"m{i}"}
            for i in range(5)
        ],
    )
    before = _cache_size()
    settings.PATRON_PROCESSOR_SQLITE_CACHE_MB = 8
    seen: list[int] = []
    inner = processing.events_process_batch

    def spy(**kwargs: Any) -> int:
        seen.append(_cache_size())
        return inner(**kwargs)

    monkeypatch.setattr(processing, "events_process_batch", spy)
    done, more = processing.events_process_pending(batch_size=2)
    assert (done, more) == (5, False)
    assert seen and set(seen) == {-8 * 1024}
    assert _cache_size() == before != -8 * 1024
    assert not Event.objects.filter(processed=False).exists()


@pytest.mark.django_db
def test_zero_or_postgresql_sends_nothing() -> None:
    from django.test.utils import CaptureQueriesContext

    connection.ensure_connection()
    with CaptureQueriesContext(connection) as queries, page_cache(0):
        pass
    assert len(queries) == 0
    if connection.vendor == "postgresql":
        with CaptureQueriesContext(connection) as queries, page_cache(256):
            pass
        assert len(queries) == 0
    else:
        before = _cache_size()
        with page_cache(16):
            assert _cache_size() == -16 * 1024
        assert _cache_size() == before
