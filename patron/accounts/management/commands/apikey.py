"""``patron apikey create|list|revoke``: manage API keys from the command line.

``create`` prints the new key as the last line of its output (so scripts can take
``| tail -n 1``); the key is shown only once and stored only as a hash.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.accounts.models import ApiKey, Role
from patron.accounts.services import apikey_create, apikey_revoke


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


class Command(BaseCommand):
    help = "Create, list and revoke API keys."

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="Create a key; prints it once, on the last line.")
        create.add_argument("--name", required=True, help="What the key is for.")
        create.add_argument(
            "--role", required=True, help="Role whose permissions the key gets (e.g. readonly)."
        )
        sub.add_parser("list", help="List keys (prefix, name, role, status).")
        revoke = sub.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix", help="The key's prefix, as shown by `apikey list`.")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            self.create(name=options["name"], role_key=options["role"])
        elif action == "list":
            self.list()
        else:
            self.revoke(prefix=options["prefix"])

    def create(self, *, name: str, role_key: str) -> None:
        if not Role.objects.filter(key=role_key).exists():
            roles = ", ".join(Role.objects.order_by("key").values_list("key", flat=True))
            raise CommandError(f"Unknown role {role_key!r}. Roles: {roles}.")
        try:
            key, raw = apikey_create(actor=None, name=name, role_key=role_key)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f'Created API key "{key.name}" (prefix {key.prefix}, role {role_key}).'
            )
        )
        self.stdout.write("Copy it now: it is stored only as a hash and will not be shown again.")
        self.stdout.write(raw)

    def list(self) -> None:
        keys = ApiKey.objects.select_related("user__role").order_by("created_at", "pk")
        rows = [
            (
                key.prefix,
                key.name,
                key.user.role.key if key.user.role else "-",
                _when(key.created_at),
                _when(key.last_used_at),
                f"revoked {_when(key.revoked_at)}" if key.revoked_at else "active",
            )
            for key in keys
        ]
        if not rows:
            self.stdout.write("No API keys.")
            return
        header = ("PREFIX", "NAME", "ROLE", "CREATED", "LAST USED", "STATUS")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            )

    def revoke(self, *, prefix: str) -> None:
        key = ApiKey.objects.filter(prefix=prefix.strip()).first()
        if key is None:
            raise CommandError(f"No API key with prefix {prefix!r} (see `patron apikey list`).")
        was_revoked = key.revoked_at is not None
        key = apikey_revoke(actor=None, key=key)
        if was_revoked:
            self.stdout.write(f'API key "{key.name}" ({key.prefix}) was already revoked.')
        else:
            self.stdout.write(self.style.SUCCESS(f'Revoked API key "{key.name}" ({key.prefix}).'))
