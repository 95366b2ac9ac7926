"""Import benchmark: a messy contact CSV imported with normalisation and duplicate checks.

    .venv/bin/python benchmarks/import_contacts.py               # 10k, 100k, 1M, both DBs
    .venv/bin/python benchmarks/import_contacts.py --sizes 100000 --db sqlite
    .venv/bin/python benchmarks/import_contacts.py --write-docs  # and docs/performance.md
    # before/after: another checkout's code, own databases, first import only
    .venv/bin/python benchmarks/import_contacts.py --sizes 300000 --root /tmp/wt-old \
        --tag old --first-only

For every size it generates a CSV (deterministic) with realistic mess: mixed phone formats
(national, international, 00-prefix, dots, brackets), names in UPPER/lower case, stray
whitespace, 3% duplicates (an earlier person again: other case, other phone format) and
1% bad rows (invalid or missing email, cells missing, a phone that is not one, a date that
is not one). Each import runs in a fresh process on a fresh database (SQLite file, or a
new PostgreSQL database) through ``patron import contacts`` (the same code as the UI's
background task: hygiene normalisation in keep-and-flag mode, duplicate checks, bulk
writes, journal, activity entries), and is then run a second time (re-import: must change
nothing). Reported: rows/s, wall time, peak RSS of the importing process tree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from import_data import HEADERS, generate  # noqa: F401  (same folder; used by other scripts)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
PG_URL = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432/patron")


def _peak_children_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def fresh_site(db: str, var: Path, pg_name: str) -> dict[str, str]:
    """The environment of a new, migrated Patron site with an admin ("bench"): a new
    SQLite file under ``var``, or the PostgreSQL database ``pg_name`` dropped and made
    again. (benchmarks/import_targets.py uses it too.)"""
    var.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env.update(PATRON_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="patron.settings", DEBUG="false")
    if db == "sqlite":
        dbfile = var / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{dbfile}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{dbfile}"
    else:
        import psycopg

        base = PG_URL.rsplit("/", 1)[0]
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}"')
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        env["DATABASE_URL"] = f"{base}/{pg_name}"
    patron = [sys.executable, "-m", "patron.cli"]
    subprocess.run([*patron, "migrate", "-v", "0"], env=env, check=True)
    subprocess.run(
        [*patron, "createadmin", "--username", "bench", "--password", "bench-password-42"],
        env=env,
        check=True,
        capture_output=True,
    )
    return env


def run_import(
    csv_path: Path,
    db: str,
    size: int,
    *,
    root: Path | None = None,
    tag: str = "",
    first_only: bool = False,
) -> dict[str, object]:
    """Migrate a fresh database, then import the file twice, each in a new process.

    ``root``: run another checkout's code (its ``patron`` package first on the path), for
    before/after pairs; ``tag`` names the run's own site folder and PostgreSQL database
    (``patron_bench_<tag>_<size>``), so runs of other people or checkouts never share one."""
    suffix = f"-{tag}" if tag else ""
    pg_name = f"patron_bench_{tag}_{size}" if tag else f"patron_bench_{size}"
    if root is not None:  # ``python -m patron.cli`` finds ``patron`` in the working folder
        os.environ["PYTHONPATH"] = str(root)
        os.chdir(root)
    env = fresh_site(db, OUT / f"site-{db}-{size}{suffix}", pg_name)
    patron = [sys.executable, "-m", "patron.cli"]
    out: dict[str, object] = {"db": db, "rows": size}
    if root is not None:
        out["root"] = str(root)
    for label in ("first",) if first_only else ("first", "again"):
        code = (
            "import resource,subprocess,sys,json;"
            "p=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
            "sys.stderr.write(p.stderr[-2000:] if p.returncode else '');"
            "print(json.dumps({'rc':p.returncode,'out':p.stdout,'err':p.stderr[-4000:],"
            "'rss':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))"
        )
        load_before = _load()
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-c",
                code,
                *patron,
                "import",
                "contacts",
                str(csv_path),
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=root or None,
        )
        wall = time.monotonic() - started
        load_after = _load()
        meta = json.loads(proc.stdout)
        if meta["rc"]:
            raise SystemExit(f"import failed: {proc.stderr}")
        result = json.loads(meta["out"].strip().splitlines()[-1])
        # The engine logs where the time went (waiting for the normalising worker,
        # classifying, writing, seconds per table inserted).
        phases = [
            _message(ln) for ln in meta.get("err", "").splitlines() if "waiting for prepared" in ln
        ]
        out[label] = {
            "seconds": round(wall, 1),
            "rows_per_second": round(size / wall),
            "peak_rss_mb": round(meta["rss"] / 1024),
            "counts": result["counts"],
            "load": [load_before, load_after],
            "phases": phases[-1] if phases else "",
        }
        print(
            f"  {db} {size:>9,} {label}: {wall:6.1f}s {size / wall:9,.0f} rows/s "
            f"rss {meta['rss'] / 1024:6.0f} MB load {load_before}->{load_after} "
            f"{result['counts']}\n    {phases[-1] if phases else ''}",
            flush=True,
        )
    return out


def _message(line: str) -> str:
    """The engine's log message (the line is a JSON log record, or plain text)."""
    try:
        return str(json.loads(line)["msg"])
    except (ValueError, KeyError, TypeError):
        return line


def _load() -> float:
    """The 1-minute load average (other work on the machine skews every figure)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, Python {platform.python_version()}"


def _loads(run: dict[str, object]) -> str:
    load = run.get("load")
    if not isinstance(load, list):
        return "not recorded"
    return f"{load[0]:.1f}→{load[1]:.1f}"


def write_docs(results: list[dict[str, object]]) -> None:
    import sqlite3

    docs = ROOT / "docs" / "performance.md"
    start, end = "<!-- import-benchmark:start -->", "<!-- import-benchmark:end -->"
    lines = [
        start,
        "",
        f"Measured {dt.date.today().isoformat()} on {machine()}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL (local, default settings). Command: "
        "`.venv/bin/python benchmarks/import_contacts.py --write-docs`.",
        "",
        "| database | rows | first import | rows/s | re-import (no-op) | rows/s | peak RSS "
        "| load before→after (first; re-import) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        f, a = r["first"], r["again"]
        assert isinstance(f, dict) and isinstance(a, dict)
        lines.append(
            f"| {r['db']} | {r['rows']:,} | {f['seconds']} s | {f['rows_per_second']:,} | "
            f"{a['seconds']} s | {a['rows_per_second']:,} | {f['peak_rss_mb']} MB "
            f"| {_loads(f)}; {_loads(a)} |"
        )
    lines.append("")
    lines.append("Counts of the first import (created / duplicate / error / flagged):")
    lines.append("")
    for r in results:
        c = r["first"]["counts"]  # type: ignore[index]
        lines.append(
            f"- {r['db']} {r['rows']:,}: created {c['created']:,}, duplicate {c['duplicate']:,}, "
            f"error {c['error']:,}, flagged {c['flagged']:,}; re-import: "
            f"unchanged {r['again']['counts']['unchanged']:,}, "  # type: ignore[index]
            f"created {r['again']['counts']['created']}, "  # type: ignore[index]
            f"updated {r['again']['counts']['updated']}"  # type: ignore[index]
        )
    lines += ["", end]
    block = "\n".join(lines)
    text = docs.read_text() if docs.exists() else "# Performance\n"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n## Import (issue 5)\n\n" + block + "\n"
    docs.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--root", type=Path, help="run the code of another checkout")
    parser.add_argument("--tag", default="", help="own site folder and PostgreSQL database")
    parser.add_argument("--first-only", action="store_true", help="skip the re-import")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    results = []
    for size in sizes:
        path = OUT / f"contacts-{size}.csv"
        if not path.exists():
            t = time.monotonic()
            planted = generate(path, size)
            print(f"generated {path} ({size:,} rows, {planted}) in {time.monotonic() - t:.1f}s")
        for db in dbs:
            results.append(
                run_import(path, db, size, root=args.root, tag=args.tag, first_only=args.first_only)
            )
    if args.root is not None or args.tag or args.first_only:
        return  # a comparison run: the stored results and the docs stay as they were
    # Results accumulate across runs (one entry per database and size, newest wins).
    store = OUT / "results.json"
    kept = json.loads(store.read_text()) if store.exists() else []
    fresh = {(r["db"], r["rows"]) for r in results}
    merged = [r for r in kept if (r["db"], r["rows"]) not in fresh] + results
    merged.sort(key=lambda r: (r["db"] != "sqlite", r["rows"]))
    store.write_text(json.dumps(merged, indent=2))
    if args.write_docs:
        write_docs(merged)
        print("docs/performance.md updated")


if __name__ == "__main__":
    main()
