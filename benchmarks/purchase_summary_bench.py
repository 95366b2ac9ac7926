"""Purchase conditions without a window: grouped orders (before) vs the per-contact
purchase summary (after, ADR 0061), in one process on the segments benchmark database.

Uses the data of ``segments_data.py`` as it is (never generates it): run
``segments_bench.py --generate-only`` first, or have the database migrated to commerce
0003 (its backfill fills the summary). The two variants alternate, round by round, so
that both see the same machine load; each timing is the COUNT of members of a compiled
whole-table query, in Patron's evaluation session, after a warm-up; the member counts
of the two variants must agree.

    flock /tmp/patron-bench.lock nice -n 0 .venv/bin/python \
        benchmarks/purchase_summary_bench.py --db postgres --rounds 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from segments_bench import SEGMENTS, loadavg  # noqa: E402
from segments_data import NOW, configure  # noqa: E402

CASES = [
    ("engaged customers", dict(SEGMENTS)["engaged customers"]),
    ("total spend >= 100", "orders total >= 100"),
    ("new high spenders", dict(SEGMENTS)["new high spenders"]),
]


def grouped_compiler() -> type:
    """The compiler as it was before the summary: every purchase condition groups the
    orders (as windowed conditions still do)."""
    from django.db.models import Q

    from patron.segments.compiler import Compiler

    class Grouped(Compiler):
        def _purchases(self, measure: str, op: str, value: Any) -> Q:
            return self._grouped_orders(measure, op, value, None)

    return Grouped


def refresh_costs(rounds: int) -> dict[str, float]:
    """What the write paths and a backfill pay: ``purchase_summary_refresh`` of 1 and of
    1,000 buyers, and a whole-table rebuild (each in a transaction rolled back)."""
    from django.db import transaction

    from patron.commerce.models import ContactPurchaseSummary
    from patron.commerce.summary import purchase_summary_rebuild, purchase_summary_refresh

    ids = list(ContactPurchaseSummary.objects.order_by("pk").values_list("pk", flat=True))
    step = max(1, len(ids) // 1000)
    cases = {
        "refresh 1 contact": lambda: purchase_summary_refresh(
            ids[len(ids) // 2 : len(ids) // 2 + 1]
        ),
        "refresh 1,000 contacts": lambda: purchase_summary_refresh(ids[::step][:1000]),
        "rebuild all": purchase_summary_rebuild,
    }
    out = {}
    for name, fn in cases.items():
        times = []
        for _ in range(rounds if name != "rebuild all" else 2):
            with transaction.atomic():
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
                transaction.set_rollback(True)
        out[name] = statistics.median(times)
        print(f"  {name:24s} {out[name] * 1000:9.2f} ms (median of {len(times)})", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure(args.db, args.scale)
    from django.db import connection

    from patron.commerce.models import ContactPurchaseSummary, Order
    from patron.segments.compiler import Compiler
    from patron.segments.dbsession import evaluation
    from patron.segments.rules import Catalogue, parse_rules, validate

    print(f"{connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    print(f"load average before: {loadavg()}", flush=True)
    summary_rows = ContactPurchaseSummary.objects.count()
    print(f"orders {Order.objects.count():,}  summary rows {summary_rows:,}", flush=True)
    if not summary_rows:
        raise SystemExit("the purchase summary is empty: migrate (commerce 0003) first")
    catalogue = Catalogue.load()
    variants = {"grouped": grouped_compiler(), "summary": Compiler}
    out: dict[str, Any] = {"db": connection.vendor, "load_before": loadavg(), "cases": []}
    for name, text in CASES:
        tree = validate(parse_rules(text), catalogue)
        queries = {k: cls(catalogue, now=NOW).queryset(tree) for k, cls in variants.items()}
        times: dict[str, list[float]] = {k: [] for k in queries}
        counts: dict[str, int] = {}

        def run(qs: Any) -> int:
            with evaluation():
                return int(qs.count())

        for k, qs in queries.items():  # warm-up
            counts[k] = run(qs)
        for _ in range(args.rounds):
            for k, qs in queries.items():
                t = time.perf_counter()
                n = run(qs)
                times[k].append(time.perf_counter() - t)
                assert n == counts[k]
        if counts["grouped"] != counts["summary"]:
            raise SystemExit(f"{name}: member counts differ: {counts}")
        med = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"  {name:22s} members {counts['summary']:>8,}  grouped "
            f"{med['grouped'] * 1000:7.1f} ms  summary {med['summary'] * 1000:7.1f} ms  "
            f"ratio {med['grouped'] / med['summary']:5.2f}  "
            f"(min {min(times['grouped']) * 1000:.0f} / {min(times['summary']) * 1000:.0f} ms)",
            flush=True,
        )
        out["cases"].append({"case": name, "members": counts["summary"], "times": times})
    out["refresh"] = refresh_costs(args.rounds)
    out["load_after"] = loadavg()
    print(f"load average after: {out['load_after']}", flush=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
