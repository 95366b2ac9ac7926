"""``patron privacy export``: the document to a file or standard output, as a permitted user."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.core.models import Activity
from patron.privacy.tests.people import person

pytestmark = pytest.mark.django_db


def test_exports_to_a_file_as_the_given_user(admin_user_p: Any, tmp_path: Path) -> None:
    ada = person(admin_user_p, "ada")
    out = tmp_path / "ada.json"
    call_command("privacy", "export", str(ada.contact.pk), "--out", str(out), "--as", "admin_p",
                 stderr=io.StringIO())  # fmt: skip
    doc = json.loads(out.read_text())
    assert doc["contact_id"] == ada.contact.pk and doc["profile"]["email"] == ada.email
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".patron-export-*"))
    assert Activity.objects.get(verb="privacy.exported").actor_id == admin_user_p.pk


def test_exports_to_standard_output_as_the_first_superuser(admin_user_p: Any) -> None:
    ada = person(admin_user_p, "ada")
    stdout = io.StringIO()
    call_command("privacy", "export", str(ada.contact.pk), stdout=stdout)
    assert json.loads(stdout.getvalue())["contact_id"] == ada.contact.pk


def test_refuses_users_without_the_permissions_bad_ids_and_unknown_contacts(
    admin_user_p: Any, readonly_user_p: Any, tmp_path: Path
) -> None:
    ada = person(admin_user_p, "ada")
    out = tmp_path / "x.json"
    with pytest.raises(CommandError, match="permission"):
        call_command("privacy", "export", str(ada.contact.pk), "--as", "readonly_p",
                     "--out", str(out))  # fmt: skip
    with pytest.raises(CommandError, match="Not an id"):
        call_command("privacy", "export", "1; drop table")
    with pytest.raises(CommandError, match="No contact"):
        call_command("privacy", "export", "99999999")
    with pytest.raises(CommandError, match="No active user"):
        call_command("privacy", "export", str(ada.contact.pk), "--as", "nobody-here")
    assert not out.exists()
    assert not Activity.objects.filter(verb="privacy.exported").exists()
