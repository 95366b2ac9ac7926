"""``patron createadmin``: the first administrator, without prompts.

Idempotent: when the user exists it changes nothing unless ``--reset`` is given. Without
``--password`` a strong password is generated and printed once; it is stored only hashed.
"""

from __future__ import annotations

import secrets
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from patron.accounts.models import User
from patron.accounts.services import user_admin_reset, user_create

ADMIN_ROLE = "admin"


def generate_password() -> str:
    """24 URL-safe characters (144 random bits)."""
    return secrets.token_urlsafe(18)


class Command(BaseCommand):
    help = (
        "Create a superuser with the admin role (does nothing if the user exists). "
        "Without --password, generates one and prints it."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", default="admin", help="Default: %(default)s.")
        parser.add_argument("--email", default="", help="Email address (optional).")
        parser.add_argument(
            "--password",
            default=None,
            help="Password to set (checked by the password rules). Default: generate one.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="If the user exists, set a new password and make it an active admin again.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"].strip()
        email: str = options["email"].strip()
        if not username:
            raise CommandError("--username must not be empty.")
        existing = User.objects.filter(username=username).first()
        if existing is not None and existing.is_service:
            raise CommandError(f"{username!r} is an API key's service user, not a person.")
        if existing is not None and not options["reset"]:
            self.stdout.write(
                f'User "{username}" already exists; nothing changed. '
                "Use --reset to set a new password."
            )
            return

        password: str | None = options["password"]
        generated = password is None
        if password is None:
            password = generate_password()
        else:
            try:
                validate_password(password, user=existing or User(username=username, email=email))
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from exc

        if existing is None:
            user = user_create(
                actor=None,
                username=username,
                password=password,
                role_key=ADMIN_ROLE,
                email=email,
                is_superuser=True,
            )
            self.stdout.write(self.style.SUCCESS(f'Created superuser "{user.username}".'))
        else:
            user = user_admin_reset(actor=None, user=existing, password=password, email=email)
            self.stdout.write(self.style.SUCCESS(f'Reset superuser "{user.username}".'))

        if generated:
            self.stdout.write(f"  username: {user.username}")
            self.stdout.write(f"  password: {password}")
            self.stdout.write("Keep this password now: it is stored only as a hash.")
