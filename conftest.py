"""Shared pytest set-up for every Patron test.

- A PostgreSQL ``DATABASE_URL`` whose server does not answer ends the session with an error
  (exit status ``PG_UNREACHABLE_EXIT``) before any test runs: it is never a skip.
  ``make test`` turns that status into a loud notice outside CI and a failure in CI.
- Every test that uses the database starts with the default roles and the workspace row,
  even after a transactional test has flushed the tables.
- Factories: ``make_user``, ``make_api_key``, ``client_for`` and one user per default role
  (``admin_user_p``, ``manager_user_p``, ``sales_user_p``, ...; the ``_p`` keeps them apart
  from pytest-django's ``admin_user``).
- ``patron_site``: a migrated throw-away SQLite site for running ``patron`` in a subprocess.
- SQLite test databases leave nothing in ``var/``: once Django has destroyed one, the
  ``-wal``/``-shm`` files and the ingest writer's ``-ingest.lock`` that threads of the
  test process kept open are removed too (each xdist worker removes its own).
- Browser tests (marker ``browser``): ``page`` opens Debian's Chromium through Playwright.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pytest

if TYPE_CHECKING:
    from django.test import Client

    from patron.accounts.models import Team, User

#: Password of every user made by ``make_user`` (unless given another).
TEST_PASSWORD = "correct-horse-battery-staple-42"
#: Exit status of a session whose PostgreSQL server is unreachable (EX_TEMPFAIL).
PG_UNREACHABLE_EXIT = 75
CHROMIUM = os.environ.get("PATRON_CHROMIUM", "/usr/bin/chromium")


# --- Session guard: PostgreSQL must answer -------------------------------------------


def postgres_unreachable(url: str, timeout: int = 5) -> str | None:
    """Why the PostgreSQL server of ``url`` cannot be reached, or None if it answers.

    Connects to the maintenance database, as Django does to create the test database.
    """
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    error = ""
    for dbname in dict.fromkeys(["postgres", cfg.get("NAME") or "postgres"]):
        try:
            psycopg.connect(
                host=cfg.get("HOST") or None,
                port=cfg.get("PORT") or None,
                user=cfg.get("USER") or None,
                password=cfg.get("PASSWORD") or None,
                dbname=dbname,
                connect_timeout=timeout,
            ).close()
            return None
        except psycopg.Error as exc:
            error = str(exc).strip()
    return error


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise warns once per app instance that STATIC_ROOT (filled by collectstatic,
    # which Patron does not need: it serves from the finders) does not exist.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning:django")
    if hasattr(config, "workerinput"):  # an xdist worker: the controller checked already
        return
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return
    reason = postgres_unreachable(url)
    if reason is not None:
        in_ci = os.environ.get("CI", "").lower() == "true"
        pytest.exit(
            f"PostgreSQL is not reachable at DATABASE_URL={_redacted(url)}"
            f"{' (CI=true: this is a failure)' if in_ci else ''}: {reason}",
            returncode=PG_UNREACHABLE_EXIT,
        )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("PATRON_PG_PASS") == "skipped":
        terminalreporter.section("PostgreSQL NOT TESTED", sep="!", red=True, bold=True)
        terminalreporter.write_line(
            "SKIPPED: the PostgreSQL pass did not run (server unreachable). "
            "Only SQLite was tested. In CI this is a failure.",
            red=True,
            bold=True,
        )


# --- Database defaults ----------------------------------------------------------------


def _uses_db(request: pytest.FixtureRequest) -> bool:
    names = request.fixturenames
    return (
        "_django_db_helper" in names
        or "live_server" in names
        or request.node.get_closest_marker("django_db") is not None
    )


def ensure_defaults() -> None:
    """The default roles and the workspace row, as the data migrations create them."""
    from patron.accounts.services import roles_ensure_defaults
    from patron.contacts.models import DEFAULT_LIFECYCLE_STAGES
    from patron.core.models import Workspace

    roles_ensure_defaults()
    # As migration core.0002 does (workspace_get() would create it without stages).
    Workspace.objects.get_or_create(pk=1, defaults={"lifecycle_stages": DEFAULT_LIFECYCLE_STAGES})


@pytest.fixture(autouse=True)
def roles(request: pytest.FixtureRequest) -> None:
    """``ensure_defaults()`` before every test that uses the database.

    The data migrations create them, but a transactional test's flush removes them.
    """
    if not _uses_db(request):
        return
    request.getfixturevalue("db")  # the mode (transactional or not) follows the test's own
    ensure_defaults()


# --- SQLite test databases leave nothing behind -----------------------------------------

#: Files kept beside a SQLite database: WAL mode's ``-wal`` and ``-shm``, and the queue
#: file of the ingest group writer (``patron.events.services.ingest_writer``).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-ingest.lock")
#: The SQLite test database files this process created (see ``django_db_setup``).
_created_sqlite_dbs: list[Path] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> None:
    """pytest-django's test databases, noting the SQLite files this process created.

    Django removes a test database's file when it destroys it, but not the side files
    that threads still holding a connection keep (the ingest writer, its checkpointer,
    a live server): ``pytest_sessionfinish`` removes those.
    """
    from django.db import connections

    for conn in connections.all():
        if conn.vendor == "sqlite" and not conn.is_in_memory_db():
            _created_sqlite_dbs.append(Path(conn.settings_dict["NAME"]))


@pytest.hookimpl(trylast=True)  # after the session fixtures, so the databases are destroyed
def pytest_sessionfinish() -> None:
    for db in _created_sqlite_dbs:
        sqlite_side_files_remove(db)


def sqlite_side_files_remove(db: Path) -> list[Path]:
    """Remove the side files of a destroyed SQLite database file ``db``; the ones removed.

    Nothing is removed while ``db`` exists (a database kept by ``--reuse-db`` needs its
    WAL) or while another process has one of the files open. This process's own threads
    still hold them, as they hold the database file Django has already removed, but
    nothing writes through them once the session is over.
    """
    if db.exists():
        return []
    files = [f for f in (Path(f"{db}{suffix}") for suffix in SQLITE_SIDE_FILES) if f.exists()]
    if not files or _open_elsewhere(files):
        return []
    for file in files:
        file.unlink(missing_ok=True)
    return files


def _open_elsewhere(files: list[Path]) -> bool:
    """Whether a process other than this one has one of ``files`` open (read from Linux's
    /proc; without /proc, the files of a destroyed database count as unused)."""
    wanted = {str(f.resolve()) for f in files}
    own = str(os.getpid())
    for proc in Path("/proc").glob("[0-9]*"):
        if proc.name == own:
            continue
        with contextlib.suppress(OSError):  # ended meanwhile, or not ours to look into
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in wanted:
                        return True
    return False


# --- Factories ------------------------------------------------------------------------


@functools.cache
def _test_password_hash() -> str:
    """TEST_PASSWORD hashed once per process: argon2 is slow by design, tests need not be."""
    from django.contrib.auth.hashers import make_password

    return make_password(TEST_PASSWORD)


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """``make_user(role_key="sales", team=None, username=None, **fields)`` -> User.

    Goes through ``user_create``; the password is ``TEST_PASSWORD`` unless given.
    """
    from patron.accounts.services import user_create

    counter = itertools.count(1)

    def make(
        role_key: str = "sales",
        team: Team | None = None,
        username: str | None = None,
        password: str | None = TEST_PASSWORD,
        **fields: Any,
    ) -> User:
        reuse_hash = password == TEST_PASSWORD
        user = user_create(
            actor=None,
            username=username or f"{role_key}{next(counter)}",
            password=None if reuse_hash else password,
            role_key=role_key,
            team=team,
            **fields,
        )
        if reuse_hash:
            user.password = _test_password_hash()
            user.save(update_fields=["password"])
        return user

    return make


@pytest.fixture
def admin_user_p(make_user: Callable[..., User]) -> User:
    """A superuser with the admin role, as ``patron createadmin`` makes."""
    return make_user("admin", username="admin_p", is_superuser=True)


@pytest.fixture
def manager_user_p(make_user: Callable[..., User]) -> User:
    return make_user("manager", username="manager_p")


@pytest.fixture
def sales_user_p(make_user: Callable[..., User]) -> User:
    return make_user("sales", username="sales_p")


@pytest.fixture
def marketing_user_p(make_user: Callable[..., User]) -> User:
    return make_user("marketing", username="marketing_p")


@pytest.fixture
def support_user_p(make_user: Callable[..., User]) -> User:
    return make_user("support", username="support_p")


@pytest.fixture
def readonly_user_p(make_user: Callable[..., User]) -> User:
    return make_user("readonly", username="readonly_p")


@pytest.fixture
def make_api_key(db: None) -> Callable[..., str]:
    """``make_api_key(role_key="readonly", name=...)`` -> the raw key (``ptn_...``)."""
    from patron.accounts.services import apikey_create

    counter = itertools.count(1)

    def make(role_key: str = "readonly", name: str | None = None) -> str:
        _, raw = apikey_create(
            actor=None, name=name or f"test key {next(counter)}", role_key=role_key
        )
        return raw

    return make


@pytest.fixture
def client_for(db: None) -> Callable[[User], Client]:
    """``client_for(user)`` -> a test Client logged in as ``user``."""
    from django.test import Client

    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


# --- A real site for subprocess tests ---------------------------------------------------


class PatronSite:
    """A migrated SQLite database in its own var/ directory, and ``patron`` to run on it."""

    def __init__(self, var: Path) -> None:
        self.var = var
        self.db_path = var / "patron.sqlite3"
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYTEST_", "DJANGO_ALLOW")) and k != "PORT"
        }
        self.env.update(
            PATRON_VAR_DIR=str(var),
            DATABASE_URL=f"sqlite:///{self.db_path}",
            DJANGO_SETTINGS_MODULE="patron.settings",
            DEBUG="false",
            PYTHONUNBUFFERED="1",
        )

    def command(self, *args: str) -> list[str]:
        """The command line of ``patron ARGS`` (via this interpreter, like the entry point)."""
        return [sys.executable, "-m", "patron.cli", *args]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=check,
        )


@pytest.fixture(scope="session")
def patron_site(tmp_path_factory: pytest.TempPathFactory) -> PatronSite:
    """One migrated site per test session (tests share it: use unique names in it)."""
    site = PatronSite(tmp_path_factory.mktemp("site"))
    site.run("migrate", "--no-input", "-v", "0")
    return site


# --- Browser (marker ``browser``) -----------------------------------------------------


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM guard would
    # otherwise refuse the test's own database calls.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                chromium_sandbox=False,
                args=[
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium_browser: Any) -> Iterator[Any]:
    """A fresh browser page (own cookies and storage) for one test."""
    context = chromium_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()
