"""``patron serve``'s gunicorn logger: request lines only when asked for, and never the
HTTP Basic user name (the tracking API's write key)."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import logging.config
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from gunicorn.config import Config

from patron.core.management.commands.serve import Command

WRITE_KEY = "wk_secret-write-key"


def _logger(*args: str) -> Any:
    parser = Command().create_parser("patron", "serve")
    cfg = Config()
    for key, value in Command().gunicorn_options(vars(parser.parse_args(list(args)))).items():
        cfg.set(key, value)
    return cfg.logger_class(cfg)


def _log_one_request(logger: Any) -> None:
    """What a gthread worker calls after answering a tracking request."""
    auth = "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/v1/track",
        "PATH_INFO": "/v1/track",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": auth,
    }
    req = SimpleNamespace(headers=[("AUTHORIZATION", auth)])
    resp = SimpleNamespace(status="200 OK", sent=17, headers=[])
    logger.access(resp, req, environ, dt.timedelta(milliseconds=3))


def _logged_lines(logger: Any) -> list[str]:
    """The access lines logged for one request (captured after the logger applied its
    logging configuration, which replaces the handlers)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    access = logging.getLogger("gunicorn.access")
    access.addHandler(handler)
    try:
        _log_one_request(logger)
    finally:
        access.removeHandler(handler)
    return [record.getMessage() for record in records]


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    """The loggers built here apply serve's logging configuration: Django's after."""
    yield
    logging.config.dictConfig(settings.LOGGING)


def test_no_access_log_logs_no_request():
    # given patron serve --no-access-log (its logging configuration still routes
    # gunicorn's loggers, which alone made gunicorn log every request)
    logger = _logger("--no-access-log")
    # when a request is answered, then no line is logged for it
    assert _logged_lines(logger) == []


def test_access_log_leaves_out_the_write_key():
    # given patron serve with its access log (the default)
    logger = _logger()
    # when a tracking request authenticated with HTTP Basic is answered
    lines = _logged_lines(logger)
    # then it is logged, without the Basic user name (the source's write key)
    [line] = lines
    assert '"POST /v1/track HTTP/1.1" 200 17' in line
    assert WRITE_KEY not in line
