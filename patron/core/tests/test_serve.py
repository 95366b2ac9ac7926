"""``patron serve``: gunicorn really serves the app, its static files and (optionally) a worker.

These tests start the real command in a subprocess against a throw-away SQLite database
(migrated first), so they exercise exactly what ``make run`` does.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from django.core.management.base import CommandError

from patron.core.management.commands.serve import Command

if TYPE_CHECKING:
    from conftest import PatronSite

START_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, site: PatronSite, *args: str) -> None:
        self.port = _free_port()
        self.log = site.var / f"serve-{self.port}.log"
        self.url = f"http://127.0.0.1:{self.port}"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                site.command("serve", "--port", str(self.port), *args),
                env=site.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def output(self) -> str:
        return self.log.read_text()

    def get(self, path: str) -> tuple[int, bytes, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return response.status, response.read(), response.headers["Content-Type"]
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), exc.headers["Content-Type"]

    def wait_until_healthy(self) -> dict:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                status, body, _ = self.get("/healthz")
                if status == 200:
                    return json.loads(body)
            except OSError:
                pass
            time.sleep(0.1)
        pytest.fail(f"serve did not answer /healthz in {START_TIMEOUT}s:\n{self.output()}")

    def wait_for_line(self, text: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output().splitlines():
                if text in line:
                    return line
            time.sleep(0.05)
        pytest.fail(f"no line with {text!r} in the output:\n{self.output()}")

    def worker_pid(self) -> int:
        line = self.wait_for_line("Task worker started")
        match = re.search(r"\(pid (\d+)\)", line)
        assert match, line
        return int(match.group(1))

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def _task_status(site: PatronSite, task_id: str) -> str:
    with sqlite3.connect(site.db_path) as conn:
        (status,) = conn.execute(
            "SELECT status FROM django_tasks_database_dbtaskresult WHERE id = ?",
            [task_id.replace("-", "")],
        ).fetchone()
    return str(status)


def test_serves_app_and_static_files_and_runs_tasks_with_worker(patron_site):
    site = patron_site
    # given a queued task
    enqueue = (
        "from patron.core.tests.sample_tasks import record_ping as t; print(t.enqueue('hi').id)"
    )
    task_id = site.run("shell", "-v", "0", "-c", enqueue).stdout.strip()
    assert _task_status(site, task_id) == "READY"
    # when Patron is served with a worker
    server = Server(site, "--workers", "1", "--threads", "2", "--with-worker")
    try:
        health = server.wait_until_healthy()
        # then gunicorn answers with the database up
        assert health["database"] == {"status": "ok", "vendor": "sqlite"}
        # and logs each request as one JSON line, like the rest of Patron
        line = server.wait_for_line("/healthz")  # written just after the response
        assert json.loads(line)["logger"] == "gunicorn.access"
        # and serves static files itself (WhiteNoise from the finders, no collectstatic)
        status, body, content_type = server.get("/static/admin/css/base.css")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert b"body" in body
        # and the worker child runs the queued task
        worker = server.worker_pid()
        assert "worker" in Path(f"/proc/{worker}/cmdline").read_text()
        deadline = time.monotonic() + START_TIMEOUT
        while _task_status(site, task_id) != "SUCCESSFUL" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _task_status(site, task_id) == "SUCCESSFUL"
        # when the server is stopped
        assert server.stop() == 0, server.output()
    finally:
        server.kill()
    # then its worker stopped with it
    assert not _alive(worker)


def test_server_stops_with_error_when_its_worker_dies(patron_site):
    server = Server(patron_site, "--workers", "1", "--with-worker")
    try:
        server.wait_until_healthy()
        # when the worker dies behind the server's back
        os.kill(server.worker_pid(), signal.SIGKILL)
        # then the server shuts down and says so, rather than run without a worker
        assert server.proc.wait(timeout=20) == 1
        assert "task worker exited unexpectedly" in server.output()
    finally:
        server.kill()


def test_serve_options():
    parser = Command().create_parser("patron", "serve")
    command = Command()
    opts = vars(parser.parse_args(["--host", "0.0.0.0", "--port", "9000", "--workers", "3"]))
    gunicorn = command.gunicorn_options(opts)
    assert gunicorn["bind"] == ["0.0.0.0:9000"]
    assert (gunicorn["workers"], gunicorn["threads"]) == (3, 4)
    assert gunicorn["control_socket_disable"] is True
    with pytest.raises(CommandError, match="--(port|workers)"):
        parser.parse_args(["--port", "70000"])
    with pytest.raises(CommandError, match="--(port|workers)"):
        parser.parse_args(["--workers", "0"])


def test_serve_port_defaults_to_env_then_8000(monkeypatch):
    parser = Command().create_parser("patron", "serve")
    command = Command()
    monkeypatch.delenv("PORT", raising=False)
    assert command.gunicorn_options(vars(parser.parse_args([])))["bind"] == ["127.0.0.1:8000"]
    monkeypatch.setenv("PORT", "8123")
    assert command.gunicorn_options(vars(parser.parse_args([])))["bind"] == ["127.0.0.1:8123"]
    # an explicit --port wins over $PORT
    opts = vars(parser.parse_args(["--port", "8200"]))
    assert command.gunicorn_options(opts)["bind"] == ["127.0.0.1:8200"]
