"""The HTTP Tracking API, compatible with Segment's: POST /v1/{identify,track,...,batch}.

Plain Django views (no session, no CSRF: the write key is the credential). Each request
reads at most the size limit (plus gzip slack), decompresses with a cap (gzip bombs stop at
the limit), parses JSON, authenticates the write key (HTTP Basic user, or ``writeKey`` in
the body) and hands the messages to ``events_ingest``. Errors are JSON:
``{"success": false, "code": ..., "message": ..., "reason": ...}`` (Segment's clients read
``code`` and ``message``).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from patron.events.models import Source
from patron.events.services import source_authenticate
from patron.events.services.ingest import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    MessageError,
    events_ingest,
    parse_time,
)

GZIP_SLACK = 1024
SINGLE_TYPES = ("identify", "track", "page", "screen", "group", "alias")


class RequestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _cors(response: HttpResponse) -> HttpResponse:
    # Write-key auth, no cookies: any website may send (analytics.js runs in browsers).
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type, Authorization, Content-Encoding"
    response["Access-Control-Max-Age"] = "86400"
    return response


def _error(status: int, code: str, message: str) -> HttpResponse:
    body = {"success": False, "code": code, "message": message, "reason": message}
    return _cors(JsonResponse(body, status=status))


def _read_body(request: HttpRequest, limit: int) -> bytes:
    """The (decompressed) body, refusing more than ``limit`` bytes at every stage."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit + GZIP_SLACK:
        raise RequestError(400, "too_large", f"The body is larger than {limit // 1024} KB.")
    raw = request.read(limit + GZIP_SLACK + 1)
    if len(raw) > limit + GZIP_SLACK:
        raise RequestError(400, "too_large", f"The body is larger than {limit // 1024} KB.")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        data = raw
    elif encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(raw, limit + 1)
        except zlib.error as exc:
            raise RequestError(400, "bad_encoding", "The body is not valid gzip.") from exc
        if len(data) > limit or inflater.unconsumed_tail:
            raise RequestError(
                400, "too_large", f"The body is larger than {limit // 1024} KB uncompressed."
            )
        if not inflater.eof:
            raise RequestError(400, "bad_encoding", "The gzip body is truncated.")
    else:
        raise RequestError(400, "bad_encoding", f"Unsupported Content-Encoding {encoding[:30]!r}.")
    if len(data) > limit:
        raise RequestError(400, "too_large", f"The body is larger than {limit // 1024} KB.")
    return data


# Every byte to "9" if it is a digit, else to a space: a run of 19 nines in the translated
# body is a run of 19 digits in it (a scan in C: 25 µs per 35 KB body, a regular
# expression took 300+).
_DIGITS = bytes(0x39 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_RUN = b"9" * 19


def _parse(data: bytes) -> dict[str, Any]:
    try:
        # orjson: several times faster than json on 500 KB batches; strict (UTF-8 only,
        # no NaN/Infinity, no lone surrogates), which the databases need anyway.
        body = orjson.loads(data)
        # orjson reads an integer past 64 bits as a float (the digits after the 17th are
        # lost); a body with a run of 19 digits anywhere (rare: an id in a text, say) is
        # read again by the standard library, exactly. orjson has checked it is strict.
        if _LONG_RUN in data.translate(_DIGITS):
            body = json.loads(data)
    except (ValueError, RecursionError) as exc:  # orjson.JSONDecodeError is a ValueError
        raise RequestError(400, "invalid_json", "The body is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_json", "The body must be a JSON object.")
    return body


def _basic_key(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""
    return decoded.partition(":")[0]


def _authenticate(request: HttpRequest, body: dict[str, Any]) -> Source:
    """The source of the write key in the body, else of the HTTP Basic user name."""
    raw = body.get("writeKey")
    key = raw if isinstance(raw, str) and raw else _basic_key(request)
    source = source_authenticate(key) if key else None
    if source is None:
        raise RequestError(
            401,
            "invalid_write_key",
            "Unknown, disabled or expired write key: send it as the HTTP Basic user name "
            "or as writeKey in the body.",
        )
    return source


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestError(400, "invalid_message", f"{key} must be an object.")
    return value


def _handle(request: HttpRequest, kind: str) -> HttpResponse:
    received_at = timezone.now()
    limit = MAX_BATCH_BYTES if kind == "batch" else MAX_MESSAGE_BYTES
    data = _read_body(request, limit)
    body = _parse(data)
    source = _authenticate(request, body)
    body.pop("writeKey", None)
    check_nul = b"\\u0000" in data
    if kind == "batch":
        batch = body.get("batch")
        if not isinstance(batch, list):
            raise RequestError(400, "invalid_batch", "batch must be a list of messages.")
        try:
            batch_sent_at = parse_time(body.get("sentAt"), "sentAt")
        except MessageError as exc:
            raise RequestError(400, "invalid_batch", str(exc)) from exc
        result = events_ingest(
            source=source,
            messages=batch,
            received_at=received_at,
            batch_context=_object(body, "context"),
            batch_integrations=_object(body, "integrations"),
            batch_sent_at=batch_sent_at,
            check_nul=check_nul,
        )
    else:
        result = events_ingest(
            source=source,
            messages=[body],
            received_at=received_at,
            forced_type=kind,
            check_nul=check_nul,
        )
        if result.rejected:
            raise RequestError(400, "invalid_message", result.rejected[0]["reason"])
    return _cors(
        JsonResponse(
            {
                "success": True,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
                "rejected": result.rejected,
            }
        )
    )


@csrf_exempt
def tracking_view(request: HttpRequest, kind: str) -> HttpResponse:
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST, OPTIONS"
        return response
    try:
        return _handle(request, kind)
    except RequestError as exc:
        return _error(exc.status, exc.code, exc.message)
