"""The import's normalising worker, in process: CPU per row of each step, no database.

    .venv/bin/python benchmarks/import_worker.py                     # 100k generated rows
    .venv/bin/python benchmarks/import_worker.py --rows 300000 --repeat 3
    .venv/bin/python benchmarks/import_worker.py --root /tmp/wt-old  # another checkout's code
    .venv/bin/python benchmarks/import_worker.py --profile 30        # cProfile, top 30

It reads the file ``benchmarks/import_contacts.py`` generates (same generator, same seed;
written under ``var/bench`` when missing) with the importer's reader, maps its columns with
the importer's ``auto_map``, and then does, chunk by chunk (5,000 rows), exactly what the
import's worker process does and what crosses the process boundary:

- ``read``: the CSV reader (``iter_rows``; in a real import it runs in the writing process);
- ``rows in``: unpickling the chunk's rows (the pool sends them to the worker; the writing
  process pickles them: ``send rows``);
- ``prepare``: ``prepare_rows`` (normalisation, keys, fingerprints);
- ``rows out``: pickling the prepared chunk (the worker sends it back; the writing process
  unpickles it: ``receive``).

"worker" is ``rows in`` + ``prepare`` + ``rows out``, what the worker process spends;
``read``, ``send rows`` and ``receive`` are spent in the writing process.

Each pass starts with cold memos (every ``lru_cache`` of the normalisers cleared), as a
new import's worker does. ``--breakdown`` adds a second pass that times the hygiene
normalisers by field (wrapping them costs ~1 µs a call, so that pass is a little slower).
CPU time (``process_time``) is reported, so the figure says what the worker costs
whatever else runs on the machine; alternate old and new code (``--root``) to compare.
"""

from __future__ import annotations

import argparse
import gc
import os
import pickle
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ("read", "send rows", "rows in", "prepare", "rows out", "receive")
WORKER = ("rows in", "prepare", "rows out")


def _setup(root: str | None) -> None:
    if root:
        sys.path.insert(0, str(Path(root).resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    import django

    django.setup()


def _csv(rows: int) -> Path:
    sys.path.insert(1, str(HERE))
    import import_contacts

    path = import_contacts.OUT / f"contacts-{rows}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        import_contacts.generate(path, rows)
    return path


def _clear_caches() -> None:
    import functools

    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper):
            obj.cache_clear()


def _plan(path: Path) -> tuple[object, object]:
    from django.conf import settings

    from patron.imports.mapping import auto_map
    from patron.imports.prepare import Plan
    from patron.imports.readers import inspect_file

    info = inspect_file(str(path))
    mapping = auto_map(list(info.headers))
    headers = tuple(info.headers)
    columns = tuple(sorted((headers.index(h), t) for h, t in mapping.items() if t))
    plan = Plan(
        headers=headers,
        columns=columns,
        key="email",
        region=settings.PATRON_DEFAULT_REGION,
        stages=(("lead", "Lead"), ("customer", "Customer")),
    )
    return plan, info


def one_pass(path: Path, chunk: int) -> dict[str, float]:
    import itertools

    from patron.imports.prepare import prepare_rows
    from patron.imports.readers import iter_rows

    plan, info = _plan(path)
    _clear_caches()
    spent = dict.fromkeys(STEPS, 0.0)
    rows = 0
    size_in = size_out = 0
    source = iter_rows(str(path), info)  # type: ignore[arg-type]
    clock = time.process_time
    gc.disable()
    try:
        while True:
            t0 = clock()
            batch = list(itertools.islice(source, chunk))
            t1 = clock()
            if not batch:
                break
            blob = pickle.dumps(batch, pickle.HIGHEST_PROTOCOL)
            t2 = clock()
            batch = pickle.loads(blob)
            t3 = clock()
            prepared = prepare_rows(plan, batch)  # type: ignore[arg-type]
            t4 = clock()
            out = pickle.dumps(prepared, pickle.HIGHEST_PROTOCOL)
            t5 = clock()
            pickle.loads(out)
            t6 = clock()
            took = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
            for step, seconds in zip(STEPS, took, strict=True):
                spent[step] += seconds
            rows += len(batch)
            size_in += len(blob)
            size_out += len(out)
            gc.collect(1)
    finally:
        gc.enable()
    spent["rows"] = rows
    spent["kb in"] = size_in / 1024
    spent["kb out"] = size_out / 1024
    return spent


def breakdown(path: Path, chunk: int) -> dict[str, float]:
    """Seconds inside each hygiene normaliser the worker calls (one more pass)."""
    import patron.hygiene.normalize.record as record

    spent: dict[str, float] = {}
    names = (
        "normalize_email",
        "normalize_phone",
        "normalize_country",
        "normalize_date",
        "name_parse",
        "normalize_postal_code",
    )
    originals = {n: getattr(record, n) for n in names}

    def timed(name: str, fn):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.process_time() - t

        return wrapper

    for n, fn in originals.items():
        setattr(record, n, timed(n, fn))
    try:
        total = one_pass(path, chunk)
    finally:
        for n, fn in originals.items():
            setattr(record, n, fn)
    spent["prepare (wrapped)"] = total["prepare"]
    spent["rows"] = total["rows"]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--root", help="run the patron package of this checkout")
    parser.add_argument("--csv", help="this file instead of the generated one")
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--profile", type=int, default=0, metavar="N")
    args = parser.parse_args()
    _setup(args.root)
    import patron

    path = Path(args.csv) if args.csv else _csv(args.rows)
    print(f"code: {Path(patron.__file__).parent.parent}  file: {path}")
    print(f"load before: {Path('/proc/loadavg').read_text().split()[0]}")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.runcall(one_pass, path, args.chunk)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(args.profile)
        pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile)
        return
    for _ in range(args.repeat):
        got = one_pass(path, args.chunk)
        rows = got["rows"]
        worker = sum(got[k] for k in WORKER)
        writer = sum(got[k] for k in STEPS if k not in WORKER)
        parts = ", ".join(f"{k} {got[k] / rows * 1e6:.1f}" for k in STEPS)
        print(
            f"{rows:,.0f} rows; CPU µs a row: {parts}; WORKER {worker / rows * 1e6:.1f}, "
            f"writer side {writer / rows * 1e6:.1f}; pickled in/out {got['kb in'] / 1024:.1f}/"
            f"{got['kb out'] / 1024:.1f} MB",
            flush=True,
        )
    if args.breakdown:
        got = breakdown(path, args.chunk)
        rows = got.pop("rows")
        print(
            "normalisers, CPU µs a row: "
            + ", ".join(f"{k} {v / rows * 1e6:.1f}" for k, v in sorted(got.items()))
        )
    print(f"load after: {Path('/proc/loadavg').read_text().split()[0]}")


if __name__ == "__main__":
    main()
