"""Write services for tracking sources and their write keys."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from patron.contacts.normalize import NormalizationError, clean_text
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record
from patron.events.models import Source

WRITE_KEY_PREFIX = "wk_"
DEFAULT_GRACE = dt.timedelta(hours=24)
MAX_GRACE = dt.timedelta(days=30)


def _require(actor: Any, code: str) -> None:
    """``actor=None`` is trusted set-up code (the CLI); anyone else needs the permission."""
    if actor is not None and not actor.has_perm_code(code):
        raise PermissionDenied()


def write_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _new_key() -> tuple[str, str, str]:
    raw = WRITE_KEY_PREFIX + secrets.token_urlsafe(24)
    return raw, raw[: len(WRITE_KEY_PREFIX) + 6], write_key_hash(raw)


@transaction.atomic
def source_create(*, actor: Any, name: str) -> tuple[Source, str]:
    """Create a source; returns (source, raw write key). The key is shown once, never stored."""
    _require(actor, P.SETTINGS_MANAGE)
    try:
        name = clean_text(name, max_length=120)
    except NormalizationError as exc:
        raise ValidationError({"name": [str(exc)]}) from exc
    if not name:
        raise ValidationError({"name": ["A source needs a name."]})
    if Source.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [f"A source named {name!r} already exists."]})
    raw, prefix, hashed = _new_key()
    source = Source.objects.create(
        name=name,
        key_prefix=prefix,
        key_hash=hashed,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    activity_record(
        actor=actor,
        verb="source.created",
        subject=source,
        changes={"after": {"name": name, "key_prefix": prefix}},
    )
    return source, raw


@transaction.atomic
def source_rotate_key(
    *, actor: Any, source: Source | int, grace: dt.timedelta = DEFAULT_GRACE
) -> tuple[Source, str]:
    """Give the source a new write key; the current one stays valid for ``grace``.

    ``grace`` of zero revokes the old key at once. A key still in its grace period from
    an earlier rotation is replaced (only one previous key is ever valid).
    """
    _require(actor, P.SETTINGS_MANAGE)
    if grace < dt.timedelta(0) or grace > MAX_GRACE:
        raise ValidationError({"grace": ["The grace period must be between 0 and 30 days."]})
    pk = source.pk if isinstance(source, Source) else int(source)
    locked = Source.objects.select_for_update().get(pk=pk)
    now = timezone.now()
    raw, prefix, hashed = _new_key()
    before = {"key_prefix": locked.key_prefix}
    if grace > dt.timedelta(0):
        locked.previous_key_hash = locked.key_hash
        locked.previous_key_prefix = locked.key_prefix
        locked.previous_key_expires_at = now + grace
    else:
        locked.previous_key_hash = None
        locked.previous_key_prefix = ""
        locked.previous_key_expires_at = None
    locked.key_hash, locked.key_prefix, locked.rotated_at = hashed, prefix, now
    locked.save(
        update_fields=[
            "key_hash",
            "key_prefix",
            "previous_key_hash",
            "previous_key_prefix",
            "previous_key_expires_at",
            "rotated_at",
        ]
    )
    activity_record(
        actor=actor,
        verb="source.key_rotated",
        subject=locked,
        changes={
            "before": before,
            "after": {
                "key_prefix": prefix,
                "previous_key_expires_at": locked.previous_key_expires_at,
            },
        },
    )
    return locked, raw


@transaction.atomic
def source_set_active(*, actor: Any, source: Source | int, active: bool) -> Source:
    """Enable or disable a source; a disabled source's keys are refused."""
    _require(actor, P.SETTINGS_MANAGE)
    pk = source.pk if isinstance(source, Source) else int(source)
    locked = Source.objects.select_for_update().get(pk=pk)
    if locked.is_active != active:
        locked.is_active = active
        locked.save(update_fields=["is_active"])
        activity_record(
            actor=actor,
            verb="source.enabled" if active else "source.disabled",
            subject=locked,
            changes={"before": {"is_active": not active}, "after": {"is_active": active}},
        )
    return locked


def source_authenticate(raw: str) -> Source | None:
    """The active source whose current, or still-valid previous, write key this is."""
    if not raw or len(raw) > 200:
        return None
    hashed = write_key_hash(raw)
    # One raw query for the current and the previous key (every tracking request asks:
    # building it through the ORM cost more than running it).
    table = Source._meta.db_table
    found = list(
        Source.objects.raw(
            f"SELECT * FROM {table} WHERE is_active = %s "  # noqa: S608
            "AND (key_hash = %s OR previous_key_hash = %s)",
            [True, hashed, hashed],
        )
    )
    for source in found:
        if source.key_hash == hashed:
            return source
    for source in found:
        expires = source.previous_key_expires_at
        if expires is not None and expires > timezone.now():
            return source
    return None
