"""Erasure's scan of stored import uploads (ADR 0080, 0088).

N stored uploads of SIZE MB each (CSV: name, email, phone, city; none mentions the person,
so every file is read to the end: the worst case) and one person to erase. Times
``import_uploads_scan`` (what ``contact_erase`` runs before its first write) with the
uploads' jobs changed today, and again with ``--aged`` of them last changed 40 days ago
(past the default 30-day retention: the scan no longer reads them). Files are written once
and read from the page cache (the first, cold, pass is reported separately).

Runs in a throw-away database (a SQLite file in a temporary directory, or a new
PostgreSQL database dropped at the end). Works on code without retention too (the aged
pass then reads every file):

    flock /tmp/patron-bench.lock .venv/bin/python benchmarks/erasure_uploads.py \
        --db sqlite --uploads 50 --mb 10 --aged 40 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
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

        name = f"patron_erasebench_{os.getpid()}"
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


def csv_text(mb: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    first = ["Ann", "Bo", "Cy", "Dana", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo"]
    last = ["Smith", "Jones", "Brown", "Lee", "Khan", "Garcia", "Novak", "Rossi"]
    cities = ["Lyon", "Leeds", "Porto", "Graz", "Turku", "Gent", "Brno"]
    lines = ["name,email,phone,city"]
    size, i = 0, 0
    while size < mb * 2**20:
        f, la = rnd.choice(first), rnd.choice(last)
        line = (
            f"{f} {la},{f.lower()}.{la.lower()}{i}@example.org,"
            f"+44 20 {rnd.randrange(10**7, 10**8)},{rnd.choice(cities)}"
        )
        lines.append(line)
        size += len(line) + 1
        i += 1
    return ("\n".join(lines) + "\n").encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--uploads", type=int, default=50)
    parser.add_argument("--mb", type=int, default=10)
    parser.add_argument("--aged", type=int, default=40, help="uploads past retention")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="patron-erasebench-") as tmp:
        name = setup(args.db, tmp)
        try:
            run(args, Path(tmp))
        finally:
            drop(name)


def run(args: argparse.Namespace, tmp: Path) -> None:
    from django.utils import timezone

    from patron.contacts.models import Contact
    from patron.imports.models import ImportJob
    from patron.privacy.services.uploads import import_uploads_scan

    folder = tmp / "imports"
    folder.mkdir(exist_ok=True)
    body = csv_text(args.mb, 1)
    rows = body.count(b"\n") - 1
    jobs = []
    for n in range(args.uploads):
        path = folder / f"upload-{n}.csv"
        path.write_bytes(body)
        jobs.append(
            ImportJob.objects.create(
                file_name=path.name,
                file_path=str(path),
                file_size=len(body),
                file_sha256="0" * 64,
                file_format="csv",
                encoding="utf-8",
                delimiter=",",
                headers=["name", "email", "phone", "city"],
                status="done",
            )  # fmt: skip
        )
    ada = Contact.objects.create(email="ada.lovelace@example.com", phone="+14155550134")
    found = {
        "email": {ada.email},
        "phone": {ada.phone},
        "user_id": set(),
        "anonymous_id": set(),
        "external_id": set(),
    }

    def scan() -> tuple[float, int]:
        start = time.perf_counter()
        plan = import_uploads_scan(contact_ids=[ada.pk], found=found)
        return time.perf_counter() - start, len(plan.files)

    print(
        f"db={args.db} uploads={args.uploads} x {len(body) / 2**20:.1f} MB "
        f"({rows} rows each) load={os.getloadavg()[0]:.2f}"
    )
    cold, _ = scan()
    print(f"  cold first pass, all recent: {cold:.2f} s")
    for label, aged in (("all recent", 0), (f"{args.aged} aged 40 days", args.aged)):
        old = timezone.now() - dt.timedelta(days=40)
        ImportJob.objects.update(updated_at=timezone.now())
        ImportJob.objects.filter(pk__in=[j.pk for j in jobs[:aged]]).update(updated_at=old)
        times = []
        for _ in range(args.repeat):
            seconds, mentions = scan()
            assert mentions == 0, "no upload mentions the person"
            times.append(seconds)
        shown = " / ".join(f"{t:.2f}" for t in times)
        print(f"  {label}: {shown} s (load {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
