"""Segment evaluation at scale: Patron's compiled queries against hand-written SQL, and
the latency from an accepted event to the membership change.

The data (``segments_data.py``: at ``--scale 1`` 1,000,000 contacts, 10,000,000 track
events, 500,000 orders with one line each, a tag, consent entries, the per-contact event
aggregates) is generated once and reused while its marker matches. Then, for five
typical segments (at most five conditions, with event windows and purchase aggregates):

- Patron's compiled query (COUNT over the whole table) and a hand-written SQL query for
  the same segment, in the same run, median of 3 after a warm-up; both counts must agree;
- a full membership build (evaluation + diff + timers) and a rebuild with nothing to do;
- with ``--latency N``: N events sent one at a time as ``POST /v1/track`` to a live
  server, processed by a ``patron worker`` (event processor, then the segments hook's
  re-evaluation task); time until the contact's membership row exists.

    .venv/bin/python benchmarks/segments_bench.py --db sqlite --scale 0.1
    flock /tmp/patron-bench.lock .venv/bin/python benchmarks/segments_bench.py \
        --db postgres --scale 1 --latency 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from segments_data import NOW, configure, generate, sqlite_ts  # noqa: E402

SEGMENTS: list[tuple[str, str]] = [
    (
        "engaged customers",
        'lifecycle_stage = "customer" and performed "Viewed Product" at least 3 times '
        "in last 30 days and orders total >= 100 and consent email_marketing via email "
        'and not tag "churn-risk"',
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
    consent = """EXISTS (SELECT 1 FROM privacy_consent p
                  WHERE p.contact_id = c.id AND p.purpose = 'email_marketing'
                    AND p.channel = 'email' AND p.status = 'granted'
                    AND NOT EXISTS (SELECT 1 FROM privacy_consent q
                        WHERE q.contact_id = p.contact_id AND q.purpose = p.purpose
                          AND q.channel = p.channel
                          AND (q.recorded_at > p.recorded_at OR
                               (q.recorded_at = p.recorded_at AND q.id > p.id))))"""
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
                           HAVING SUM(o.total - o.refunded_amount) >= 100)
              AND {consent}
              AND NOT EXISTS (SELECT 1 FROM contacts_contact_tags ct JOIN contacts_tag t
                              ON t.id = ct.tag_id
                              WHERE ct.contact_id = c.id AND t.name = 'churn-risk')""",
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
            WHERE {consent}
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


def hand_params(vendor: str) -> dict[str, object]:
    """Bounds computed once, formatted as the database stores datetimes."""
    fmt = (lambda d: d) if vendor == "postgresql" else sqlite_ts
    out: dict[str, object] = {"now": fmt(NOW)}
    for days in (7, 30, 60, 90, 180):
        out[f"ago_{days}"] = fmt(NOW - dt.timedelta(days=days))
    return out


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
    from patron.segments.dbsession import evaluation
    from patron.segments.rules import Catalogue, parse_rules, validate

    catalogue = Catalogue.load()
    results = []
    for (name, text), sql in zip(SEGMENTS, hand_sql(vendor), strict=True):
        tree = validate(parse_rules(text), catalogue)
        qs = Compiler(catalogue, now=NOW).queryset(tree)

        def patron(qs: Any = qs) -> int:
            with evaluation():  # the session settings Patron evaluates segments with
                return int(qs.count())

        patron_s, patron_n = timed(patron)

        def hand(sql: str = sql) -> int:
            with evaluation(), connection.cursor() as cur:
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
        if "recent_1" in str(qs.query):  # reads the recent event timestamps (ADR 0060)
            before_s, before_n = without_recent(catalogue, tree)
            results[-1].update(events_counted_s=before_s, events_counted_members=before_n)
            print(
                f"  {'':20s} without recent timestamps (events counted): "
                f"{before_s * 1000:8.1f} ms  members {before_n:>8,}",
                flush=True,
            )
    return results


def without_recent(catalogue: Any, tree: dict[str, Any]) -> tuple[float, int]:
    """The segment compiled as before ADR 0060: window counts grouped over the events
    (the compiler's own fallback, forced by pretending no recent timestamps are kept)."""
    from unittest import mock

    from patron.segments.compiler import Compiler, behaviour
    from patron.segments.dbsession import evaluation

    with mock.patch.object(behaviour, "RECENT_K", 0):
        qs = Compiler(catalogue, now=NOW).queryset(tree)

    def run() -> int:
        with evaluation():
            return int(qs.count())

    return timed(run)  # type: ignore[return-value]


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


def latency(samples: int, db: str) -> tuple[list[float], list[float]]:
    """Accepted event -> membership row, through the real path: ``POST /v1/track`` to a
    live server (gunicorn, as ``patron serve``), a ``patron worker`` running the event
    processor and then the segments hook's re-evaluation task.

    Returns (from sending the request, from its 200 response) per sample, seconds."""
    import http.client
    import uuid

    from django.db import connection
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult
    from tracking_client import Server, basic, post

    from patron.contacts.models import ContactIdentity
    from patron.events.models import Source
    from patron.events.services import source_create
    from patron.segments.models import Segment, SegmentMembership
    from patron.segments.rules import Catalogue, parse_rules, validate
    from patron.segments.rules.deps import dependencies
    from patron.segments.services.membership import segment_build

    # Only the latency segment is live: the build phase's segments (built at the data's
    # NOW, days before the real clock) would have every timer due and keep the worker busy.
    Segment.objects.filter(name__startswith="bench:").delete()
    DBTaskResult.objects.filter(status="READY").delete()
    catalogue = Catalogue.load()
    tree = validate(parse_rules('performed "Bench Ping" at least 1 time in last 1 days'
                                " and orders count = 0 in last 30 days"), catalogue)  # fmt: skip
    Segment.objects.filter(name="bench:latency").delete()
    seg = Segment.objects.create(
        name="bench:latency", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )
    segment_build(segment_id=seg.pk, catalogue=catalogue)
    Source.objects.filter(name="bench-segments").delete()
    _, key = source_create(actor=None, name="bench-segments")
    auth = basic(key)
    recent = timezone.now() - dt.timedelta(days=30)
    with connection.cursor() as cur:  # contacts not in the segment and without recent orders
        cur.execute(
            "SELECT c.id FROM contacts_contact c WHERE c.id %% 97 = 5 AND NOT EXISTS"
            " (SELECT 1 FROM commerce_order o WHERE o.contact_id = c.id AND o.placed_at >= %s)"
            " AND NOT EXISTS (SELECT 1 FROM segments_segmentmembership m"
            " WHERE m.contact_id = c.id AND m.segment_id = %s) ORDER BY c.id LIMIT %s",
            [recent, seg.pk, samples],
        )
        ids = [r[0] for r in cur.fetchall()]
    ContactIdentity.objects.bulk_create(
        [ContactIdentity(contact_id=c, kind="user_id", value=f"bench-seg-{c}") for c in ids],
        ignore_conflicts=True,
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Server(env, port, 1, 4)
    worker = subprocess.Popen(
        [sys.executable, "-m", "patron.cli", "worker", "--interval", "0.05"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(3)
    sent: list[float] = []
    accepted: list[float] = []
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        for cid in ids:
            body = json.dumps({"userId": f"bench-seg-{cid}", "event": "Bench Ping",
                               "messageId": str(uuid.uuid4()),
                               "timestamp": timezone.now().isoformat()}).encode()  # fmt: skip
            # A new connection per event, as a tracker sending one event does (and the
            # server's keep-alive may close an idle one while we wait below).
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t = time.perf_counter()
            status = post(conn, "/v1/track", body, auth)
            t_ok = time.perf_counter()
            if status != 200:
                raise RuntimeError(f"/v1/track answered {status}")
            live = SegmentMembership.objects.filter(
                segment=seg, contact_id=cid, exited_at__isnull=True
            )
            while not live.exists():
                if time.perf_counter() - t > 30:
                    raise RuntimeError(f"contact {cid}: no membership change within 30 s")
                time.sleep(0.005)
            done = time.perf_counter()
            sent.append(done - t)
            accepted.append(done - t_ok)
            time.sleep(0.1)  # one event at a time: latency, not throughput
    finally:
        conn.close()
        worker.terminate()
        worker.wait(10)
        server.stop()
    return sent, accepted


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered))) - 1))]


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="sqlite")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--latency", type=int, default=0, help="Latency samples (0: skip).")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-eval", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    url = configure(args.db, args.scale)
    print(f"{args.db} scale {args.scale:g} ({url.split('@')[-1]})", flush=True)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cpus", flush=True)
    print(f"load average before: {loadavg()}", flush=True)
    generate(args.scale)
    if args.generate_only:
        print(f"load average after: {loadavg()}", flush=True)
        return 0
    from django.db import connection

    from patron.contacts.models import Contact
    from patron.events.models import Event

    print(f"contacts {Contact.objects.count():,}  events {Event.objects.count():,}", flush=True)
    results = [] if args.no_eval else evaluate(connection.vendor)
    builds = [] if args.no_build else build_times()
    lat, lat_ok = latency(args.latency, args.db) if args.latency else ([], [])
    for label, values in (("request sent", lat), ("200 received", lat_ok)):
        if values:
            p50, p95, top = (x * 1000 for x in (pct(values, 50), pct(values, 95), max(values)))
            print(
                f"latency {label} -> membership: n={len(values)} p50 {p50:.0f} ms"
                f"  p95 {p95:.0f} ms  max {top:.0f} ms",
                flush=True,
            )
    print(f"load average after: {loadavg()}", flush=True)
    summary = {"db": args.db, "scale": args.scale, "results": results, "builds": builds}
    summary.update(latency_s=lat, latency_after_200_s=lat_ok)
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
