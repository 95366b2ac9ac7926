"""The processor finds waiting events through the partial index, not a table scan."""

from __future__ import annotations

import pytest
from django.db import connection

from patron.events.services.processing import oldest_unprocessed_sql

pytestmark = pytest.mark.django_db


def test_oldest_unprocessed_query_reads_the_partial_index():
    # given the processor's query for the oldest waiting events
    sql = oldest_unprocessed_sql().replace("%s", "10")
    # when the database plans it
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        else:
            cursor.execute("SET LOCAL enable_seqscan = off")  # tiny test table
            cursor.execute("EXPLAIN " + sql)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    # then it reads event_unprocessed_idx instead of scanning every event
    assert "event_unprocessed_idx" in plan, plan
