"""The shared test set-up (repo-root conftest.py) does what every test relies on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import authenticate

from conftest import (
    PG_UNREACHABLE_EXIT,
    SQLITE_SIDE_FILES,
    TEST_PASSWORD,
    ensure_defaults,
    sqlite_side_files_remove,
)
from patron.accounts.models import Role
from patron.accounts.services import apikey_authenticate
from patron.core.models import Workspace
from patron.core.permissions import DEFAULT_ROLES

ROOT = Path(__file__).resolve().parents[3]


def _pytest_against(url: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update(DATABASE_URL=url)
    if ci:
        env["CI"] = "true"
    else:
        env.pop("CI", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "patron/core/tests/test_health.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("ci", [True, False])
def test_unreachable_postgres_fails_the_session_never_skips(ci):
    # given a PostgreSQL URL where nothing listens
    result = _pytest_against("postgres://postgres@127.0.0.1:1/patron", ci=ci)
    # then the session ends with an error before any test ran
    output = result.stdout + result.stderr
    assert result.returncode == PG_UNREACHABLE_EXIT, output
    assert "PostgreSQL is not reachable" in output
    assert ("CI=true: this is a failure" in output) is ci
    assert "passed" not in output and "skipped" not in output


def test_unreachable_message_does_not_print_the_password():
    result = _pytest_against("postgres://patron:s3cret-pw@127.0.0.1:1/patron", ci=True)
    output = result.stdout + result.stderr
    assert result.returncode == PG_UNREACHABLE_EXIT
    assert "postgres://patron:***@127.0.0.1:1/patron" in output
    assert "s3cret-pw" not in output


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("run", [1, 2])  # the second run follows the first one's flush
def test_roles_and_workspace_exist_even_after_a_flush(run):
    assert set(Role.objects.values_list("key", flat=True)) == set(DEFAULT_ROLES)
    workspace = Workspace.objects.get(pk=1)
    assert workspace.lifecycle_stages  # as the data migration creates it


def test_ensure_defaults_restores_what_a_flush_removes(db):
    # given the tables as a transactional test's flush leaves them
    Role.objects.all().delete()
    Workspace.objects.all().delete()
    # when the defaults are ensured
    ensure_defaults()
    # then the roles and the workspace are back, with their migration-made content
    assert set(Role.objects.values_list("key", flat=True)) == set(DEFAULT_ROLES)
    admin = Role.objects.get(key="admin")
    assert set(admin.permissions) == set(DEFAULT_ROLES["admin"][1])
    assert Workspace.objects.get(pk=1).lifecycle_stages


def test_make_user_gives_distinct_users_with_role_and_known_password(make_user):
    first, second = make_user(), make_user("support")
    assert first.username != second.username
    assert (first.role.key, second.role.key) == ("sales", "support")
    assert authenticate(username=first.username, password=TEST_PASSWORD) == first


def test_role_fixtures(admin_user_p, readonly_user_p):
    assert admin_user_p.is_superuser and admin_user_p.role.key == "admin"
    assert readonly_user_p.role.key == "readonly" and not readonly_user_p.is_superuser
    assert readonly_user_p.has_perm_code("contact.view")
    assert not readonly_user_p.has_perm_code("contact.edit")


def test_client_for_is_logged_in_as_the_user(client_for, sales_user_p):
    client = client_for(sales_user_p)
    assert client.session["_auth_user_id"] == str(sales_user_p.pk)


def test_make_api_key_returns_a_working_key(make_api_key):
    user = apikey_authenticate(make_api_key("marketing"))
    assert user is not None and user.role.key == "marketing"


PROBE = """
import os

import pytest
from django.db import connection

from patron.events.services.ingest_wal import checkpointer_for
from patron.events.services.ingest_writer import Job, writer_for


@pytest.mark.django_db(transaction=True)
def test_the_group_writer_writes():
    path = str(connection.settings_dict["NAME"])

    def write():
        with connection.cursor() as cursor:  # the writer thread's own connection
            cursor.execute("CREATE TABLE probe (x INTEGER)")
        return 0

    checkpointer = checkpointer_for(path)
    writer_for(path).submit(Job(write=write, events=0))
    assert checkpointer.done.wait(10)  # its checkpoint after the commit has run
    assert all(os.path.exists(path + s) for s in ("-wal", "-shm", "-ingest.lock"))
"""


def _probe_run(tmp_path: Path, *args: str) -> list[str]:
    """Run a test that writes through the ingest group writer on a SQLite test database
    (in a pytest of its own, with this conftest); what is left in its var/ directory."""
    (tmp_path / "conftest.py").write_text((ROOT / "conftest.py").read_text())
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nDJANGO_SETTINGS_MODULE = patron.settings\naddopts = -p no:cacheprovider\n"
    )
    (tmp_path / "test_probe.py").write_text(PROBE)
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.pop("DATABASE_URL", None)
    env.update(PATRON_VAR_DIR=str(var), PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *args, "test_probe.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return sorted(name for name in os.listdir(var) if name.startswith("test_"))


@pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["one process", "two workers"])
def test_sqlite_test_databases_leave_no_files_in_var(tmp_path, workers):
    # given a test run whose test database the ingest writer's threads still hold open
    # when the run ends, then nothing of its test databases is left in var/
    assert _probe_run(tmp_path, *workers) == []


def test_a_kept_test_database_keeps_its_files(tmp_path):
    # given --reuse-db, the test database outlives the run: its WAL must stay with it
    left = _probe_run(tmp_path, "-p", "no:xdist", "--reuse-db")
    assert len(left) == 4, left
    db = left[0]
    assert db.endswith(".sqlite3") and left[1:] == [db + s for s in sorted(SQLITE_SIDE_FILES)]


def test_side_files_are_left_while_another_process_has_one_open(tmp_path):
    # given a destroyed database whose side files remain, one held open by another process
    db = tmp_path / "test_1.sqlite3"
    files = [Path(f"{db}{suffix}") for suffix in SQLITE_SIDE_FILES]
    for file in files:
        file.write_bytes(b"")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; f = open(sys.argv[1]); print(1, flush=True); "
         "time.sleep(60)", str(files[0])],
        stdout=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline()
        # when the side files are cleaned up, then nothing is removed
        assert sqlite_side_files_remove(db) == []
        assert all(file.exists() for file in files)
    finally:
        holder.kill()
        holder.wait()
    # and once that process has ended, all of them are
    assert sqlite_side_files_remove(db) == files
    assert not any(file.exists() for file in files)
    # while a database that still exists keeps its own
    db.write_bytes(b"")
    files[0].write_bytes(b"")
    assert sqlite_side_files_remove(db) == []
    assert files[0].exists()
