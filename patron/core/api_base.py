"""Shared pieces of the JSON API: authentication, errors, cursor pagination."""

from __future__ import annotations

import base64
import binascii
import importlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import BaseThrottle

from patron.core.permissions import PermissionDenied

#: Names of view parameters that hold a whole schema (not part of a field's error key).
_SCHEMA_PARAMS = ("payload", "filters", "params")

API_APPS = [
    "contacts",
    "commerce",
    "support",
    "events",
    "privacy",
    "hygiene",
    "imports",
    "segments",
    "webhooks",
]


class BearerKey(HttpBearer):
    """``Authorization: Bearer <key>``: an API key, acting as the key's service user."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from patron.accounts.services import apikey_authenticate

        user = apikey_authenticate(token)
        if user is not None:
            request.user = user
            # The key's public prefix names it for rate limiting (see ApiKeyThrottle).
            request.patron_api_key = token[:12]  # type: ignore[attr-defined]
        return user


class SessionUser(APIKeyCookie):
    """The logged-in browser session (CSRF-checked), so the web UI can call the API."""

    param_name = settings.SESSION_COOKIE_NAME

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class ApiKeyThrottle(BaseThrottle):
    """A fixed-window request counter per API key, shared by every process and server.

    ``settings.PATRON_API_RATE_LIMIT`` requests per ``PATRON_API_RATE_WINDOW`` seconds
    (default 600 per 60); past it the API answers 429 with ``Retry-After``. Browser
    sessions are not counted: the limit protects the API from runaway integrations.
    The count is one upsert in the database (``patron.ratelimit``; ADR 0070), so gunicorn
    workers and servers behind a load balancer share one budget per key.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def allow_request(self, request: HttpRequest) -> bool:
        from patron.ratelimit.services import hit

        key_id = getattr(request, "patron_api_key", None)
        if key_id is None:
            return True
        limit = int(getattr(settings, "PATRON_API_RATE_LIMIT", 600))
        window = max(int(getattr(settings, "PATRON_API_RATE_WINDOW", 60)), 1)
        counted = hit(f"api:{key_id}", window)
        self._local.wait = max(counted.window_ends - time.time(), 1.0)
        return counted.count <= limit

    def wait(self) -> float | None:
        return float(getattr(self._local, "wait", 1.0))


def actor_of(request: HttpRequest) -> Any:
    """The authenticated principal of an API request."""
    return request.auth  # type: ignore[attr-defined]


def validation_errors(exc: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {
            field: [str(m) for e in errs for m in e.messages]
            for field, errs in exc.error_dict.items()
        }
    return {"__all__": [str(m) for m in exc.messages]}


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Patron API",
        version="1.0.0",
        description=(
            "The Patron customer database. Authenticate with `Authorization: Bearer <key>` "
            "(create one with `patron apikey create --name NAME --role ROLE`)."
        ),
        auth=[BearerKey(), SessionUser(csrf=True)],
        urls_namespace="api",
        docs_url="/docs",
        openapi_url="/openapi.json",
        throttle=[ApiKeyThrottle()],
    )

    def _json(status: int, body: dict[str, Any]) -> HttpResponse:
        return api.create_response(None, body, status=status)  # type: ignore[arg-type]

    @api.exception_handler(PermissionDenied)
    def _denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return _json(403, {"detail": exc.message})

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _json(404, {"detail": "Not found."})

    @api.exception_handler(ObjectDoesNotExist)
    def _no_object(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _json(404, {"detail": "Not found."})

    @api.exception_handler(DjangoValidationError)
    def _invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return _json(422, {"detail": "Validation failed.", "errors": validation_errors(exc)})

    @api.exception_handler(NinjaValidationError)
    def _schema_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors: dict[str, list[str]] = {}
        for err in exc.errors:
            loc = [str(p) for p in err.get("loc", [])][1:]  # drop "body"/"query"/"path"
            if len(loc) > 1 and loc[0] in _SCHEMA_PARAMS:
                loc = loc[1:]
            msg = str(err.get("msg")).removeprefix("Value error, ")
            errors.setdefault(".".join(loc) or "__all__", []).append(msg)
        return _json(422, {"detail": "Validation failed.", "errors": errors})

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return _json(413, {"detail": f"The request body is larger than {limit} bytes."})

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _json(401, {"detail": "Authentication required: send Authorization: Bearer <key>."})

    @api.exception_handler(json.JSONDecodeError)
    def _bad_json(request: HttpRequest, exc: Exception) -> HttpResponse:
        return _json(400, {"detail": "Malformed JSON body."})

    for app in API_APPS:
        try:
            module = importlib.import_module(f"patron.{app}.api")
        except ModuleNotFoundError as exc:
            if exc.name != f"patron.{app}.api":
                raise
            continue
        for prefix, router in getattr(module, "ROUTERS", []):
            api.add_router(prefix, router)
    return api


# --- Cursor (keyset) pagination -------------------------------------------------------


def is_id(value: Any) -> bool:
    """A value a primary-key column can hold (cursors are user input)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(
        [v if isinstance(v, (int, str, float)) or v is None else str(v) for v in values]
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DjangoValidationError({"cursor": ["Invalid cursor."]}) from exc
    if not isinstance(values, list):
        raise DjangoValidationError({"cursor": ["Invalid cursor."]})
    return values


def keyset_page(
    qs: QuerySet[Any],
    *,
    cursor: str | None,
    limit: int | None,
    order: str = "-id",
    serialize: Callable[[Model], Any] = lambda m: m,
) -> dict[str, Any]:
    """One page ordered by ``order`` (``id`` or ``-id``), and the cursor of the next one."""
    size = min(
        max(int(limit or settings.PATRON_API_PAGE_SIZE), 1), settings.PATRON_API_MAX_PAGE_SIZE
    )
    descending = order.startswith("-")
    qs = qs.order_by(order)
    if cursor:
        values = decode_cursor(cursor)
        if len(values) != 1 or not is_id(values[0]):
            raise DjangoValidationError({"cursor": ["Invalid cursor."]})
        qs = qs.filter(id__lt=values[0]) if descending else qs.filter(id__gt=values[0])
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return {
        "items": [serialize(r) for r in rows],
        "next_cursor": encode_cursor([rows[-1].pk]) if more and rows else None,
    }
