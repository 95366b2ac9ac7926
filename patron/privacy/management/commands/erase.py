"""``patron erase CONTACT_ID --as USERNAME --yes``: erase a person (GDPR Art. 17)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.accounts.models import User
from patron.core.permissions import PermissionDenied
from patron.privacy.services import contact_erase


class Command(BaseCommand):
    help = (
        "Erase a contact and everything held about them (right to be forgotten). "
        "Cannot be undone. Acts as --as USERNAME, who needs contact.delete."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("contact_id")
        parser.add_argument("--as", dest="as_user", required=True, help="The acting user.")
        parser.add_argument("--yes", action="store_true", help="Confirm: this cannot be undone.")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = str(options["contact_id"])
        if not raw.isdigit() or int(raw) < 1:
            raise CommandError(f"Not an id: {raw[:40]!r}")
        actor = User.objects.filter(username=options["as_user"], is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {options['as_user']!r}.")
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone: pass --yes to confirm.")
        try:
            record = contact_erase(actor=actor, contact=int(raw))
        except PermissionDenied as exc:
            raise CommandError(exc.message) from exc
        removed = ", ".join(f"{k} {v}" for k, v in sorted(record.removed.items()) if v)
        self.stdout.write(f"Erased contact {record.contact_id} (erasure {record.pk}): {removed}.")
