"""HTTPS to the checked address: the host name goes in SNI and the certificate must
match it, although the connection is made to the IP address (a real TLS receiver)."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from patron.webhooks.models import WebhookDelivery
from patron.webhooks.services import endpoint_send_test
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.tests.conftest import Receiver

pytestmark = pytest.mark.django_db
NAME = "hooks.example.test"


@pytest.fixture
def tls_receiver(receiver: Receiver, tmp_path: Path, settings: Any) -> Any:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", f"/CN={NAME}", "-addext", f"subjectAltName=DNS:{NAME}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    settings.PATRON_WEBHOOKS_CA_FILE = str(cert)
    seen: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen.append(name)  # type: ignore[assignment,misc,return-value]
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver.server.RequestHandlerClass)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], seen
    server.shutdown()
    server.server_close()


def test_https_sends_the_name_as_sni_and_checks_the_certificate(
    tls_receiver: Any, receiver: Receiver, make_endpoint: Any, admin_user_p: Any, fake_dns: Any
) -> None:
    port, seen = tls_receiver
    fake_dns({NAME: ["127.0.0.1"]})
    endpoint, _ = make_endpoint(f"https://{NAME}:{port}/in")
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    deliveries_send_due(max_seconds=10)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED, delivery.last_error
    assert seen == [NAME]
    [req] = receiver.requests
    assert req.headers["host"] == f"{NAME}:{port}"


def test_a_certificate_for_another_name_is_refused(
    tls_receiver: Any, receiver: Receiver, make_endpoint: Any, admin_user_p: Any, fake_dns: Any,
    settings: Any,
) -> None:  # fmt: skip
    settings.PATRON_WEBHOOKS_MAX_ATTEMPTS = 1
    port, _ = tls_receiver
    fake_dns({"impostor.example.test": ["127.0.0.1"]})
    endpoint, _ = make_endpoint(f"https://impostor.example.test:{port}/in")
    delivery = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    deliveries_send_due(max_seconds=10)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DEAD
    assert delivery.last_error == "TLS handshake or certificate error"
    assert receiver.requests == []
