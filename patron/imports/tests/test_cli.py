"""``patron import``: dry run, run, and a real kill -9 in the middle, then resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def site(patron_site: Any) -> Any:
    patron_site.run("createadmin", "--username", "importer", "--password", "import-pass-12345")
    return patron_site


def _csv(path: Path, rows: int, domain: str = "cli", area: int = 212) -> Path:
    with path.open("w") as fh:
        fh.write("first_name,last_name,email,phone\n")
        for i in range(rows):
            fh.write(f"p{i},L{i % 97},p{i}@{domain}.example.com,+1 {area} 55{i % 100000:05d}\n")
    return path


def _one(site: Any, sql: str, args: tuple[Any, ...] = ()) -> Any:
    with sqlite3.connect(site.db_path, timeout=30) as conn:
        return conn.execute(sql, args).fetchone()


def test_dry_run_then_import(site: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "small.csv", 30)
    out = site.run("import", "contacts", str(path), "--dry-run", "--json", "--workers", "0")
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert summary["counts"]["created"] == 30, summary
    assert (
        _one(site, "SELECT COUNT(*) FROM contacts_contact WHERE email LIKE '%@cli.example.com'")[0]
        == 0
    )
    out = site.run("import", "contacts", str(path), "--json", "--workers", "0")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["counts"]["created"] == 30
    out = site.run("import", "contacts", str(path), "--json", "--workers", "0")
    assert json.loads(out.stdout.strip().splitlines()[-1])["counts"]["unchanged"] == 30


def test_kill_9_mid_import_then_resume_creates_every_row_once(site: Any, tmp_path: Path) -> None:
    rows = 20_000
    path = _csv(tmp_path / "big.csv", rows, domain="kill", area=415)
    env = {**site.env, "PATRON_IMPORT_CHUNK_ROWS": "250"}
    proc = subprocess.Popen(
        site.command("import", "contacts", str(path), "--workers", "2"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    job_id = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        row = _one(site, "SELECT id, chunks_done FROM imports_importjob ORDER BY id DESC LIMIT 1")
        if row and row[1] >= 3:
            job_id = row[0]
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes
    proc.wait(timeout=10)
    assert job_id is not None
    status, done = _one(
        site, "SELECT status, rows_done FROM imports_importjob WHERE id=?", (job_id,)
    )
    assert status == "running" and 0 < done < rows, (status, done)
    created = _one(
        site, "SELECT COUNT(*) FROM contacts_contact WHERE email LIKE '%@kill.example.com'"
    )[0]
    assert created == done  # committed chunks only: nothing half-written
    # The runner is dead; make its heartbeat old, as after 5 minutes, and resume
    with sqlite3.connect(site.db_path, timeout=30) as conn:
        conn.execute("UPDATE imports_importjob SET heartbeat_at='2000-01-01' WHERE id=?", (job_id,))
    out = subprocess.run(
        site.command("import", "resume", str(job_id), "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == rows and result["counts"]["created"] == rows
    total, distinct = _one(
        site,
        "SELECT COUNT(*), COUNT(DISTINCT email) FROM contacts_contact "
        "WHERE email LIKE '%@kill.example.com'",
    )
    assert total == distinct == rows
