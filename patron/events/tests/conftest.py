"""Fixtures of the events tests: a source with its write key, and a tracking client."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from patron.events.models import Source
from patron.events.services import source_create


@pytest.fixture
def source_key(db: None) -> tuple[Source, str]:
    return source_create(actor=None, name="Website")


@pytest.fixture
def no_processing(settings: Any) -> None:
    """Events stay unprocessed (a queue nobody works on), to look at ingest alone."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def post() -> Callable[..., Any]:
    """``post(path, body, key=None, basic=None, gzipped=False, raw=None)`` -> response."""
    client = Client()

    def send(
        path: str,
        body: Any = None,
        *,
        basic: str | None = None,
        gzipped: bool = False,
        raw: bytes | None = None,
        **headers: str,
    ) -> Any:
        data = raw if raw is not None else json.dumps(body).encode()
        extra: dict[str, str] = dict(headers)
        if gzipped:
            data = gzip.compress(data)
            extra["HTTP_CONTENT_ENCODING"] = "gzip"
        if basic is not None:
            token = base64.b64encode(f"{basic}:".encode()).decode()
            extra["HTTP_AUTHORIZATION"] = f"Basic {token}"
        return client.post(path, data=data, content_type="application/json", **extra)

    return send
