"""``patron webhooks deliver``: send due webhook deliveries now (a cron safety net)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Webhooks: `deliver` sends every due delivery (safe next to running workers)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["deliver"])
        parser.add_argument("--max-seconds", type=float, default=300.0)

    def handle(self, *args: Any, **options: Any) -> None:
        from patron.webhooks.services.delivery import deliveries_send_due

        done, more = deliveries_send_due(max_seconds=options["max_seconds"])
        self.stdout.write(f"{done} attempt(s) made{'; more are due' if more else ''}.")
