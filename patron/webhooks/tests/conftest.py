"""A real HTTP receiver on 127.0.0.1 (threaded ``http.server``), and webhook fixtures.

Only these tests switch ``PATRON_WEBHOOKS_ALLOW_PRIVATE`` on (the ``receiver`` fixture
does), so the delivery code reaches the loopback receiver; everything else runs with
the production rule.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    request_queue_size = 64  # the default 5 drops connections that arrive together
    daemon_threads = True


class Receiver:
    """Answers with the queued replies in order (then 200), recording every request."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.replies: list[Reply] = []
        self.lock = threading.Lock()
        self.stopped = False
        handler = self._handler()
        self.server = _Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def _next(self) -> Reply:
        with self.lock:
            return self.replies.pop(0) if self.replies else Reply()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                reply = receiver._next()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for k, v in reply.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up (timeout tests)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
    settings.PATRON_WEBHOOKS_BACKOFF_BASE = 0.0  # retries are due at once
    settings.PATRON_WEBHOOKS_TOTAL_TIMEOUT = 1.0
    settings.PATRON_WEBHOOKS_CONNECT_TIMEOUT = 1.0
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_endpoint(admin_user_p: Any) -> Callable[..., Any]:
    from patron.webhooks.services import endpoint_create

    def make(url: str, **data: Any) -> tuple[Any, str]:
        data.setdefault("name", "Receiver")
        data.setdefault("event_types", ["segment.entered", "segment.exited"])
        return endpoint_create(actor=admin_user_p, data={"url": url, **data})  # type: ignore[no-any-return]

    return make


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, list[str]]], None]:
    """``fake_dns({"name": ["1.2.3.4"]})``: those names resolve to those addresses."""
    import socket

    from patron.webhooks import ssrf

    real = ssrf._getaddrinfo

    def install(answers: dict[str, list[str]]) -> None:
        def lookup(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
            if host in answers:
                out = []
                for addr in answers[host]:
                    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
                    out.append((family, socket.SOCK_STREAM, 6, "", (addr, port)))
                return out
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(ssrf, "_getaddrinfo", lookup)

    return install
