"""Tracking API throughput and processing lag, on SQLite or PostgreSQL.

    .venv/bin/python benchmarks/tracking_throughput.py --db sqlite
    .venv/bin/python benchmarks/tracking_throughput.py --db postgres \
        --database-url postgres://postgres@127.0.0.1:5432/patron_bench

Runs against a fresh database (a temporary SQLite file, or the given PostgreSQL database,
dropped and re-created) and a real server (gunicorn, ``--workers`` processes) on
loopback. Phases:

1. ingest: client threads post pre-built ``/v1/batch`` bodies (``--batch`` events each,
   unique message ids, a realistic mix of identify/page/track over ``--users`` users) for
   ``--seconds``; reports accepted events/s. Processing is off (tasks go nowhere).
2. process: works the backlog off with the event processor (identity resolution,
   profiles, aggregates), as a worker does; reports events/s.
3. mixed: ingest at a fixed rate (``--mixed-rate`` events/s, paced over ``--threads``
   connections) while a worker process runs the processor in a loop; reports the lag
   (time from the last batch's answer until every event is processed) and the largest
   backlog, sampled each second.
   Also the latency of each of those ``/v1/batch`` posts from its due time (p50, p99,
   max): what a client waits while the processor holds the database (on SQLite its
   batch holds the one write lock).
4. latency: single ``/v1/track`` calls at ``--track-rate`` requests/s (open loop) for
   ``--seconds`` (at most 10); reports p50/p95/p99. The processor is not running.
5. live: the same calls while a worker process runs the processor in a loop, as in
   production, where each call's event is processed seconds later; reports p50/p95/p99
   and max, and the lag until every event is processed.

All traffic goes to 127.0.0.1 only; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracking_client import Server, basic, log, make_batches, make_message, post  # noqa: E402

# --- phases ------------------------------------------------------------------------------


def phase_ingest(
    port: int, auth: str, batches: list[bytes], threads: int, seconds: float
) -> tuple[int, float, int]:
    """Post batches from ``threads`` clients until they run out or time is up."""
    lock = threading.Lock()
    index = {"next": 0, "ok": 0, "bad": 0}
    stop_at = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < stop_at:
            with lock:
                i = index["next"]
                if i >= len(batches):
                    return
                index["next"] += 1
            status = post(conn, "/v1/batch", batches[i], auth)
            with lock:
                index["ok" if status == 200 else "bad"] += 1

    started = time.monotonic()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return index["ok"], time.monotonic() - started, index["bad"]


def phase_latency(port: int, auth: str, rate: float, seconds: float) -> list[float]:
    """Open-loop single /v1/track calls at ``rate`` per second; latencies in ms."""
    rng = random.Random(7)
    latencies: list[float] = []
    lock = threading.Lock()
    total = int(rate * seconds)
    interval = 1.0 / rate
    start = time.monotonic()
    slots = list(range(total))
    slot_lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with slot_lock:
                if not slots:
                    return
                n = slots.pop(0)
            due = start + n * interval
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            msg = make_message(rng, 10_000)
            msg["type"] = "track"
            msg.setdefault("event", "Clicked")
            body = json.dumps(msg).encode()
            post(conn, "/v1/track", body, auth)
            # latency from the scheduled time (open loop: queueing counts)
            with lock:
                latencies.append((time.monotonic() - due) * 1000)

    pool = [threading.Thread(target=worker) for _ in range(16)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


def _send_paced(
    port: int,
    auth: str,
    bodies: list[bytes],
    first: int,
    step: int,
    per_second: int,
    start: float,
    finished: list[float],
    waits: list[float],
) -> None:
    """Post ``bodies[first::step]``, each at its due time (body i at ``start + i /
    per_second``): ``step`` of these together hold the mixed phase's rate, which one
    connection waiting for each answer could not (it reached ~6,600 events/s beside the
    processor)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for i in range(first, len(bodies), step):
            delay = start + i / per_second - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            post(conn, "/v1/batch", bodies[i], auth)
            waits.append((time.monotonic() - (start + i / per_second)) * 1000)  # ms, open loop
    finally:
        conn.close()
        finished.append(time.monotonic())


def processor_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A worker process running the event processor in a loop (as ``patron worker``'s
    task does while events arrive), for at most 15 minutes."""
    return subprocess.Popen(
        [
            PYTHON,
            "-c",
            "import django, time; django.setup();"
            "from patron.events.services.processing import events_process_pending as p\n"
            "end = time.monotonic() + 900\n"
            "while time.monotonic() < end:\n"
            "    n, _ = p(max_seconds=5)\n"
            "    time.sleep(0.05 if n == 0 else 0)\n",
        ],
        cwd=ROOT,
        env=env,
    )


def processed_lag(event_model: Any, since: float, limit: float = 300) -> float:
    """Seconds from ``since`` until no event is waiting (checked every 50 ms)."""
    deadline = since + limit
    while event_model.objects.filter(processed=False).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return time.monotonic() - since


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def put_percentiles(
    results: dict[str, Any],
    prefix: str,
    values: list[float],
    points: tuple[int, ...] = (50, 95, 99),
    *,
    top: bool = False,
) -> None:
    """``{prefix}_p{N}_ms`` for each point (and ``{prefix}_max_ms`` with ``top``)."""
    for point in points:
        results[f"{prefix}_p{point}_ms"] = round(pct(values, point), 1)
    if top:
        results[f"{prefix}_max_ms"] = round(max(values), 1)


def _db_background(connection: Any, before: dict[str, int] | None = None) -> dict[str, int]:
    """PostgreSQL: checkpoints so far and autovacuum workers running now (with ``before``:
    the checkpoints since then, and whether an autovacuum ran at either moment), so a
    latency phase can be read against the database's background work. {} on SQLite."""
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter")
        checkpoints = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        )
        autovacuum = int(cursor.fetchone()[0])
    if before is None:
        return {"checkpoints": checkpoints, "autovacuum_workers": autovacuum}
    return {
        "checkpoints": checkpoints - before["checkpoints"],
        "autovacuum_workers_before": before["autovacuum_workers"],
        "autovacuum_workers_after": autovacuum,
    }


# --- main --------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/patron_bench")
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--users", type=int, default=20_000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--server-threads", type=int, default=4, help="threads per worker")
    ap.add_argument(
        "--worker-class", default="gthread", help="gunicorn worker class (patron serve: gthread)"
    )
    ap.add_argument("--max-events", type=int, default=400_000)
    ap.add_argument("--mixed-rate", type=float, default=5_000.0)
    ap.add_argument("--track-rate", type=float, default=200.0)
    ap.add_argument("--port", type=int, default=0, help="0: a free port")
    ap.add_argument(
        "--phases",
        default="ingest,process,mixed,latency,live",
        help="comma-separated subset of ingest,process,mixed,latency,live (without ingest, "
        "the others run on an empty database)",
    )
    ap.add_argument(
        "--latency-pause",
        type=float,
        default=0.0,
        help="seconds to wait before the latency phase (lets autovacuum and checkpoints "
        "started by the earlier phases finish)",
    )
    ap.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the Patron tree to run (e.g. a git worktree of another commit); default: this one",
    )
    args = ap.parse_args()
    if args.root is not None:
        global ROOT
        ROOT = args.root.resolve()
    phases = set(args.phases.split(","))

    tmp = Path(tempfile.mkdtemp(prefix="patron-bench-"))
    env = dict(os.environ)
    env.update(
        PATRON_VAR_DIR=str(tmp),
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        LOG_LEVEL="WARNING",
        TASKS_BACKEND="django_tasks.backends.dummy.DummyBackend",
    )
    # A settings module given in the environment is kept (to compare settings variants).
    env.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    if args.db == "postgres":
        env["DATABASE_URL"] = args.database_url
        import dj_database_url
        import psycopg

        cfg = dj_database_url.parse(args.database_url)
        with psycopg.connect(
            host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], dbname="postgres",
            autocommit=True,
        ) as admin:  # fmt: skip
            admin.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}"')
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    else:
        env.pop("DATABASE_URL", None)
    os.environ.update(env)
    if args.db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)

    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection

    from patron.events.models import Event
    from patron.events.services import source_create
    from patron.events.services.processing import events_process_pending

    _, key = source_create(actor=None, name="bench")
    auth = basic(key)
    n_batches = args.max_events // args.batch
    log(f"building {n_batches} batches of {args.batch} events ...")
    batches = make_batches(n_batches, args.batch, args.users, seed=1)
    avg_kb = statistics.mean(len(b) for b in batches) / 1024 if batches else 0.0
    results: dict[str, Any] = {
        "db": connection.vendor,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "batch_size": args.batch,
        "batch_kb": round(avg_kb, 1),
        "server_workers": args.workers,
        "server_threads": args.server_threads,
        "worker_class": args.worker_class,
        "client_threads": args.threads,
    }

    if not args.port:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    server = Server(env, args.port, args.workers, args.server_threads, args.worker_class, root=ROOT)
    try:
        # 1. ingest
        server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
        ok, elapsed, bad = (
            phase_ingest(args.port, auth, batches, args.threads, args.seconds)
            if "ingest" in phases
            else (0, 1.0, 0)
        )
        server_cpu = server.cpu_seconds() - server_cpu
        client_cpu = time.process_time() - client_cpu
        accepted = Event.objects.count()
        results["ingest_events_per_s"] = round(accepted / elapsed)
        # CPU per accepted event: the server's (all its processes), the clients' (this
        # process); on a shared machine these move less with the load than events/s.
        if accepted:
            results["ingest_server_cpu_us_per_event"] = round(server_cpu / accepted * 1e6, 1)
            results["ingest_client_cpu_us_per_event"] = round(client_cpu / accepted * 1e6, 1)
        results["ingest_requests"] = ok
        results["ingest_errors"] = bad
        log(
            f"ingest: {accepted} events in {elapsed:.1f}s = {accepted / elapsed:,.0f}/s; "
            f"CPU per event: server {results.get('ingest_server_cpu_us_per_event')} µs, "
            f"client {results.get('ingest_client_cpu_us_per_event')} µs"
        )

        if phases & {"process", "mixed"}:
            # 2. process the backlog
            started = time.monotonic()
            processed, _ = events_process_pending(max_seconds=600)
            took = time.monotonic() - started
            results["process_events_per_s"] = round(processed / took)
            log(f"process: {processed} events in {took:.1f}s = {processed / took:,.0f}/s")
            from patron.contacts.models import Contact

            results["contacts"] = Contact.objects.count()

        if "mixed" in phases:
            # 3. mixed: ingest at a fixed rate while a worker processes
            rest = batches[ok:]
            per_second = max(1, int(args.mixed_rate / args.batch))
            mixed = rest[: int(per_second * args.seconds)]
            worker = processor_worker(env)
            backlog: list[int] = []
            finished: list[float] = []
            waits: list[float] = []
            start = time.monotonic()
            senders = [
                threading.Thread(
                    target=_send_paced,
                    args=(args.port, auth, mixed, k, args.threads, per_second, start),
                    kwargs={"finished": finished, "waits": waits},
                )
                for k in range(min(args.threads, len(mixed)) or 1)
            ]
            for sender in senders:
                sender.start()
            while any(sender.is_alive() for sender in senders):
                backlog.append(Event.objects.filter(processed=False).count())
                time.sleep(1.0)  # (the times come from the senders, not this loop)
            for sender in senders:
                sender.join()
            sent_done = max(finished) if finished else time.monotonic()
            lag = processed_lag(Event, sent_done)
            worker.terminate()
            worker.wait(10)
            mixed_rate = len(mixed) * args.batch / (sent_done - start)
            results["mixed_ingest_events_per_s"] = round(mixed_rate)
            results["mixed_max_backlog"] = max(backlog) if backlog else 0
            results["mixed_backlog_each_second"] = backlog
            results["mixed_lag_after_last_event_s"] = round(lag, 2)
            if waits:
                put_percentiles(results, "mixed_batch", waits, (50, 99), top=True)
            log(
                f"mixed: {mixed_rate:,.0f} events/s in, max backlog {max(backlog or [0])}, "
                f"all processed {lag:.2f}s after the last batch"
            )

        if "latency" in phases:
            # 4. single /v1/track latency
            time.sleep(args.latency_pause)
            log(f"latency phase from {time.strftime('%H:%M:%S', time.gmtime())} UTC")
            before = _db_background(connection)
            lat = phase_latency(args.port, auth, args.track_rate, min(args.seconds, 10))
            results["latency_background"] = _db_background(connection, before)
            results["track_rate"] = args.track_rate
            put_percentiles(results, "track", lat)
            log(
                f"track @ {args.track_rate}/s: p50 {pct(lat, 50):.1f} ms, "
                f"p95 {pct(lat, 95):.1f} ms, p99 {pct(lat, 99):.1f} ms"
            )

        if "live" in phases:
            # 5. single /v1/track latency while the processor works, as in production
            worker = processor_worker(env)
            try:
                processed_lag(Event, time.monotonic())  # the worker takes any backlog first
                log(f"live latency phase from {time.strftime('%H:%M:%S', time.gmtime())} UTC")
                lat = phase_latency(args.port, auth, args.track_rate, min(args.seconds, 10))
                results["live_lag_s"] = round(processed_lag(Event, time.monotonic()), 2)
            finally:
                worker.terminate()
                worker.wait(10)
            put_percentiles(results, "live_track", lat, top=True)
            log(
                f"live track @ {args.track_rate}/s beside the processor: p50 "
                f"{pct(lat, 50):.1f} ms, p99 {pct(lat, 99):.1f} ms, max {max(lat):.1f} ms"
            )
    finally:
        server.stop()
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
