"""The ``patron`` console command end to end: exit statuses and output a script relies on."""

from __future__ import annotations

import sqlite3


def test_apikey_create_prints_key_last_and_stores_only_its_hash(patron_site):
    result = patron_site.run("apikey", "create", "--name", "cli-test", "--role", "readonly")
    assert result.returncode == 0
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("ptn_")
    with sqlite3.connect(patron_site.db_path) as conn:
        rows = conn.execute(
            "SELECT prefix, key_hash FROM accounts_apikey WHERE name = 'cli-test'"
        ).fetchall()
    [(prefix, key_hash)] = rows
    assert raw.startswith(prefix) and raw != key_hash


def test_unknown_role_exits_non_zero_with_the_roles(patron_site):
    result = patron_site.run("apikey", "create", "--name", "x", "--role", "nope", check=False)
    assert result.returncode != 0
    assert "Unknown role 'nope'" in result.stderr
    assert "readonly" in result.stderr
    assert "ptn_" not in result.stdout


def test_createadmin_twice_succeeds_and_prints_credentials_once(patron_site):
    first = patron_site.run("createadmin", "--username", "cli-admin")
    second = patron_site.run("createadmin", "--username", "cli-admin")
    assert "password:" in first.stdout
    assert "already exists" in second.stdout and "password:" not in second.stdout
