"""Event processing in process, without HTTP: µs and events/s of ``events_process_pending``.

    .venv/bin/python benchmarks/tracking_process.py --db sqlite --events 60000
    .venv/bin/python benchmarks/tracking_process.py --db postgres --steps --profile 25
    .venv/bin/python benchmarks/tracking_process.py --db sqlite --root /tmp/base-checkout

A fresh migrated database (``import_contacts.fresh_site``: a new SQLite file, or the
PostgreSQL database ``patron_bench_process`` dropped and made again), then per round:
``--events`` events of ``tracking_throughput.py``'s workload (5 % identify, 25 % page,
70 % track over ``--users`` users; every user new in round 1, returning in round 2) are
stored with ``events_ingest`` (100 per call, not timed), and ``events_process_pending``
works them off, timed: wall time, this process's CPU and, on PostgreSQL, the server
backend's CPU (from /proc). ``--batch-size`` overrides the processor's; ``--steps`` adds
wall time per step of a batch (wrapping the processor module's functions; a little
overhead), ``--profile N`` the top N functions of
a cProfile run of the last round. ``--root`` runs another checkout's ``patron`` (a
``git worktree`` of an older commit), to alternate "before" and "after" in the same minutes.

Run it under the shared bench lock: ``flock /tmp/patron-bench.lock nice -n 0 ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import json
import os
import pstats
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from import_contacts import fresh_site  # noqa: E402  (same folder)
from tracking_client import make_message  # noqa: E402


def _proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Steps:
    """Wall time per step: wraps names in the processor's module (and the commit)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: Any, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        setattr(owner, name, timed)

    def wrap_by_first(self, owner: Any, name: str) -> None:
        """As ``wrap``, labelled ``name:<first argument>`` (a model's or a SQL's start)."""
        inner = getattr(owner, name)

        def timed(first: Any, *args: Any, **kwargs: Any) -> Any:
            label = getattr(first, "__name__", None) or str(first)[:40]
            started = time.perf_counter()
            try:
                return inner(first, *args, **kwargs)
            finally:
                self.seconds[f"{name}:{label}"] += time.perf_counter() - started

        setattr(owner, name, timed)

    def install(self) -> None:
        from django.db import connection

        from patron.events.services import processing

        # The processor is a package (older checkouts: one module): each of its modules
        # calls through its own names, so each module's names are wrapped.
        modules = [processing] + [
            sys.modules[f"{processing.__name__}.{m}"]
            for m in ("marking", "reading", "traits")
            if f"{processing.__name__}.{m}" in sys.modules
        ]
        for module in modules:
            for name in dir(module):
                value = getattr(module, name)
                if name.startswith("__") or not callable(value) or isinstance(value, type):
                    continue
                if getattr(value, "__module__", "").startswith("patron.") and name not in (
                    "events_process_pending",
                    "events_process_batch",
                    "default_batch_size",
                    "oldest_unprocessed_sql",
                ):
                    self.wrap(module, name, name)
        # The aggregates' and the identity look-ups' statements, per table.
        from patron.events.services import aggregates

        for name in ("upsert_many", "select_in"):
            self.wrap_by_first(aggregates, name)
        from patron.events.services.identity import resolver as resolver_module

        self.wrap_by_first(resolver_module, "select_in")
        resolver = processing.Resolver
        for name in ("prefetch", "resolve", "flush"):
            self.wrap(resolver, name, f"Resolver.{name}")
        self.wrap(connection, "commit", "commit")


@contextlib.contextmanager
def measured(result: dict[str, Any], backend_pid: int | None) -> Iterator[None]:
    server = _proc_cpu(backend_pid) if backend_pid else 0.0
    cpu, wall = time.process_time(), time.perf_counter()
    yield
    result["wall_s"] = round(time.perf_counter() - wall, 3)
    result["client_cpu_s"] = round(time.process_time() - cpu, 3)
    if backend_pid:
        result["server_cpu_s"] = round(_proc_cpu(backend_pid) - server, 3)


def run_round(
    number: int, args: argparse.Namespace, source: Any, profile: Callable[..., Any] | None
) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from patron.events.services.ingest import events_ingest
    from patron.events.services.processing import events_process_pending

    rng = random.Random(number)
    for _ in range(args.events // 100):
        batch = [make_message(rng, args.users) for _ in range(100)]
        events_ingest(source=source, messages=batch, received_at=timezone.now())
    backend = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = cursor.fetchone()[0]
    result: dict[str, Any] = {"round": number, "load_before": os.getloadavg()[0]}
    with measured(result, backend):
        if profile is not None:
            processed = profile(
                events_process_pending, max_seconds=3600, batch_size=args.batch_size
            )[0]
        else:
            processed, _ = events_process_pending(max_seconds=3600, batch_size=args.batch_size)
    result["load_after"] = os.getloadavg()[0]
    result["events"] = processed
    result["events_per_s"] = round(processed / result["wall_s"])
    for key in ("wall_s", "client_cpu_s", "server_cpu_s"):
        if key in result:
            result[key.replace("_s", "_us_per_event")] = round(result[key] / processed * 1e6, 1)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--events", type=int, default=60_000, help="per round")
    ap.add_argument("--users", type=int, default=5_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=None, help="default: the processor's")
    ap.add_argument("--steps", action="store_true", help="wall time per step")
    ap.add_argument("--profile", type=int, default=0, help="cProfile: top N of the last round")
    ap.add_argument("--root", default="", help="a checkout whose patron package to run")
    ap.add_argument("--var", default="/tmp/patron-bench-process")
    ap.add_argument("--pg-name", default="patron_bench_process", help="PostgreSQL database")
    args = ap.parse_args()

    root = Path(args.root).resolve() if args.root else HERE.parent
    os.environ["PYTHONPATH"] = str(root)  # migrations of the code under test
    # ... run from the root too: ``python -m`` puts the working directory before
    # PYTHONPATH, so from another checkout the schema was that checkout's migrations.
    os.chdir(root)
    env = fresh_site(args.db, Path(args.var), args.pg_name)
    env["TASKS_BACKEND"] = "django_tasks.backends.dummy.DummyBackend"
    os.environ.update(env)
    sys.path.insert(0, str(root))
    import django

    django.setup()
    import patron
    from patron.events.services import source_create

    source, _ = source_create(actor=None, name="bench")
    steps = Steps() if args.steps else None
    if steps is not None:
        steps.install()
    out: dict[str, Any] = {
        "db": args.db,
        "code": str(Path(patron.__file__).parent.parent),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rounds": [],
    }
    for number in range(1, args.rounds + 1):
        profiler = None
        if args.profile and number == args.rounds:
            profiler = cProfile.Profile()
        result = run_round(number, args, source, profiler.runcall if profiler else None)
        if steps is not None:
            result["steps_s"] = {k: round(v, 3) for k, v in sorted(steps.seconds.items())}
            steps.seconds.clear()
        out["rounds"].append(result)
        print(json.dumps(result), flush=True)
        if profiler is not None:
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(args.profile)
            stats.sort_stats("cumulative").print_stats(args.profile)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
