"""The tracking benchmarks' client side: the generated workload, a real Patron server on
loopback (``patron serve`` as production runs it), and the HTTP calls. Used by
``tracking_throughput.py``, ``tracking_process.py`` and ``segments_bench.py``."""

from __future__ import annotations

import http.client
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def log(msg: str) -> None:
    print(msg, flush=True)


# --- workload ------------------------------------------------------------------------------


def make_message(rng: random.Random, users: int) -> dict[str, Any]:
    u = rng.randrange(users)
    roll = rng.random()
    base: dict[str, Any] = {
        "messageId": uuid.uuid4().hex,
        "userId": f"user-{u}",
        "anonymousId": f"anon-{u}",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "context": {
            "library": {"name": "bench", "version": "1"},
            "ip": "203.0.113.7",
            "userAgent": "Mozilla/5.0 (bench)",
        },
    }
    if roll < 0.05:
        base.update(
            type="identify",
            traits={"email": f"user{u}@example.com", "name": f"User {u}", "plan": "pro"},
        )
    elif roll < 0.30:
        base.update(
            type="page",
            name=rng.choice(["Home", "Pricing", "Docs", "Blog"]),
            properties={"url": "https://example.com/x", "referrer": "https://example.org/"},
        )
    else:
        base.update(
            type="track",
            event=rng.choice(["Clicked", "Viewed Product", "Added to Cart", "Searched"]),
            properties={"sku": f"SKU-{rng.randrange(500)}", "price": 9.99, "q": "socks"},
        )
    return base


def make_batches(count: int, size: int, users: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    sent_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return [
        json.dumps(
            {"batch": [make_message(rng, users) for _ in range(size)], "sentAt": sent_at}
        ).encode()
        for _ in range(count)
    ]


# --- server --------------------------------------------------------------------------------


class Server:
    def __init__(
        self,
        env: dict[str, str],
        port: int,
        workers: int,
        threads: int,
        worker_class: str = "gthread",
        *,
        root: Path = ROOT,
    ) -> None:
        self.port = port
        probe = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            probe.request("GET", "/healthz")
            raise RuntimeError(f"something already answers on port {port}")
        except OSError:
            pass
        if worker_class == "gthread":
            # what production runs: ``patron serve`` (its gunicorn settings included)
            command = [
                PYTHON,
                "-m",
                "patron.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--no-access-log",
            ]
        else:
            command = [
                PYTHON,
                "-m",
                "gunicorn",
                "patron.wsgi:application",
                "--workers",
                str(workers),
                # as ``patron serve`` runs it: threaded workers
                "--worker-class",
                worker_class,
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "--backlog",
                "2048",
            ]
        self.proc = subprocess.Popen(command, cwd=root, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    self._wait_until_idle()
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def _wait_until_idle(self, timeout: float = 30.0) -> None:
        """Until every worker has booted: one answering is not enough, and another's
        start-up (importing Django, ~1 s of CPU) would count in the first phase's CPU
        per event. Idle: under 20 ms of CPU in 0.5 s."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < 0.02:
                return
            before = now

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server's worker processes (Linux:
        /proc; 0 elsewhere)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return 0.0
        for pid in [self.proc.pid, *map(int, children.split())]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def post(conn: http.client.HTTPConnection, path: str, body: bytes, auth: str) -> int:
    conn.request(
        "POST",
        path,
        body=body,
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    response = conn.getresponse()
    response.read()
    return response.status


def basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
