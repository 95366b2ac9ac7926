"""Whole-database duplicate scan at scale: time, peak memory, and accuracy on planted pairs.

Fills a throw-away database with N contacts (Faker name lists, emails, E.164 phones,
postcodes, birthdays) of which about 20% are planted duplicates of an earlier contact
with one or two alterations (typo, nickname, swapped names, moved house, new email,
missing fields); the entity is kept in ``external_id`` as ground truth. Then runs the
service behind ``patron dedupe scan`` (Splink on DuckDB, training included) and reports
wall time per step, peak RSS of the process, pairs written, and precision/recall/F1.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/patron \\
        .venv/bin/python benchmarks/dedupe_scan.py --contacts 1000000

The database (``<name>_bench_scan``) is created and dropped by the script (--keep,
--reuse to keep and reuse a filled one).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import random
import resource
import string
import sys
import time
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _bench_url(url: str) -> tuple[str, str]:
    import dj_database_url

    cfg = dj_database_url.parse(url)
    name = f"{cfg['NAME']}_bench_scan"
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


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word))
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def fill(n: int, seed: int = 7) -> float:
    from faker import Faker

    from patron.contacts.models import Contact
    from patron.hygiene.normalize import contact_keys_refresh
    from patron.hygiene.normalize.name import _NICKNAMES

    fake = Faker(["en_US", "de_DE", "fr_FR"])
    Faker.seed(seed)
    rng = random.Random(seed)
    firsts = list({fake.first_name() for _ in range(3000)} | {n.title() for n in _NICKNAMES})
    lasts = list({fake.last_name() for _ in range(8000)})
    domains = ["gmail.com", "yahoo.com", "example.com", "web.de", "orange.fr", "acme.io"]
    t0 = time.perf_counter()
    batch: list[Contact] = []
    recent: list[tuple[int, dict[str, object]]] = []
    entity = 0
    for made in range(n):
        if recent and rng.random() < 0.2:
            ent, v = rng.choice(recent)
            v = dict(v)
            for change in rng.sample(
                ["typo", "nickname", "swap", "moved", "email", "missing"], rng.randint(1, 2)
            ):
                if change == "typo":
                    v["last_name"] = _typo(rng, str(v["last_name"]))
                elif change == "nickname" and str(v["first_name"]).lower() in _NICKNAMES:
                    v["first_name"] = rng.choice(_NICKNAMES[str(v["first_name"]).lower()]).title()
                elif change == "swap":
                    v["first_name"], v["last_name"] = v["last_name"], v["first_name"]
                elif change == "moved":
                    v["postal_code"] = f"{rng.randint(1000, 99999):05d}"
                    v["city"] = fake.city()
                elif change == "email":
                    v["email"] = f"{str(v['first_name'])[:1]}{v['last_name']}@acme.io".lower()
                elif change == "missing":
                    v[rng.choice(["phone", "postal_code", "email"])] = ""
                    v["birthday"] = None
        else:
            entity += 1
            ent = entity
            first, last = rng.choice(firsts), rng.choice(lasts)
            v = {
                "first_name": first,
                "last_name": last,
                "email": f"{first}.{last}{rng.randint(1, 9999)}@{rng.choice(domains)}".lower(),
                "phone": f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
                "postal_code": f"{rng.randint(1000, 99999):05d}",
                "city": fake.city(),
                "birthday": date(1950, 1, 1) + timedelta(days=rng.randint(0, 20000))
                if rng.random() < 0.7
                else None,
                "country": "US",
            }
            recent.append((ent, v))
            if len(recent) > 5000:
                recent.pop(rng.randrange(len(recent)))
        c = Contact(
            full_name=f"{v['first_name']} {v['last_name']}",
            external_id=f"e{ent}-{made}",
            **v,  # type: ignore[arg-type]
        )
        contact_keys_refresh(c)
        batch.append(c)
        if len(batch) == 5000:
            Contact.objects.bulk_create(batch)
            batch = []
            if made % 100_000 < 5000:
                print(f"  {made + 1:,} contacts", file=sys.stderr)
    if batch:
        Contact.objects.bulk_create(batch)
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse", action="store_true")
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
    from django.db import connection, connections

    from patron.contacts.models import Contact
    from patron.hygiene.models import DuplicateCandidate
    from patron.hygiene.services.scan import duplicates_scan

    try:
        call_command("migrate", verbosity=0)
        load_s = 0.0
        if not args.reuse:
            load_s = fill(args.contacts)
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE contacts_contact")
        n = Contact.objects.count()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        steps: dict[str, float] = {}
        last = [time.perf_counter()]

        def progress(step: str, done: int, total: int) -> None:
            now = time.perf_counter()
            steps[step] = steps.get(step, 0.0) + now - last[0]
            last[0] = now

        t0 = time.perf_counter()
        result = duplicates_scan(actor=None, engine="splink", progress=progress)
        scan_s = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        entity_of = dict(Contact.objects.values_list("pk", "external_id").iterator(50_000))
        groups: dict[str, list[int]] = defaultdict(list)
        for pk, ext in entity_of.items():
            groups[ext.split("-")[0]].append(pk)
        truth = {
            p for members in groups.values() for p in itertools.combinations(sorted(members), 2)
        }
        found = set(
            DuplicateCandidate.objects.values_list("contact_a_id", "contact_b_id").iterator(50_000)
        )
        tp = len(found & truth)
        precision = tp / len(found) if found else 0.0
        recall = tp / len(truth) if truth else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.platform()}")
        print(f"date: {date.today().isoformat()}; load average {os.getloadavg()}")
        print(f"contacts: {n:,} (filled in {load_s:.0f} s)")
        timing = ", ".join(f"{k} {v:.0f}s" for k, v in steps.items())
        print(f"scan: {scan_s:.0f} s wall; steps {timing}")
        print(f"peak RSS: {rss / 1024:.0f} MB (before the scan: {rss0 / 1024:.0f} MB)")
        print(
            f"pairs written: {result.candidates:,} in {result.clusters:,} clusters; "
            f"precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f} "
            f"({len(truth):,} planted pairs)"
        )
    finally:
        connections.close_all()
        if not args.keep:
            _admin(base, f'DROP DATABASE IF EXISTS "{dbname}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
