"""What the shared API rate-limit counter costs per request (ADR 0070).

In one process, on a throw-away database, alternating rounds of:

1. the counter alone: the old per-process cache counter (``cache.add`` + ``cache.incr``
   in Django's local-memory cache) against the database upsert (``ratelimit.hit``);
2. a whole API request (``GET /api/v1/contacts?limit=10`` with an API key, 10 contacts)
   with the throttle counting in the local-memory cache against counting in the database.

Prints microseconds per call (median of the rounds) and the load average before/after.

    flock /tmp/patron-bench.lock nice -n 0 .venv/bin/python benchmarks/ratelimit_cost.py --db sqlite
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.webhooks_outbox import drop, load, setup  # noqa: E402


def _time(fn: Callable[[], Any], n: int) -> float:
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def _cache_hit(key: str, window: int) -> int:
    """The counter as it was before ADR 0070 (per process)."""
    from django.core.cache import cache

    slot = int(time.time() // window)
    cache_key = f"patron:api-rate:{key}:{window}:{slot}"
    cache.add(cache_key, 0, timeout=window + 1)
    return int(cache.incr(cache_key))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--requests", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        name = setup(args.db, tmp)
        try:
            run(args)
        finally:
            drop(name)


def run(args: argparse.Namespace) -> None:
    from unittest import mock

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from patron.accounts.services import apikey_create, roles_ensure_defaults
    from patron.contacts.models import Contact
    from patron.core import api_base
    from patron.ratelimit import services as ratelimit

    settings.ALLOWED_HOSTS = ["*"]
    settings.PATRON_API_RATE_LIMIT = 10**9
    roles_ensure_defaults()
    _, raw = apikey_create(actor=None, name="bench", role_key="admin")
    Contact.objects.bulk_create(Contact(first_name=f"C{i}") for i in range(10))
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    assert client.get("/api/v1/contacts?limit=10").status_code == 200

    def cache_counter(key: str, window: int, now: float | None = None) -> Any:
        return ratelimit.Hit(_cache_hit(key, window), (int(time.time() // window) + 1) * window)

    def request() -> None:
        client.get("/api/v1/contacts?limit=10")

    def persistence(kind: str) -> None:  # PostgreSQL: the table as migrated, or logged
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE ratelimit_ratecounter SET {kind}")

    variants = ["UNLOGGED", "LOGGED"] if connection.vendor == "postgresql" else ["as migrated"]
    print(f"db={args.db} load before: {load()}")
    rows: dict[str, list[float]] = {"cache": [], "req_cache": []}
    for _ in range(args.rounds):
        rows["cache"].append(_time(lambda: _cache_hit("api:x", 60), args.calls))
        with mock.patch.object(ratelimit, "hit", cache_counter):
            rows["req_cache"].append(_time(request, args.requests))
        for kind in variants:
            persistence(kind)
            rows.setdefault(f"db {kind}", []).append(
                _time(lambda: ratelimit.hit("api:x", 60), args.calls)
            )
            rows.setdefault(f"req {kind}", []).append(_time(request, args.requests))
    persistence("UNLOGGED")
    assert api_base.ApiKeyThrottle  # the throttle under test imports ratelimit.hit per call
    med = {k: statistics.median(v) for k, v in rows.items()}
    for kind in variants:
        db, req = med[f"db {kind}"], med[f"req {kind}"]
        print(
            f"[{kind}] counter alone: cache {med['cache']:.1f} us, database upsert {db:.1f} us; "
            f"API request: cache-counted {med['req_cache']:.0f} us, database-counted "
            f"{req:.0f} us (+{req - med['req_cache']:.0f} us, x{req / med['req_cache']:.3f})"
        )
    print(f"load after: {load()}")


if __name__ == "__main__":
    os.environ.setdefault("PATRON_SECRETS_KEY", "")
    main()
