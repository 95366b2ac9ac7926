"""Outbound requests that cannot reach internal targets.

``check_url`` parses a URL and resolves its host; every address it resolves to must be
public (``ipaddress``: not loopback, private, link-local, multicast, reserved,
unspecified, shared, or an IPv4-mapped / 6to4 / NAT64 form of one). ``post`` then
connects to the checked address itself, sending the original host name in ``Host`` and
as TLS SNI (and checking the certificate against it), so a DNS answer that changes
between the check and the connection (rebinding) cannot redirect the request.
Redirects are never followed. ``PATRON_WEBHOOKS_ALLOW_PRIVATE`` lifts the address rule
for tests and local development only.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3

from patron.webhooks import conf

MAX_URL = 2000
IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_getaddrinfo = socket.getaddrinfo  # tests replace it to fake DNS answers


class UnsafeURL(ValueError):
    """The URL is malformed or points at an address webhooks may not reach."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written (brackets removed), for Host / SNI / certificate
    port: int
    path: str  # path and query
    address: str  # the checked IP address to connect to


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_forbidden(ip: IP) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified, shared, or a
    v6 form that embeds such an IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_v4(ip)
        if inner is not None and is_forbidden(inner):
            return True
    return (
        not ip.is_global
        or ip.is_multicast
        or ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_unspecified
    )


def resolve(host: str, port: int) -> list[str]:
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OSError(f"could not resolve {host[:100]}") from exc
    out: list[str] = []
    for info in infos:
        addr = str(info[4][0]).split("%", 1)[0]
        if addr not in out:
            out.append(addr)
    if not out:
        raise OSError(f"could not resolve {host[:100]}")
    return out


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an acceptable webhook URL, else UnsafeURL."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL("Enter a URL.")
    url = url.strip()
    if len(url) > MAX_URL:
        raise UnsafeURL(f"The URL is longer than {MAX_URL} characters.")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise UnsafeURL("The URL contains spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("The URL is not valid.") from exc
    scheme = parts.scheme.lower()
    allowed = {"https", "http"} if conf.allow_http() else {"https"}
    if scheme not in allowed:
        raise UnsafeURL("The URL must start with https://.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURL("Credentials in the URL are not allowed; the signature authenticates.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURL("The URL has no host.")
    try:
        host = host.encode("idna").decode("ascii")  # internationalised names, as DNS has them
    except UnicodeError as exc:
        raise UnsafeURL("The URL's host name is not valid.") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def check_url(url: str) -> Target:
    """Save time: the target of ``url``; UnsafeURL if it is refused or does not resolve."""
    try:
        return target_for(url)
    except OSError as exc:
        raise UnsafeURL(f"The host could not be resolved ({exc}).") from exc


def target_for(url: str) -> Target:
    """Send time: the target with its first address, every address checked.

    UnsafeURL for a refused URL or address; OSError when the host does not resolve
    (which may pass: the caller retries).
    """
    scheme, host, port, path = parse(url)
    addresses = resolve(host, port)
    if not conf.allow_private():
        for addr in addresses:
            if is_forbidden(ipaddress.ip_address(addr)):
                raise UnsafeURL(
                    "The URL points at a private, loopback or reserved address, "
                    "which webhooks may not reach."
                )
    return Target(scheme, host, port, path, addresses[0])


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    retry_after: str | None


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = 443 if target.scheme == "https" else 80
    return host if target.port == default else f"{host}:{target.port}"


def post(target: Target, body: bytes, headers: dict[str, str]) -> Response:
    """POST ``body`` to the checked address of ``target``; no redirects, capped reads.

    Raises ``urllib3.exceptions.HTTPError`` (network errors, timeouts) or TimeoutError.
    """
    connect = float(conf.get("PATRON_WEBHOOKS_CONNECT_TIMEOUT"))
    total = float(conf.get("PATRON_WEBHOOKS_TOTAL_TIMEOUT"))
    cap = int(conf.get("PATRON_WEBHOOKS_MAX_RESPONSE_BYTES"))
    deadline = time.monotonic() + total
    timeout = urllib3.Timeout(connect=min(connect, total), read=total)
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            maxsize=1,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=conf.get("PATRON_WEBHOOKS_CA_FILE"),
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, maxsize=1, retries=False
        )
    try:
        response = pool.urlopen(
            "POST",
            target.path,
            body=body,
            headers={**headers, "Host": _host_header(target)},
            redirect=False,
            retries=False,
            preload_content=False,
            assert_same_host=False,
        )
        try:
            data = bytearray()
            while len(data) <= cap:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no complete answer within {total:g} s")
                chunk = response.read(min(8192, cap + 1 - len(data)))
                if not chunk:
                    break
                data.extend(chunk)
            return Response(response.status, bytes(data[:cap]), response.headers.get("Retry-After"))
        finally:
            response.release_conn()
    finally:
        pool.close()
