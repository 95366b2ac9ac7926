"""Synthetic data for ``segments_bench.py``: 1,000,000 contacts, 10,000,000 track events
and 500,000 orders at ``--scale 1``, loaded fast and reused across runs.

- PostgreSQL: ``COPY ... FROM STDIN`` (psycopg 3 ``cursor.copy``) of text blocks built in
  Python, foreign-key triggers off for the load (``session_replication_role = replica``).
- SQLite: ``executemany`` in one transaction per table, foreign keys off for the load.
- Both: the secondary indexes of the loaded tables are dropped before loading and
  re-created afterwards from their own definitions (``pg_indexes`` / ``sqlite_master``),
  then ``VACUUM ANALYZE`` / ``ANALYZE``.
- A marker table (``bench_segments_marker``) records what was generated (scale, seed,
  generator version); a later run with the same marker reuses the database, a different
  one starts from an empty database.

Databases live outside the repository: SQLite files in ``/work/bench-data`` (or
``$PATRON_BENCH_DATA``), PostgreSQL database ``patron_bench_segments``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DATA_DIR = Path(os.environ.get("PATRON_BENCH_DATA", "/work/bench-data"))
PG_NAME = "patron_bench_segments"
VERSION = 4  # bump when the generated data changes shape (4: recent event timestamps)
#: Older generations brought up to date in place, without generating again: version ->
#: what it lacks (filled by ``_upgrade``).
UPGRADES = {3: "ContactEventCount.recent_1..8 (events migration 0008)"}
EVENTS = ["Viewed Product", "Added to Cart", "Signed Up", "Searched", "Opened Email"]
EVENT_WEIGHTS = [50, 15, 2, 25, 8]
COUNTRIES = ["US", "DE", "FR", "GB", "ES", "IT", "NL", "BR", "IN", "JP"]
STAGES = ["subscriber", "lead", "customer", "customer", "churned"]
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
LOADED = [
    "contacts_contact",
    "events_event",
    "commerce_order",
    "commerce_orderline",
    "contacts_contact_tags",
    "privacy_consent",
    "events_contacteventcount",
    "events_contacteventsummary",
]


def configure(db: str, scale: float) -> str:
    """Point Django at the benchmark database (created if missing) and set it up."""
    if db == "postgres":
        import dj_database_url

        base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/patron"
        if not base.startswith("postgres"):
            raise SystemExit("DATABASE_URL must be a PostgreSQL URL for --db postgres")
        _pg_admin(dj_database_url.parse(base), create=True)
        url = base.rsplit("/", 1)[0] + "/" + PG_NAME
    else:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{DATA_DIR / f'segments_{scale:g}.sqlite3'}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")
    import django

    django.setup()
    return url


def _pg_admin(cfg: dict[str, Any], create: bool = False, drop: bool = False) -> None:
    import psycopg

    with psycopg.connect(
        host=cfg["HOST"], port=cfg["PORT"] or None, user=cfg["USER"], dbname="postgres",
        password=cfg.get("PASSWORD") or None, autocommit=True,
    ) as conn:  # fmt: skip
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME])
        if create and not exists.fetchone():
            conn.execute(f'CREATE DATABASE "{PG_NAME}"')


def _marker() -> dict[str, Any] | None:
    from django.db import connection

    with connection.cursor() as cur:
        if "bench_segments_marker" not in connection.introspection.table_names(cur):
            return None
        cur.execute("SELECT spec FROM bench_segments_marker")
        row = cur.fetchone()
    return json.loads(row[0]) if row else None


def _reset() -> None:
    """Start from an empty database (the marker did not match)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        cfg = dict(connection.settings_dict)
        connection.close()
        _pg_admin(cfg, create=True, drop=True)
    else:
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def generate(scale: float, seed: int = 7) -> None:
    """Generate the data unless the database already holds exactly this generation."""
    from django.core.management import call_command
    from django.db import connection

    spec = {"version": VERSION, "scale": scale, "seed": seed}
    found = _marker()
    if found == spec:
        call_command("migrate", verbosity=0)
        print(f"reusing the generated database ({spec})", flush=True)
        return
    if (
        found is not None
        and found.get("version") in UPGRADES
        and all(found.get(k) == spec[k] for k in ("scale", "seed"))
    ):
        _upgrade(found, spec)
        return
    if found is not None or _has_tables():
        print(f"marker {found} does not match {spec}: regenerating", flush=True)
        _reset()
    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    pg = connection.vendor == "postgresql"
    indexes = _drop_indexes()
    _load_all(scale, random.Random(seed), pg, t0)
    _derived(pg)
    print(f"  derived tables {time.perf_counter() - t0:.0f}s", flush=True)
    with connection.cursor() as cur:
        for sql in indexes:
            cur.execute(sql)
        if pg:
            for table in ("contacts_contact", "commerce_order", "events_event"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT MAX(id) FROM {table}))"
                )
    print(f"  {len(indexes)} indexes re-created {time.perf_counter() - t0:.0f}s", flush=True)
    _analyze([""])  # the whole database
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE bench_segments_marker (spec TEXT NOT NULL)")
        cur.execute("INSERT INTO bench_segments_marker (spec) VALUES (%s)", [json.dumps(spec)])
    print(f"generated in {time.perf_counter() - t0:.0f}s", flush=True)


def _upgrade(found: dict[str, Any], spec: dict[str, Any]) -> None:
    """Bring an older generation of the same data up to ``spec`` in place: migrate (the
    events migration 0008 fills the recent timestamps of existing rows), fill them here
    if the migration had run before the rows were loaded, re-analyse, new marker."""
    from django.core.management import call_command
    from django.db import connection

    print(f"upgrading {found} -> {spec}: {UPGRADES[found['version']]}", flush=True)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"  migrate {time.perf_counter() - t0:.0f}s", flush=True)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM events_contacteventcount WHERE recent_1 IS NULL AND count > 0"
        )
        missing = cur.fetchone()[0]
    if missing:
        _fill_recent()
        print(f"  {missing:,} rows filled {time.perf_counter() - t0:.0f}s", flush=True)
    _analyze(["events_contacteventcount"])
    with connection.cursor() as cur:
        cur.execute("UPDATE bench_segments_marker SET spec = %s", [json.dumps(spec)])
    print(f"upgraded in {time.perf_counter() - t0:.0f}s", flush=True)


def _analyze(tables: list[str]) -> None:
    """``VACUUM ANALYZE`` (PostgreSQL) / ``ANALYZE`` (SQLite) of tables ("": all)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        import psycopg

        with psycopg.connect(_dsn(), autocommit=True) as c:
            for table in tables:
                c.execute(f"VACUUM ANALYZE {table}".strip())
    else:
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(f"ANALYZE {table}".strip())


def _fill_recent() -> None:
    """Each event-count row's newest timestamps, by the events migration's own backfill
    (one statement over the event table)."""
    import importlib

    from django.db import connection, transaction

    backfill = importlib.import_module(
        "patron.events.migrations.0008_contact_event_recent_timestamps"
    ).backfill

    class Editor:  # what the backfill uses of a schema editor
        def __init__(self) -> None:
            self.connection = connection

        def execute(self, sql: str) -> None:
            with connection.cursor() as cur:
                cur.execute(sql)

    with transaction.atomic():
        backfill(None, Editor())


def sqlite_ts(d: dt.datetime) -> str:
    """A datetime as Django stores it on SQLite (naive UTC, microseconds only if any)."""
    return d.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")


def _has_tables() -> bool:
    from django.db import connection

    with connection.cursor() as cur:
        return "contacts_contact" in connection.introspection.table_names(cur)


def _drop_indexes() -> list[str]:
    """Drop the secondary (non-unique, not constraint) indexes of the loaded tables;
    returns the statements that re-create them."""
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i"
                " JOIN pg_class c ON c.relname = i.indexname"
                " JOIN pg_index x ON x.indexrelid = c.oid"
                " WHERE i.tablename = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary",
                [LOADED],
            )
        else:
            marks = ", ".join(["%s"] * len(LOADED))
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                f" AND sql NOT LIKE 'CREATE UNIQUE%%' AND tbl_name IN ({marks})",
                LOADED,
            )
        found = cur.fetchall()
        for name, _ in found:
            cur.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in found]


# --- timestamps as text, fast ---------------------------------------------------------------

_EPOCH = int(NOW.timestamp())
_DAY0 = _EPOCH // 86400 - 4 * 365
_DAYS = [
    (dt.date(1970, 1, 1) + dt.timedelta(days=_DAY0 + i)).isoformat() for i in range(4 * 365 + 2)
]
_SECS = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]


def _stamper(pg: bool) -> Callable[[int], str]:
    """seconds before NOW -> the text the database stores for that instant."""
    days, secs, base, suffix = _DAYS, _SECS, _DAY0, "+00" if pg else ""

    def stamp(ago: int) -> str:
        t = _EPOCH - ago
        return f"{days[t // 86400 - base]} {secs[t % 86400]}{suffix}"

    return stamp


# --- loading --------------------------------------------------------------------------------


def _load_all(scale: float, rng: random.Random, pg: bool, t0: float) -> None:
    stamp = _stamper(pg)
    rand = rng.random
    n_contacts = int(1_000_000 * scale)
    year, three_years = 365 * 86400, 3 * 365 * 86400

    def contacts() -> Iterator[tuple[Any, ...]]:
        for i in range(1, n_contacts + 1):
            created = stamp(int(rand() * three_years))
            yield (
                i, f"First{i % 5000}", f"Last{i % 20000}", f"user{i}@example.com",
                COUNTRIES[int(rand() * 10)], STAGES[int(rand() * 5)], created, created, "{}",
            )  # fmt: skip

    cols = "id first_name last_name email country lifecycle_stage created_at updated_at"
    _load("contacts_contact", [*cols.split(), "invalid_fields"], contacts(), pg)
    print(f"  contacts {time.perf_counter() - t0:.0f}s", flush=True)

    n_events = int(10_000_000 * scale)
    active = max(1, n_contacts // 5)
    true = "t" if pg else 1

    def events() -> Iterator[tuple[Any, ...]]:
        # Oldest first, as ingest appends them (ids and heap order follow time). Recent
        # days are denser: the age is the square of a uniform number times a year, so
        # the share of events older than d days is 1 - sqrt(d / 365); each day gets its
        # share, at sorted random seconds. Half the events come from an active fifth of
        # the contacts, half from anyone.
        made = 0
        for day in range(364, -1, -1):
            share = (math.sqrt((day + 1) / 365) - math.sqrt(day / 365)) * n_events
            k = n_events - made if day == 0 else round(share)
            made += k
            names = rng.choices(EVENTS, EVENT_WEIGHTS, k=k)
            ages = sorted((int((day + rand()) * 86400) for _ in range(k)), reverse=True)
            for j, age in enumerate(ages):
                cid = int(rand() * (active if rand() < 0.5 else n_contacts)) + 1
                at = stamp(age)
                props = '{"plan": "pro"}' if j % 3 == 0 else "{}"
                yield (cid, "track", names[j], at, at, props, "{}", "{}", "{}", true)

    cols = "contact_id type event timestamp received_at properties traits context integrations"
    _load("events_event", [*cols.split(), "processed"], events(), pg)
    print(f"  events {time.perf_counter() - t0:.0f}s", flush=True)

    totals = ["9.00", "19.00", "29.00", "49.00", "79.00", "120.00", "250.00", "400.00"]
    statuses = ["completed", "refunded", "cancelled", "partially_refunded"]

    def orders() -> Iterator[tuple[Any, ...]]:
        n = int(500_000 * scale)
        picks = rng.choices(statuses, [90, 4, 4, 2], k=n)
        for i in range(1, n + 1):
            total = totals[int(rand() * 8)]
            at = stamp(int(rand() * 2 * year))
            cid = int(rand() * n_contacts) + 1
            yield (i, cid, picks[i - 1], total, total, "0.00", at, at, at)

    _load("commerce_order", ["id", "contact_id", "status", "subtotal", "total",
          "refunded_amount", "placed_at", "created_at", "updated_at"], orders(), pg)  # fmt: skip
    print(f"  orders {time.perf_counter() - t0:.0f}s", flush=True)
    from patron.commerce.summary import purchase_summary_rebuild

    purchase_summary_rebuild()  # the per-contact purchase summary (ADR 0061)


def _derived(pg: bool) -> None:
    """Order lines, a tag, consent entries and the per-contact event aggregates, by SQL."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO commerce_orderline (order_id, contact_id, sku, name, category,"
            " quantity, unit_price, total) SELECT id, contact_id, 'SKU-' || (id % 50),"
            " 'Product', 'cat' || (id % 7), 1, total, total FROM commerce_order"
        )
        cur.execute(
            "INSERT INTO contacts_tag (name, color, created_at)"
            " VALUES ('churn-risk', '#64748b', %s)",
            [_stamper(pg)(0)],
        )
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
    _fill_recent()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO events_contacteventsummary (contact_id, first_seen, last_seen,"
            " event_count, page_views, screen_views, sessions, updated_at)"
            " SELECT contact_id, MIN(first_at), MAX(last_at), SUM(count), 0, 0, 1, MAX(last_at)"
            " FROM events_contacteventcount GROUP BY contact_id"
        )


def _dsn() -> str:
    from django.db import connection

    s = connection.settings_dict
    return f"host={s['HOST']} port={s['PORT'] or 5432} user={s['USER']} dbname={s['NAME']}"


def _blank_columns(table: str) -> dict[str, Any]:
    """NOT NULL columns the generator leaves out, with the value Django would store."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.null or f.primary_key:
            continue
        default = f.get_default()
        if isinstance(default, (dict, list)):
            default = json.dumps(default)
        if default is not None:
            out[f.column] = default
    return out


def _load(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]], pg: bool) -> None:
    from django.db import connection, transaction

    defaults = _blank_columns(table)
    extra = [c for c in defaults if c not in columns]
    all_cols = columns + extra
    if pg:
        tail = "".join(
            "\t" + ({True: "t", False: "f"}.get(v, str(v)) if isinstance(v, bool) else str(v))
            for v in (defaults[c] for c in extra)
        )
        connection.ensure_connection()
        raw = connection.connection
        with raw.cursor() as cur:
            cur.execute("SET session_replication_role = replica")  # no FK triggers
            with cur.copy(f"COPY {table} ({', '.join(all_cols)}) FROM STDIN") as copy:
                block: list[str] = []
                for row in rows:
                    block.append("\t".join(map(str, row)) + tail)
                    if len(block) == 50_000:
                        copy.write("\n".join(block) + "\n")
                        block.clear()
                if block:
                    copy.write("\n".join(block) + "\n")
            cur.execute("SET session_replication_role = DEFAULT")
        raw.commit()
        return
    tail_values = tuple(defaults[c] for c in extra)
    marks = ", ".join(["%s"] * len(all_cols))
    sql = f"INSERT INTO {table} ({', '.join(all_cols)}) VALUES ({marks})"
    with connection.cursor() as cur:
        cur.execute("PRAGMA foreign_keys = OFF")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row + tail_values)
                if len(batch) == 50_000:
                    cur.executemany(sql, batch)
                    batch.clear()
            if batch:
                cur.executemany(sql, batch)
    finally:
        with connection.cursor() as cur:
            cur.execute("PRAGMA foreign_keys = ON")
