"""``patron segments tick|build``: time triggers and rebuilds from the command line.

``tick`` re-evaluates every contact whose time trigger is due ("in the last 30 days"
conditions moving people out as time passes). Workers on the database task backend
schedule it themselves; with another backend, or as a safety net after an outage, run it
from cron (e.g. every minute). ``build ID`` re-evaluates one segment over every contact
(``--all-timers`` also recomputes every contact's time trigger, as a repair); for a static
segment that takes a new snapshot.
Both are safe next to running workers: each segment is evaluated under its row lock.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

TICK_LIMIT = 20_000


class Command(BaseCommand):
    help = "Segments: `tick` applies due time triggers; `build ID` rebuilds one segment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["tick", "build"])
        parser.add_argument("segment_id", nargs="?", type=int, help="The segment (build)")
        parser.add_argument(
            "--all-timers",
            action="store_true",
            help="build: recompute every contact's time trigger, not only moved ones",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        from patron.segments.models import Segment
        from patron.segments.services.membership import segment_build, segments_tick
        from patron.segments.services.timers import next_due

        if options["action"] == "tick":
            total = 0
            while True:  # a tick handles at most TICK_LIMIT contacts; drain what is due
                done = segments_tick(limit=TICK_LIMIT)
                total += done
                if done < TICK_LIMIT:
                    break
            upcoming = next_due()
            when = upcoming.isoformat() if upcoming else "none"
            self.stdout.write(f"{total} contact(s) re-evaluated; next trigger: {when}.")
            return
        segment_id = options["segment_id"]
        if segment_id is None:
            raise CommandError("build needs a segment id: patron segments build ID")
        if not Segment.objects.filter(pk=segment_id, is_template=False).exists():
            raise CommandError(f"No segment {segment_id}.")
        entered, exited = segment_build(segment_id=segment_id, all_timers=options["all_timers"])
        self.stdout.write(f"Segment {segment_id}: {entered} entered, {exited} left.")
