"""Shared fixed-window counters: atomic, shared between processes, windows that roll
over, clocks that disagree; and the API's 429 when another process used the budget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from patron.ratelimit.models import RateCounter
from patron.ratelimit.services import hit

ROOT = Path(__file__).resolve().parents[3]
WINDOW = 10**9  # one window for the whole test run: no roll-over in the middle of a test
SCRIPT = """
import os, sys
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "patron.settings"
django.setup()
from patron.ratelimit.services import hit
key, n, window = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
counts = [hit(key, window).count for _ in range(n)]
print(len([c for c in counts if c]), max(counts))
"""


def _database_url() -> str:
    """The URL of the test database this process uses (committed rows are visible)."""
    cfg = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{cfg['NAME']}"
    host, port = cfg.get("HOST") or "127.0.0.1", cfg.get("PORT") or 5432
    auth = cfg.get("USER") or "postgres"
    if cfg.get("PASSWORD"):
        auth += f":{cfg['PASSWORD']}"
    return f"postgres://{auth}@{host}:{port}/{cfg['NAME']}"


def _processes(key: str, n: int, count: int) -> list[tuple[int, int]]:
    """``count`` separate Python processes, started together, each counting ``n`` hits."""
    env = {**os.environ, "DATABASE_URL": _database_url()}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, key, str(n), str(WINDOW)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(count)
    ]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr[-2000:]
        counted, top = stdout.split()
        out.append((int(counted), int(top)))
    return out


@pytest.mark.django_db
def test_counts_in_one_window_and_starts_again_in_the_next() -> None:
    assert [hit("k", 60, now=1_000.0).count for _ in range(3)] == [1, 2, 3]
    later = hit("k", 60, now=1_019.0)  # 1000 // 60 == 1019 // 60 == 16
    assert later.count == 4 and later.window_ends == 17 * 60
    assert hit("k", 60, now=1_020.0).count == 1  # the next window
    assert hit("other", 60, now=1_000.0).count == 1  # keys have their own counters
    assert RateCounter.objects.count() == 2  # one row per key, whatever the windows


@pytest.mark.django_db
def test_a_lagging_clock_counts_into_the_newer_window() -> None:
    assert hit("k", 60, now=6_000.0).count == 1  # window 100, from a server ahead
    behind = hit("k", 60, now=5_990.0)  # window 99, from a server behind
    assert behind.count == 2 and behind.window_ends == 101 * 60
    assert RateCounter.objects.get(key="k").slot == 100


@pytest.mark.django_db(transaction=True)
def test_separate_processes_share_one_exact_count() -> None:
    """Two processes at once, 150 hits each: every hit counted once, none lost."""
    results = _processes("shared", 150, 2)
    assert [counted for counted, _ in results] == [150, 150]
    assert RateCounter.objects.get(key="shared").count == 300
    assert max(top for _, top in results) == 300
    assert hit("shared", WINDOW).count == 301  # and this process sees the same counter


@pytest.mark.django_db(transaction=True)
def test_the_api_refuses_a_key_whose_budget_another_process_used(
    settings: Any, make_api_key: Any
) -> None:
    settings.PATRON_API_RATE_LIMIT = 5
    settings.PATRON_API_RATE_WINDOW = WINDOW
    raw = make_api_key("admin")
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/contacts").status_code == 200  # 1 of 5, here
    _processes(f"api:{raw[:12]}", 4, 1)  # 4 more in another process (another worker)
    response = client.get("/api/v1/contacts")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert RateCounter.objects.get(key=f"api:{raw[:12]}").count == 6


@pytest.mark.django_db(transaction=True)
def test_sqlite_lets_a_request_through_uncounted_rather_than_wait_for_a_long_write() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL row locks are held for one statement only")
    import sqlite3
    import time

    assert hit("busy", WINDOW).count == 1
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock (an import)
        started = time.monotonic()
        assert hit("busy", WINDOW).count == 0  # through, not counted
        assert time.monotonic() - started < 5  # not the 20 s busy timeout
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert hit("busy", WINDOW).count == 2
    with connection.cursor() as cursor:  # the connection's own wait is back to normal
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20_000


@pytest.mark.django_db
def test_on_postgresql_the_counter_table_writes_no_wal() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("UNLOGGED is a PostgreSQL table kind")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = %s",
            [RateCounter._meta.db_table],
        )
        assert cursor.fetchone()[0] == "u"
