"""Real-time duplicate check latency at scale (the issue's target: p95 < 20 ms at 1M).

Fills a throw-away PostgreSQL database with N synthetic contacts (names from Faker's
lists, emails, E.164 phones, postcodes, birthdays, 5% planted duplicates), then times the
check that runs for the contact screen and the API (``duplicate_candidates_find``: one
index-backed blocking query, profile loading, rapidfuzz scoring) for random contacts.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron \\
        .venv/bin/python benchmarks/dedupe_realtime.py --contacts 1000000 --samples 1000

The benchmark database (``<name>_bench_dedupe``) is created and dropped by the script.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _bench_url(url: str) -> tuple[str, str]:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    name = f"{cfg['NAME']}_bench_dedupe"
    return url.rsplit("/", 1)[0] + "/" + name, name


def _admin(url: str, sql: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or None, user=cfg["USER"], dbname="postgres",
        password=cfg.get("PASSWORD") or None, autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(sql)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    parser.add_argument("--reuse", action="store_true", help="Reuse a kept database.")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a PostgreSQL server.", file=sys.stderr)
        return 2
    url, dbname = _bench_url(base)
    if not args.reuse:
        _admin(base, f'DROP DATABASE IF EXISTS "{dbname}"')
        _admin(base, f'CREATE DATABASE "{dbname}"')
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from faker import Faker

    from patron.contacts.models import Contact
    from patron.hygiene.normalize import contact_keys_refresh
    from patron.hygiene.selectors import duplicate_candidates_find

    try:
        call_command("migrate", verbosity=0)
        fake = Faker(["en_US", "de_DE", "fr_FR"])
        Faker.seed(7)
        rng = random.Random(7)
        firsts = list({fake.first_name() for _ in range(3000)})
        lasts = list({fake.last_name() for _ in range(8000)})
        domains = ["gmail.com", "yahoo.com", "example.com", "web.de", "orange.fr", "acme.io"]
        t0 = time.perf_counter()
        batch: list[Contact] = []
        made = 0
        if args.reuse:
            made = args.contacts = Contact.objects.count()
        while made < args.contacts:
            first, last = rng.choice(firsts), rng.choice(lasts)
            if made and rng.random() < 0.05:  # a planted near-duplicate of a recent one
                src = batch[-1] if batch else None
                if src is not None:
                    first, last = src.first_name, src.last_name
            c = Contact(
                first_name=first,
                last_name=last,
                full_name=f"{first} {last}",
                email=f"{first}.{last}{rng.randint(1, 9999)}@{rng.choice(domains)}".lower(),
                phone=f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
                postal_code=f"{rng.randint(1000, 99999):05d}",
                birthday=date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000)),
                country="US",
            )
            contact_keys_refresh(c)
            batch.append(c)
            made += 1
            if len(batch) == 5000:
                Contact.objects.bulk_create(batch)
                batch = []
        if batch:
            Contact.objects.bulk_create(batch)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE contacts_contact")
        load_s = time.perf_counter() - t0
        max_id = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ids = [rng.randint(1, max_id) for _ in range(args.samples)]
        targets = Contact.objects.in_bulk(ids)
        for pk in ids[:50]:  # warm caches
            if pk in targets:
                duplicate_candidates_find(targets[pk], within=Contact.objects.all())
        times: list[float] = []
        found = 0
        for pk in ids:
            if pk not in targets:
                continue
            start = time.perf_counter()
            res = duplicate_candidates_find(targets[pk], within=Contact.objects.all())
            times.append((time.perf_counter() - start) * 1000)
            found += bool(res)
        times.sort()
        p = lambda q: times[min(len(times) - 1, int(q * len(times)))]  # noqa: E731
        print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}")
        print(f"date: {date.today().isoformat()}")
        print(f"contacts: {args.contacts:,} (loaded in {load_s:.0f} s)")
        print(
            f"real-time check over {len(times)} random contacts: "
            f"p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, p99 {p(0.99):.1f} ms, "
            f"mean {statistics.mean(times):.1f} ms; {found} had candidates"
        )
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(base, f'DROP DATABASE IF EXISTS "{dbname}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
