"""``patron source create|rotate|list``: manage tracking sources and their write keys.

``create`` and ``rotate`` print the new write key as the last line of their output (so
scripts can take ``| tail -n 1``); keys are shown only once and stored only as hashes.
"""

from __future__ import annotations

import datetime as dt
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from patron.events.models import Source
from patron.events.services import source_create, source_rotate_key


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _errors(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(str(m) for errs in exc.message_dict.values() for m in errs)
    return "; ".join(exc.messages)


class Command(BaseCommand):
    help = "Create tracking sources, rotate their write keys, list them."

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,rotate,list}")
        create = sub.add_parser(
            "create", help="Create a source; prints its write key once, on the last line."
        )
        create.add_argument("name", help="What sends the events (e.g. 'Website').")
        rotate = sub.add_parser(
            "rotate", help="Give a source a new write key; prints it on the last line."
        )
        rotate.add_argument("name", help="The source's name.")
        rotate.add_argument(
            "--grace-hours",
            type=float,
            default=24.0,
            help="How long the old key keeps working (default 24; 0 revokes it now).",
        )
        sub.add_parser("list", help="List sources (name, key prefix, status).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(options["name"])
        elif action == "rotate":
            self.rotate(options["name"], options["grace_hours"])
        else:
            self.list()

    def create(self, name: str) -> None:
        try:
            source, raw = source_create(actor=None, name=name)
        except ValidationError as exc:
            raise CommandError(_errors(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(f'Created source "{source.name}" (key prefix {source.key_prefix}).')
        )
        self.stdout.write(
            "Point your Segment-compatible library's host at this server and use this write "
            "key. Copy it now: it is stored only as a hash and will not be shown again."
        )
        self.stdout.write(raw)

    def rotate(self, name: str, grace_hours: float) -> None:
        source = Source.objects.filter(name__iexact=name).first()
        if source is None:
            raise CommandError(f"No source named {name!r}.")
        try:
            source, raw = source_rotate_key(
                actor=None, source=source, grace=dt.timedelta(hours=grace_hours)
            )
        except (ValidationError, OverflowError, ValueError) as exc:
            msg = _errors(exc) if isinstance(exc, ValidationError) else str(exc)
            raise CommandError(msg) from exc
        if source.previous_key_expires_at:
            old = (
                f"The old key ({source.previous_key_prefix}…) works until "
                f"{_when(source.previous_key_expires_at)} UTC."
            )
        else:
            old = "The old key no longer works."
        self.stdout.write(self.style.SUCCESS(f'Rotated the write key of "{source.name}". {old}'))
        self.stdout.write(raw)

    def list(self) -> None:
        sources = list(Source.objects.order_by("name"))
        if not sources:
            self.stdout.write("No sources yet. Create one with: patron source create NAME")
            return
        now = timezone.now()
        self.stdout.write(f"{'NAME':30} {'KEY':12} {'STATUS':9} {'REJECTED':>8}  PREVIOUS KEY")
        for s in sources:
            prev = "-"
            expires = s.previous_key_expires_at
            if s.previous_key_hash and expires and expires > now:
                prev = f"{s.previous_key_prefix}… until {_when(s.previous_key_expires_at)}"
            status = "active" if s.is_active else "disabled"
            self.stdout.write(
                f"{s.name[:30]:30} {s.key_prefix + '…':12} {status:9} {s.rejected_count:>8}  {prev}"
            )
