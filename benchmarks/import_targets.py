"""Import-target benchmark: companies, orders (with lines), tickets and events, rows/s.

    .venv/bin/python benchmarks/import_targets.py                    # 10k rows, SQLite
    .venv/bin/python benchmarks/import_targets.py --rows 100000 --db postgres

A fresh database is migrated, 2,000 contacts are imported (the customers of the orders
and tickets), then each target's file (deterministic, with ~1% bad rows) is imported
through ``patron import <target> FILE --json`` in a new process, and imported a second
time (re-import: must create nothing). Reported per target: rows/s over the whole
command (start-up included), and the counts.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from import_contacts import fresh_site  # same folder: run as benchmarks/import_targets.py

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench" / "targets"
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/patron")
CONTACTS = 2000


def _write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def generate(rows: int) -> dict[str, Path]:
    rng = random.Random(7)
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "contacts": _write(
            OUT / "contacts.csv",
            ["First name", "Email"],
            [[f"P{i}", f"p{i}@bench.example.com"] for i in range(CONTACTS)],
        )
    }
    countries = ["Germany", "FR", "United States", "es", "Italia"]
    files["companies"] = _write(
        OUT / f"companies-{rows}.csv",
        ["Company name", "Website", "Country", "Employees", "Industry"],
        [
            [
                f"Company {i}",
                f"https://www.company{i}.example/" if i % 100 else "not a site",
                countries[i % 5],
                str(rng.randint(1, 5000)),
                "Retail",
            ]
            for i in range(rows)
        ],
    )
    lines: list[list[str]] = []
    order = 0
    while len(lines) < rows:
        order += 1
        email = f"p{rng.randrange(CONTACTS)}@bench.example.com"
        if order % 100 == 0:
            email = "nobody@bench.example.com"
        for n in range(rng.randint(1, 5)):
            lines.append(
                [
                    f"ORD-{order}",
                    email,
                    "EUR",
                    f"2024-{1 + order % 12:02d}-{1 + order % 28:02d}",
                    f"SKU-{rng.randrange(500)}",
                    f"Product {n}",
                    str(rng.randint(1, 3)),
                    f"{rng.randint(100, 9999) / 100:.2f}",
                ]
            )
    files["orders"] = _write(
        OUT / f"orders-{rows}.csv",
        ["Order id", "Email", "Currency", "Order date", "SKU", "Product", "Quantity", "Price"],
        lines[:rows],
    )
    files["tickets"] = _write(
        OUT / f"tickets-{rows}.csv",
        ["Ticket id", "Email", "Subject", "Status", "Priority", "Created"],
        [
            [
                f"T-{i}",
                f"p{rng.randrange(CONTACTS)}@bench.example.com",
                f"Question {i}" if i % 100 else "",
                ["open", "Solved", "pending"][i % 3],
                ["low", "normal", "High"][i % 3],
                f"2024-03-{1 + i % 28:02d} 10:00",
            ]
            for i in range(rows)
        ],
    )
    files["events"] = _write(
        OUT / f"events-{rows}.csv",
        ["type", "event", "userId", "email", "timestamp", "messageId", "properties"],
        [
            [
                "track",
                ["Viewed Product", "Added to Cart", "Order Completed"][i % 3] if i % 100 else "",
                f"user-{rng.randrange(CONTACTS)}",
                "",
                f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z",
                f"bench-{i}",
                json.dumps({"value": i % 50}),
            ]
            for i in range(rows)
        ],
    )
    return files


def site(db: str, rows: int, tag: str = "") -> dict[str, str]:
    """A fresh site; ``tag`` gives it its own folder and PostgreSQL database."""
    suffix = f"_{tag}" if tag else ""
    return fresh_site(db, OUT / f"site-{db}-{rows}{suffix}", f"patron_bench_targets{suffix}_{rows}")


def run(env: dict[str, str], target: str, path: Path) -> dict[str, object]:
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "patron.cli", "import", target, str(path), "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - started
    if proc.returncode:
        raise SystemExit(f"{target} failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {
        "seconds": round(wall, 1),
        "job_seconds": result.get("seconds"),
        "counts": result["counts"],
        "rows": result["rows"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--targets", default="companies,orders,tickets,events")
    parser.add_argument("--tag", default="", help="own site folder and PostgreSQL database")
    args = parser.parse_args()
    code = subprocess.run(
        [sys.executable, "-c", "import patron; print(patron.__file__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"code: {code.stdout.strip()} ({Path.cwd()})", flush=True)
    files = generate(args.rows)
    env = site(args.db, args.rows, args.tag)
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}", flush=True)
    run(env, "contacts", files["contacts"])
    for target in args.targets.split(","):
        for label in ("first", "again"):
            load = Path("/proc/loadavg").read_text().split()[0]
            r = run(env, target, files[target])
            rate = args.rows / float(r["seconds"])  # type: ignore[arg-type]
            print(
                f"{args.db} {target:9} {label:5} {args.rows:>7,} rows {r['seconds']:>6}s "
                f"{rate:7,.0f} rows/s (job {r['job_seconds']}s) {r['counts']} load {load}->"
                f"{Path('/proc/loadavg').read_text().split()[0]}",
                flush=True,
            )
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}", flush=True)


if __name__ == "__main__":
    main()
