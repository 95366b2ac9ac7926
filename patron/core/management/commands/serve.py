"""``patron serve``: the production web server (gunicorn, in-process).

gunicorn is driven through its programmatic ``BaseApplication``, so the command works the
same from ``patron serve``, ``python -m patron.cli serve`` and ``manage.py serve``.
Static files are served by WhiteNoise inside the same process (no collectstatic needed).

``--with-worker`` also runs ``patron worker`` as a child process: it is stopped when the
server stops, and if it dies the server shuts down with a non-zero exit code, so a process
supervisor notices instead of tasks silently piling up.
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
from argparse import ArgumentParser, ArgumentTypeError
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

logger = logging.getLogger(__name__)

WORKER_STOP_TIMEOUT = 30.0


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if number < 1:
        raise ArgumentTypeError("must be at least 1")
    return number


def _port(value: str) -> int:
    number = _positive_int(value)
    if number > 65535:
        raise ArgumentTypeError("must be at most 65535")
    return number


def _default_port() -> int:
    raw = os.environ.get("PORT", "8000")
    try:
        return _port(raw)
    except ArgumentTypeError as exc:
        raise CommandError(f"PORT={raw!r}: {exc}") from exc


def _logging_config() -> dict[str, Any]:
    """Django's logging (JSON lines) with gunicorn's own loggers routed through it too."""
    config = cast(dict[str, Any], copy.deepcopy(settings.LOGGING))
    handlers = list(config["root"]["handlers"])
    loggers = config.setdefault("loggers", {})
    for name in ("gunicorn.error", "gunicorn.access"):
        loggers[name] = {"level": "INFO", "handlers": handlers, "propagate": False}
    return config


def _freeze_startup_objects(worker: Any) -> None:
    """In each worker, once the application is loaded: what exists now (Django, the
    models, the URL configuration, ...) lives as long as the process, so the cyclic
    garbage collector's full collections stop walking it again and again (they took
    ~11 % of a worker's CPU under /v1/batch load; docs/adr/0081-sqlite-ingest-group-commit.md)."""
    gc.freeze()


#: gunicorn's default access line without ``%(u)s``, the HTTP Basic user name: the
#: tracking API's clients send their write key there (a credential in every log line).
ACCESS_LOG_FORMAT = '%(h)s %(l)s - %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"'


class PatronLogger(GunicornLogger):
    """gunicorn's logger, logging requests only when an access log is asked for.

    gunicorn logs every request whenever a logging configuration is given
    (``logconfig_dict``, which routes its loggers through Patron's JSON lines), whatever
    ``accesslog`` says: ``--no-access-log`` still wrote a line per request (1 % of a
    worker's CPU under ``/v1/batch`` load, docs/performance.md)."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        if self.cfg.accesslog:
            super().access(resp, req, environ, request_time)


class PatronApplication(BaseApplication):
    """gunicorn serving ``patron.wsgi.application`` with options set in code."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Callable[..., Any]:
        from patron.wsgi import application

        return application


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to send the child SIGTERM if ``patron serve`` itself is killed."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)


class TaskWorker:
    """``patron worker`` as a child process of the server."""

    def __init__(self, on_unexpected_exit: Callable[[int], None]) -> None:
        self._on_unexpected_exit = on_unexpected_exit
        self._stopping = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.failed_with: int | None = None

    def start(self) -> int:
        # Its own session: Ctrl+C in a terminal reaches only the server, which then stops
        # the worker in order (so a deliberate stop is never mistaken for a crash).
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "patron.cli", "worker"],
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        threading.Thread(target=self._watch, name="patron-worker-watch", daemon=True).start()
        return self.proc.pid

    def _watch(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        if not self._stopping.is_set():
            self.failed_with = code
            self._on_unexpected_exit(code)

    def stop(self) -> None:
        self._stopping.set()
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=WORKER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("task worker did not stop in time; killing it", extra={"pid": proc.pid})
            proc.kill()
            proc.wait()


class Command(BaseCommand):
    help = (
        "Serve Patron with gunicorn (static files included). "
        "Use --with-worker to run a background task worker alongside."
    )
    requires_system_checks = []  # checked below, once, before forking

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default: %(default)s)."
        )
        parser.add_argument(
            "--port",
            type=_port,
            default=None,
            help="Port to bind (default: $PORT, else 8000).",
        )
        parser.add_argument(
            "--workers",
            type=_positive_int,
            default=2,
            help="gunicorn worker processes (default: %(default)s).",
        )
        parser.add_argument(
            "--threads",
            type=_positive_int,
            default=4,
            help="Threads per worker process (default: %(default)s).",
        )
        parser.add_argument(
            "--timeout",
            type=_positive_int,
            default=60,
            help="Seconds before a stuck request's worker is restarted (default: %(default)s).",
        )
        parser.add_argument(
            "--with-worker",
            action="store_true",
            help="Also run `patron worker` as a child process, stopped when the server stops.",
        )
        parser.add_argument(
            "--no-access-log",
            action="store_true",
            help="Do not log each request to stdout.",
        )

    def gunicorn_options(self, options: dict[str, Any]) -> dict[str, Any]:
        port = options["port"] if options["port"] is not None else _default_port()
        return {
            "bind": [f"{options['host']}:{port}"],
            "workers": options["workers"],
            "worker_class": "gthread",
            "threads": options["threads"],
            "timeout": options["timeout"],
            "graceful_timeout": 30,
            "proc_name": "patron",
            "accesslog": None if options["no_access_log"] else "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "logger_class": PatronLogger,
            "errorlog": "-",
            "logconfig_dict": _logging_config(),
            # The control socket defaults to one path per user: two servers would collide.
            "control_socket_disable": True,
            "post_worker_init": _freeze_startup_objects,
        }

    def handle(self, *args: Any, **options: Any) -> None:
        self.check(display_num_errors=False)
        gunicorn_options = self.gunicorn_options(options)
        # Static files come from the finders (WHITENOISE_USE_FINDERS); an existing
        # STATIC_ROOT only spares every worker WhiteNoise's "No directory" warning.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        # Workers are forked from this process: hand them no open database connection.
        connections.close_all()

        worker: TaskWorker | None = None
        if options["with_worker"]:

            def stop_server(code: int) -> None:
                logger.error(
                    "task worker exited unexpectedly; stopping the server",
                    extra={"exit_code": code},
                )
                os.kill(os.getpid(), signal.SIGTERM)

            worker = TaskWorker(on_unexpected_exit=stop_server)
            pid = worker.start()
            self.stdout.write(f"Task worker started (pid {pid}).")

        self.stdout.write(
            f"Patron serving on http://{gunicorn_options['bind'][0]}/ "
            f"({options['workers']} workers x {options['threads']} threads)."
        )
        self.stdout.flush()
        master_pid = os.getpid()
        status: object = 0
        try:
            PatronApplication(gunicorn_options).run()
        except SystemExit as exc:
            if os.getpid() != master_pid:
                raise  # a forked gunicorn worker leaving: its exit is not ours to handle
            status = exc.code
        finally:
            if worker is not None and os.getpid() == master_pid:
                worker.stop()
        if worker is not None and worker.failed_with is not None:
            raise CommandError(
                f"The task worker exited unexpectedly (status {worker.failed_with})."
            )
        if status not in (0, None):
            raise CommandError(f"gunicorn exited with status {status}.")
