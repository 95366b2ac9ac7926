"""Segment evaluation at scale: Patron's compiled queries against hand-written SQL, and
the latency from an accepted event to the membership change.

Generates (once; ``--reuse`` keeps it) a throw-away database with, at ``--scale 1``,
1,000,000 contacts, 10,000,000 track events and 500,000 orders (one line each), plus tags,
consent entries and the per-contact event aggregates; then for five typical segments
(at most five conditions, each with an event window or a purchase aggregate):

- times Patron's compiled query (COUNT over the whole table) and a hand-written SQL query
  for the same segment in the same run, checks that both give the same count, and
  reports the ratio;
- times a full membership build (evaluation + diff against the stored membership);
- with ``--latency N``: starts a task worker, stores N events the way the tracking API
  does (unprocessed, processing enqueued) and measures until the membership row exists.

    .venv/bin/python benchmarks/segments_bench.py --db sqlite --scale 0.1
    .venv/bin/python benchmarks/segments_bench.py --db postgres --scale 1 --latency 50

PostgreSQL: DATABASE_URL's server, database ``<name>_bench_segments`` (created here).
SQLite: ``var/bench_segments_<scale>.sqlite3``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENTS = ["Viewed Product", "Added to Cart", "Signed Up", "Searched", "Opened Email"]
EVENT_WEIGHTS = [50, 15, 2, 25, 8]
COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "BR", "IN", "JP"]
STAGES = ["subscriber", "lead", "customer", "customer", "churned"]
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
LATENCY_MODE = ["not measured"]

SEGMENTS: list[tuple[str, str]] = [
    (
        "engaged customers",
        'lifecycle_stage = "customer" and performed "Viewed Product" at least 3 times '
        "in last 30 days and orders total >= 100",
    ),
    (
        "cart abandoners",
        'performed "Added to Cart" in last 7 days and orders count = 0 in last 7 days',
    ),
    (
        "EU repeat buyers",
        'country in ["DE", "FR", "ES", "IT", "NL"] and orders count >= 2 in last 90 days '
        'and not tag "churn-risk"',
    ),
    (
        "lapsed subscribers",
        'consent email_marketing via email and last performed "Opened Email" more than '
        "60 days ago and orders count = 0 in last 180 days",
    ),
    (
        "new high spenders",
        'created_at in last 90 days and orders average > 80 and performed "Signed Up"',
    ),
]


def hand_sql(vendor: str) -> list[str]:
    """The same five segments written by hand (COUNT of member ids), params: %(now)s."""

    def ago(days: int) -> str:
        return f"%(ago_{days})s"

    now = "%(now)s"
    counted = "o.status IN ('completed', 'partially_refunded')"
    return [
        f"""SELECT COUNT(*) FROM contacts_contact c
            WHERE c.lifecycle_stage = 'customer'
              AND c.id IN (SELECT e.contact_id FROM events_event e
                           WHERE e.type = 'track' AND e.event = 'Viewed Product'
                             AND e.processed AND e.timestamp >= {ago(30)} AND e.timestamp <= {now}
                           GROUP BY e.contact_id HAVING COUNT(*) >= 3)
              AND c.id IN (SELECT o.contact_id FROM commerce_order o WHERE {counted}
                           GROUP BY o.contact_id
                           HAVING SUM(o.total - o.refunded_amount) >= 100)""",
        f"""SELECT COUNT(*) FROM contacts_contact c
            WHERE EXISTS (SELECT 1 FROM events_event e WHERE e.contact_id = c.id
                          AND e.type = 'track' AND e.event = 'Added to Cart' AND e.processed
                          AND e.timestamp >= {ago(7)} AND e.timestamp <= {now})
              AND NOT EXISTS (SELECT 1 FROM commerce_order o WHERE o.contact_id = c.id
                              AND {counted} AND o.placed_at >= {ago(7)}
                              AND o.placed_at <= {now})""",
        f"""SELECT COUNT(*) FROM contacts_contact c
            WHERE c.country IN ('DE', 'FR', 'ES', 'IT', 'NL')
              AND c.id IN (SELECT o.contact_id FROM commerce_order o
                           WHERE {counted} AND o.placed_at >= {ago(90)} AND o.placed_at <= {now}
                           GROUP BY o.contact_id HAVING COUNT(*) >= 2)
              AND NOT EXISTS (SELECT 1 FROM contacts_contact_tags ct JOIN contacts_tag t
                              ON t.id = ct.tag_id
                              WHERE ct.contact_id = c.id AND t.name = 'churn-risk')""",
        f"""SELECT COUNT(*) FROM contacts_contact c
            WHERE EXISTS (SELECT 1 FROM privacy_consent p
                          WHERE p.contact_id = c.id AND p.purpose = 'email_marketing'
                            AND p.channel = 'email' AND p.status = 'granted'
                            AND NOT EXISTS (SELECT 1 FROM privacy_consent q
                                WHERE q.contact_id = p.contact_id AND q.purpose = p.purpose
                                  AND q.channel = p.channel
                                  AND (q.recorded_at > p.recorded_at OR
                                       (q.recorded_at = p.recorded_at AND q.id > p.id))))
              AND EXISTS (SELECT 1 FROM events_contacteventcount k WHERE k.contact_id = c.id
                          AND k.event = 'Opened Email' AND k.last_at < {ago(60)})
              AND NOT EXISTS (SELECT 1 FROM commerce_order o WHERE o.contact_id = c.id
                              AND {counted} AND o.placed_at >= {ago(180)}
                              AND o.placed_at <= {now})""",
        f"""SELECT COUNT(*) FROM contacts_contact c
            WHERE c.created_at >= {ago(90)} AND c.created_at <= {now}
              AND c.id IN (SELECT o.contact_id FROM commerce_order o WHERE {counted}
                           GROUP BY o.contact_id HAVING AVG(o.total - o.refunded_amount) > 80)
              AND EXISTS (SELECT 1 FROM events_contacteventcount k WHERE k.contact_id = c.id
                          AND k.event = 'Signed Up' AND k.count >= 1)""",
    ]


# --- database set-up ------------------------------------------------------------------


def configure(db: str, scale: float) -> str:
    if db == "postgres":
        import dj_database_url

        base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/patron"
        name = f"{dj_database_url.parse(base)['NAME']}_bench_segments"
        url = base.rsplit("/", 1)[0] + "/" + name
        _pg_admin(base, name)
    else:
        (ROOT / "var").mkdir(exist_ok=True)
        url = f"sqlite:///{ROOT / 'var' / f'bench_segments_{scale:g}.sqlite3'}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    import django

    django.setup()
    return url


def _pg_admin(base: str, name: str) -> None:
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(base)
    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or None, user=cfg["USER"], dbname="postgres",
        password=cfg.get("PASSWORD") or None, autocommit=True,
    ) as conn:  # fmt: skip
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def generate(scale: float, seed: int = 7) -> None:
    """Bulk-load synthetic data (skipped when the contacts are there already)."""
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from patron.contacts.models import Contact

    n_contacts = int(1_000_000 * scale)
    if Contact.objects.count() >= n_contacts:
        print(f"reusing {n_contacts:,} contacts")
        return
    rng = random.Random(seed)
    t0 = time.perf_counter()
    pg = connection.vendor == "postgresql"
    ts = (lambda d: d.isoformat()) if pg else _sqlite_ts

    def contacts():
        for i in range(1, n_contacts + 1):
            created = NOW - dt.timedelta(seconds=rng.randint(0, 3 * 365 * 86400))
            yield (
                i, f"First{i % 5000}", f"Last{i % 20000}", f"user{i}@example.com",
                rng.choice(COUNTRIES), rng.choice(STAGES), ts(created), ts(created), "{}",
            )  # fmt: skip

    _load("contacts_contact", ["id", "first_name", "last_name", "email", "country",
          "lifecycle_stage", "created_at", "updated_at", "invalid_fields"], contacts(),
          defaults=_blank_columns("contacts_contact"))  # fmt: skip
    print(f"  contacts {time.perf_counter() - t0:.0f}s", flush=True)

    def events():
        for i in range(int(10_000_000 * scale)):
            # Half the events from an active fifth of the contacts, half from anyone.
            top = n_contacts // 5 if rng.random() < 0.5 else n_contacts
            cid = rng.randint(1, top)
            at = NOW - dt.timedelta(seconds=int(rng.random() ** 2 * 365 * 86400))
            name = rng.choices(EVENTS, EVENT_WEIGHTS)[0]
            props = '{"plan": "pro"}' if i % 3 == 0 else "{}"
            yield (cid, "track", name, ts(at), ts(at), props, "{}", "{}", "{}", True)

    _load("events_event", ["contact_id", "type", "event", "timestamp", "received_at",
          "properties", "traits", "context", "integrations", "processed"], events(),
          defaults=_blank_columns("events_event"))  # fmt: skip
    print(f"  events {time.perf_counter() - t0:.0f}s", flush=True)

    def orders():
        for i in range(1, int(500_000 * scale) + 1):
            cid = rng.randint(1, n_contacts)
            total = f"{rng.choice([9, 19, 29, 49, 79, 120, 250, 400])}.00"
            status = rng.choices(["completed", "refunded", "cancelled", "partially_refunded"],
                                 [90, 4, 4, 2])[0]  # fmt: skip
            at = NOW - dt.timedelta(seconds=rng.randint(0, 2 * 365 * 86400))
            yield (i, cid, status, total, total, "0.00", ts(at), ts(at), ts(at))

    _load("commerce_order", ["id", "contact_id", "status", "subtotal", "total",
          "refunded_amount", "placed_at", "created_at", "updated_at"], orders(),
          defaults=_blank_columns("commerce_order"))  # fmt: skip
    print(f"  orders {time.perf_counter() - t0:.0f}s", flush=True)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO commerce_orderline (order_id, contact_id, sku, name, category,"
            " quantity, unit_price, total) SELECT id, contact_id, 'SKU-' || (id % 50),"
            " 'Product', 'cat' || (id % 7), 1, total, total FROM commerce_order"
        )
        cur.execute("INSERT INTO contacts_tag (name, color, created_at) VALUES"
                    " ('churn-risk', '#64748b', %s)", [ts(NOW)])  # fmt: skip
        cur.execute(
            "INSERT INTO contacts_contact_tags (contact_id, tag_id) SELECT id,"
            " (SELECT id FROM contacts_tag WHERE name = 'churn-risk')"
            " FROM contacts_contact WHERE id % 10 = 0"
        )
        cur.execute(
            "INSERT INTO privacy_consent (contact_id, purpose, channel, status, lawful_basis,"
            " source, wording_version, recorded_at, created_at)"
            " SELECT id, 'email_marketing', 'email', CASE WHEN id % 5 = 0 THEN 'withdrawn'"
            " ELSE 'granted' END, 'consent', 'bench', '', created_at, created_at"
            " FROM contacts_contact WHERE id % 3 <> 0"
        )
        cur.execute(
            "INSERT INTO events_contacteventcount (contact_id, event, count, first_at, last_at)"
            " SELECT contact_id, event, COUNT(*), MIN(timestamp), MAX(timestamp)"
            " FROM events_event GROUP BY contact_id, event"
        )
        cur.execute(
            "INSERT INTO events_contacteventsummary (contact_id, first_seen, last_seen,"
            " event_count, page_views, screen_views, sessions, updated_at)"
            " SELECT contact_id, MIN(timestamp), MAX(timestamp), COUNT(*), 0, 0, 1, MAX(timestamp)"
            " FROM events_event GROUP BY contact_id"
        )
        if pg:
            for table in ("contacts_contact", "commerce_order"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT MAX(id) FROM {table}))"
                )
    if pg:
        import psycopg

        with psycopg.connect(_dsn(), autocommit=True) as c:
            c.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    print(f"generated in {time.perf_counter() - t0:.0f}s", flush=True)


def _sqlite_ts(d: dt.datetime) -> str:
    """A datetime as Django stores it on SQLite (naive UTC, microseconds only if any)."""
    return d.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")


def hand_params(vendor: str) -> dict[str, object]:
    """Bounds computed once, formatted as the database stores datetimes."""
    fmt = (lambda d: d) if vendor == "postgresql" else _sqlite_ts
    out: dict[str, object] = {"now": fmt(NOW)}
    for days in (7, 30, 60, 90, 180):
        out[f"ago_{days}"] = fmt(NOW - dt.timedelta(days=days))
    return out


def _dsn() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"


def _blank_columns(table: str) -> dict[str, object]:
    """NOT NULL columns the generator leaves out, with the value Django would store."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    out: dict[str, object] = {}
    for f in model._meta.concrete_fields:
        if f.null or f.primary_key:
            continue
        default = f.get_default()
        if isinstance(default, (dict, list)):
            default = json.dumps(default)
        if default is None:
            continue
        out[f.column] = default if not isinstance(default, bool) else default
    return out


def _load(table: str, columns: list[str], rows, defaults: dict[str, object]) -> None:
    from django.db import connection, transaction

    extra = [c for c in defaults if c not in columns]
    all_cols = columns + extra
    tail = tuple(str(defaults[c]) if not isinstance(defaults[c], bool) else defaults[c]
                 for c in extra)  # fmt: skip
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        raw = connection.connection
        cols = ", ".join(all_cols)
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row + tail)
        raw.commit()
        return
    marks = ", ".join(["%s"] * len(all_cols))
    sql = f"INSERT INTO {table} ({', '.join(all_cols)}) VALUES ({marks})"
    batch: list[tuple] = []
    with transaction.atomic(), connection.cursor() as cur:
        for row in rows:
            batch.append(row + tail)
            if len(batch) == 20_000:
                cur.executemany(sql, batch)
                batch.clear()
        if batch:
            cur.executemany(sql, batch)


# --- measurements -----------------------------------------------------------------------


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    fn()  # warm-up
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def evaluate(vendor: str) -> list[dict[str, object]]:
    from django.db import connection

    from patron.segments.compiler import Compiler
    from patron.segments.rules import Catalogue, parse_rules, validate

    catalogue = Catalogue.load()
    results = []
    for (name, text), sql in zip(SEGMENTS, hand_sql(vendor), strict=True):
        tree = validate(parse_rules(text), catalogue)
        qs = Compiler(catalogue, now=NOW).queryset(tree)
        patron_s, patron_n = timed(qs.count)

        def hand(sql: str = sql) -> int:
            with connection.cursor() as cur:
                cur.execute(sql, hand_params(vendor))
                return cur.fetchone()[0]

        hand_s, hand_n = timed(hand)
        results.append(
            {"segment": name, "conditions": len(tree["and"]), "members": patron_n,
             "hand_members": hand_n, "patron_s": patron_s, "hand_s": hand_s,
             "ratio": patron_s / hand_s if hand_s else float("nan")}
        )  # fmt: skip
        flag = "" if patron_n == hand_n else "  MISMATCH"
        print(
            f"  {name:20s} members {patron_n:>8,}  patron {patron_s * 1000:8.1f} ms  "
            f"hand {hand_s * 1000:8.1f} ms  ratio {patron_s / hand_s:5.2f}{flag}",
            flush=True,
        )
    return results


def build_times() -> list[tuple[str, float, float]]:
    """First build (all entries written) and a rebuild with nothing to change."""
    from patron.segments.models import Segment
    from patron.segments.rules import Catalogue, parse_rules, validate
    from patron.segments.rules.deps import dependencies
    from patron.segments.services.membership import segment_build

    catalogue = Catalogue.load()
    out = []
    Segment.objects.filter(name__startswith="bench:").delete()
    for name, text in SEGMENTS:
        tree = validate(parse_rules(text), catalogue)
        seg = Segment.objects.create(
            name=f"bench:{name}", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
        )
        t = time.perf_counter()
        segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
        first = time.perf_counter() - t
        t = time.perf_counter()
        segment_build(segment_id=seg.pk, now=NOW, catalogue=catalogue)
        again = time.perf_counter() - t
        out.append((name, first, again))
        print(f"  build {name:20s} first {first:6.2f} s   rebuild (no change) {again:6.2f} s",
              flush=True)  # fmt: skip
    return out


def latency(samples: int) -> list[float]:
    """Event -> membership row, through a real worker (see _ping for the two modes)."""
    from django.utils import timezone

    from patron.contacts.models import Contact
    from patron.events.models import Event
    from patron.segments.models import Segment, SegmentMembership
    from patron.segments.rules import Catalogue, parse_rules, validate
    from patron.segments.rules.deps import dependencies
    from patron.segments.services.membership import segment_build

    catalogue = Catalogue.load()
    tree = validate(parse_rules('performed "Bench Ping" at least 1 time in last 1 days'
                                " and orders count = 0 in last 30 days"), catalogue)  # fmt: skip
    Segment.objects.filter(name="bench:latency").delete()
    seg = Segment.objects.create(
        name="bench:latency", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    segment_build(segment_id=seg.pk, catalogue=catalogue)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "patron.cli", "worker", "--interval", "0.05"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(3)
    out: list[float] = []
    mode = "processor"
    try:
        ids = list(Contact.objects.order_by("?").values_list("pk", flat=True)[: samples * 3])
        for cid in ids:
            if len(out) == samples:
                break
            if SegmentMembership.objects.filter(segment=seg, contact_id=cid).exists():
                continue
            if Contact.objects.filter(pk=cid, orders__placed_at__gte=timezone.now()
                                      - dt.timedelta(days=30)).exists():  # fmt: skip
                continue
            t = time.perf_counter()
            _ping(cid, mode)
            limit = 10 if mode == "processor" and not out else 30
            while not SegmentMembership.objects.filter(segment=seg, contact_id=cid).exists():
                if time.perf_counter() - t > limit:
                    if mode == "processor" and not out:
                        print("  the event processor did not finish within 10 s: measuring "
                              "from the processor's commit instead", flush=True)  # fmt: skip
                        mode = "hook"
                        break
                    raise RuntimeError("no membership change within 30 s")
                time.sleep(0.005)
            else:
                out.append(time.perf_counter() - t)
                continue
            Event.objects.filter(contact_id=cid, event="Bench Ping").delete()
    finally:
        worker.terminate()
        worker.wait(10)
    LATENCY_MODE[0] = mode
    return out


def _ping(cid: int, mode: str) -> None:
    """processor: store the event as the tracking API does (unprocessed) and enqueue the
    processor. hook: commit what the processor commits for it, and its segments hook."""
    from django.db import transaction
    from django.utils import timezone

    from patron.events.models import Event
    from patron.events.services.aggregates import aggregates_apply
    from patron.events.tasks import events_process_schedule
    from patron.segments.tasks import contacts_changed

    now = timezone.now()
    with transaction.atomic():
        Event.objects.create(
            contact_id=cid, type="track", event="Bench Ping", timestamp=now, received_at=now,
            user_id=f"bench-{cid}", processed=mode != "processor",
        )  # fmt: skip
        if mode == "processor":
            transaction.on_commit(events_process_schedule)
        else:
            aggregates_apply({cid: [("track", "Bench Ping", now)]})
            contacts_changed([cid], what={"events"})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--latency", type=int, default=0, help="Latency samples (0: skip).")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    url = configure(args.db, args.scale)
    print(f"{args.db} scale {args.scale:g} ({url.split('@')[-1]})", flush=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus", flush=True)
    generate(args.scale)
    from django.db import connection

    from patron.contacts.models import Contact
    from patron.events.models import Event

    print(f"contacts {Contact.objects.count():,}  events {Event.objects.count():,}", flush=True)
    results = evaluate(connection.vendor)
    builds = [] if args.no_build else build_times()
    lat = latency(args.latency) if args.latency else []
    if lat:
        lat.sort()
        p95 = lat[max(0, int(round(0.95 * len(lat))) - 1)]
        print(f"latency event -> membership: n={len(lat)} p50 {statistics.median(lat) * 1000:.0f}"
              f" ms  p95 {p95 * 1000:.0f} ms  max {lat[-1] * 1000:.0f} ms")  # fmt: skip
    print(f"latency mode: {LATENCY_MODE[0]}", flush=True)
    print(json.dumps({"db": args.db, "scale": args.scale, "results": results,
                      "builds": builds, "latency_s": lat}, default=str))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
