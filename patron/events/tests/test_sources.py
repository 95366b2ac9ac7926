"""Sources: write keys stored hashed, rotation with a grace period, the CLI."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.events.models import Source
from patron.events.services import (
    source_authenticate,
    source_create,
    source_rotate_key,
    source_set_active,
)

pytestmark = pytest.mark.django_db


def test_create_stores_only_a_hash_and_authenticates(admin_user_p):
    source, raw = source_create(actor=admin_user_p, name="Website")
    assert raw.startswith("wk_") and len(raw) > 30
    assert raw not in (source.key_hash, source.key_prefix)
    assert raw.startswith(source.key_prefix)
    assert source_authenticate(raw) == source
    assert source_authenticate(raw + "x") is None
    assert source_authenticate("") is None
    assert Activity.objects.filter(verb="source.created", subject_id=source.pk).count() == 1


def test_create_refuses_blank_duplicate_names_and_users_without_permission(
    admin_user_p, sales_user_p
):
    source_create(actor=admin_user_p, name="App")
    with pytest.raises(ValidationError):
        source_create(actor=admin_user_p, name="app")
    with pytest.raises(ValidationError):
        source_create(actor=admin_user_p, name="  ")
    with pytest.raises(PermissionDenied):
        source_create(actor=sales_user_p, name="Backend")
    assert list(Source.objects.values_list("name", flat=True)) == ["App"]


def test_rotation_keeps_old_key_for_the_grace_period_only(admin_user_p, monkeypatch):
    source, old = source_create(actor=admin_user_p, name="Website")
    source, new = source_rotate_key(actor=admin_user_p, source=source, grace=dt.timedelta(hours=1))
    assert new != old
    assert source_authenticate(new) == source
    assert source_authenticate(old) == source  # still in its grace period
    later = timezone.now() + dt.timedelta(hours=1, seconds=1)
    monkeypatch.setattr("patron.events.services.sources.timezone.now", lambda: later)
    assert source_authenticate(old) is None
    assert source_authenticate(new) == source


def test_rotation_without_grace_revokes_at_once_and_only_one_previous_key_lives(admin_user_p):
    source, first = source_create(actor=admin_user_p, name="Website")
    source, second = source_rotate_key(actor=admin_user_p, source=source)
    source, third = source_rotate_key(actor=admin_user_p, source=source)
    assert source_authenticate(first) is None  # replaced by the second as "previous"
    assert source_authenticate(second) == source
    source, fourth = source_rotate_key(actor=admin_user_p, source=source, grace=dt.timedelta(0))
    assert source_authenticate(third) is None
    assert source_authenticate(fourth) == source
    with pytest.raises(ValidationError):
        source_rotate_key(actor=admin_user_p, source=source, grace=dt.timedelta(days=365))


def test_disabled_source_is_refused(admin_user_p, sales_user_p):
    source, raw = source_create(actor=admin_user_p, name="Website")
    with pytest.raises(PermissionDenied):
        source_set_active(actor=sales_user_p, source=source, active=False)
    assert source_authenticate(raw) == source
    source_set_active(actor=admin_user_p, source=source, active=False)
    assert source_authenticate(raw) is None


def test_cli_create_prints_the_key_last_and_rotate_and_list(db):
    out = io.StringIO()
    call_command("source", "create", "Mobile app", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    source = Source.objects.get(name="Mobile app")
    assert source_authenticate(key) == source

    out = io.StringIO()
    call_command("source", "rotate", "mobile app", "--grace-hours", "0", stdout=out)
    new_key = out.getvalue().strip().splitlines()[-1]
    assert source_authenticate(new_key) == source
    assert source_authenticate(key) is None

    out = io.StringIO()
    call_command("source", "list", stdout=out)
    source.refresh_from_db()
    assert "Mobile app" in out.getvalue() and source.key_prefix in out.getvalue()
    assert new_key not in out.getvalue()

    with pytest.raises(CommandError):
        call_command("source", "create", "Mobile app", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("source", "rotate", "nope", stdout=io.StringIO())
