"""Webhook outbox and sending costs.

1. Outbox: N contacts enter one live segment at once (a full build). The build is timed
   with no webhook endpoint and with two subscribed endpoints (2N deliveries written in
   the same transaction); the extra time and the number of webhook queries are reported.
2. Sending: M deliveries sent by ``deliveries_send_due`` to a threaded HTTP receiver on
   127.0.0.1 (``PATRON_WEBHOOKS_ALLOW_PRIVATE`` on for this run only): deliveries/s.

Runs in a throw-away database (a SQLite file in a temporary directory, or a new
PostgreSQL database dropped at the end).

    flock /tmp/patron-bench.lock .venv/bin/python benchmarks/webhooks_outbox.py \
        --db sqlite --contacts 100000 --send 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG = "postgres://postgres@127.0.0.1:5432/"


def setup(db: str, tmp: str) -> str | None:
    os.environ["PATRON_VAR_DIR"] = tmp
    os.environ["DJANGO_SETTINGS_MODULE"] = "patron.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    name = None
    if db == "postgres":
        import psycopg

        name = f"patron_whbench_{os.getpid()}"
        with psycopg.connect(PG + "postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = PG + name
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return name


def drop(name: str | None) -> None:
    if name is None:
        return
    from django.db import connections

    connections.close_all()
    import psycopg

    with psycopg.connect(PG + "postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def outbox(n: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from patron.contacts.models import Contact
    from patron.core.models import Activity
    from patron.segments.models import Segment, SegmentMembership
    from patron.segments.rules import Catalogue, parse_rules, validate
    from patron.segments.rules.deps import dependencies
    from patron.segments.services.membership import segment_build
    from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
    from patron.webhooks.vault import encrypt

    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
    Contact.objects.bulk_create(
        (Contact(first_name=f"c{i}", city="Berlin") for i in range(n)), batch_size=5000
    )
    catalogue = Catalogue.load()
    tree = validate(parse_rules('city = "Berlin"'), catalogue)
    seg = Segment.objects.create(
        name="bench", rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )

    def reset() -> None:
        SegmentMembership.objects.all().delete()
        Activity.objects.filter(subject_type="segment").delete()
        WebhookDelivery.objects.all().delete()
        Segment.objects.filter(pk=seg.pk).update(member_count=0)

    def run(label: str) -> float:
        reset()
        with CaptureQueriesContext(connection) as q:
            t0 = time.perf_counter()
            segment_build(segment_id=seg.pk, catalogue=catalogue)
            took = time.perf_counter() - t0
        hooks = sum(1 for x in q if "webhooks_" in x["sql"])
        made = WebhookDelivery.objects.count()
        print(f"  {label}: build {took:.2f} s, {made} deliveries, {hooks} webhook queries")
        return took

    base = min(run("no endpoint"), run("no endpoint"))
    for i in range(2):
        WebhookEndpoint.objects.create(
            name=f"e{i}", url=f"http://127.0.0.1:9/{i}", secret_encrypted=encrypt("whsec_AAAA"),
            event_types=["segment.entered", "segment.exited"],
        )  # fmt: skip
    with_hooks = min(run("2 endpoints"), run("2 endpoints"))
    extra = with_hooks - base
    print(
        f"outbox: {n} contacts entering; +{extra:.2f} s for {2 * n} deliveries "
        f"({2 * n / max(extra, 1e-9):,.0f} deliveries/s written), build x{with_hooks / base:.2f}"
    )
    reset()
    WebhookEndpoint.objects.all().delete()


RECEIVER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
delay = float(sys.argv[1])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(delay)
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
ThreadingHTTPServer.request_queue_size = 128  # the default 5 drops concurrent connects
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
s.daemon_threads = True
print(s.server_address[1], flush=True)
s.serve_forever()
"""


def sending(m: int, latency: float) -> None:
    """M deliveries to a receiver in another process that answers after ``latency`` s."""
    import subprocess

    from django.conf import settings
    from django.utils import timezone

    from patron.webhooks import conf
    from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
    from patron.webhooks.services.delivery import deliveries_send_due
    from patron.webhooks.services.outbox import deliveries_create, envelope, new_event_id
    from patron.webhooks.vault import encrypt

    proc = subprocess.Popen(
        [sys.executable, "-c", RECEIVER, str(latency)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
        ep = WebhookEndpoint.objects.create(
            name="recv", url=f"http://127.0.0.1:{port}/in",
            secret_encrypted=encrypt("whsec_" + "A" * 44), event_types=["segment.entered"],
        )  # fmt: skip
        now = timezone.now()
        body = {"contact": {"id": 1}}
        events = [
            (new_event_id(), "segment.entered", envelope("segment.entered", now, body))
            for _ in range(m)
        ]
        deliveries_create([ep], events, now)
        t0 = time.perf_counter()
        done, _ = deliveries_send_due(max_seconds=600)
        took = time.perf_counter() - t0
        ok = WebhookDelivery.objects.filter(status="succeeded").count()
        threads = conf.get("PATRON_WEBHOOKS_THREADS")
        print(
            f"sending ({latency * 1000:.0f} ms receiver, {threads} threads): "
            f"{ok}/{done} succeeded in {took:.2f} s = {ok / took:,.0f} deliveries/s"
        )
        WebhookDelivery.objects.all().delete()
        ep.delete()
    finally:
        proc.kill()


def load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--contacts", type=int, default=100_000)
    ap.add_argument("--send", type=int, default=2000)
    ap.add_argument("--latency", type=float, default=0.05, help="receiver delay (s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        name = setup(args.db, tmp)
        try:
            print(f"db={args.db} load before: {load()}")
            outbox(args.contacts)
            sending(args.send, 0.0)
            sending(args.send, args.latency)
            print(f"load after: {load()}")
        finally:
            drop(name)


if __name__ == "__main__":
    main()
