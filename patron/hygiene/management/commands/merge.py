"""``patron merge ID_A ID_B`` (B into A) and ``patron merge undo MERGE_ID``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from patron.core.permissions import PermissionDenied
from patron.hygiene.management.commands._actor import actor_from
from patron.hygiene.services import contact_merge, contact_merge_undo


class Command(BaseCommand):
    help = "Merge contact ID_B into ID_A (ID_A survives), or 'undo MERGE_ID'."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("first", help="ID_A (the survivor), or 'undo'")
        parser.add_argument("second", help="ID_B (merged into ID_A), or the merge id")
        parser.add_argument(
            "--rule",
            choices=["most_complete", "most_recent", "trusted_source"],
            default="most_complete",
        )
        parser.add_argument("--trusted-source", action="append", default=[])
        parser.add_argument("--as", dest="as_user", help="Act as this user (default: system).")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = actor_from(options)
        try:
            if options["first"] == "undo":
                record = contact_merge_undo(actor=actor, merge=self._id(options["second"]))
                self.stdout.write(
                    f"Undid merge {record.pk}: contact {record.merged_id} is back "
                    f"(survivor {record.survivor_id})."
                )
                for key, value in record.undo_report.items():
                    self.stdout.write(f"  kept: {key}: {value}")
                return
            record = contact_merge(
                actor=actor,
                survivor=self._id(options["first"]),
                merged=self._id(options["second"]),
                rule=options["rule"],
                trusted_sources=options["trusted_source"],
            )
        except PermissionDenied as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        moved = sum(len(v) for v in record.moved.values())
        self.stdout.write(
            f"Merged contact {record.merged_id} into {record.survivor_id}: merge id "
            f"{record.pk}, {moved} rows moved. Undo: patron merge undo {record.pk}"
        )

    @staticmethod
    def _id(raw: str) -> int:
        if not raw.isdigit() or int(raw) < 1:
            raise CommandError(f"Not an id: {raw[:40]!r}")
        return int(raw)
