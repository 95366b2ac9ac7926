"""``patron webhooks deliver|rekey``: send due deliveries now (a cron safety net), or
re-encrypt every stored signing secret under the first ``PATRON_SECRETS_KEY``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Webhooks: `deliver` sends every due delivery (safe next to running workers); "
        "`rekey` re-encrypts stored signing secrets under the first PATRON_SECRETS_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["deliver", "rekey"])
        parser.add_argument("--max-seconds", type=float, default=300.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "rekey":
            from patron.webhooks.services.endpoints import endpoint_secrets_rekey
            from patron.webhooks.vault import SecretUnreadable

            try:
                done = endpoint_secrets_rekey()
            except SecretUnreadable as exc:
                raise CommandError(f"{exc} Nothing was changed.") from exc
            self.stdout.write(f"{done} endpoint(s) re-encrypted under the first key.")
            return
        from patron.webhooks.services.delivery import deliveries_send_due

        done, more = deliveries_send_due(max_seconds=options["max_seconds"])
        self.stdout.write(f"{done} attempt(s) made{'; more are due' if more else ''}.")
