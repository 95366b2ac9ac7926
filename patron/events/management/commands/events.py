"""``patron events process|status``: work off unprocessed tracking events by hand or cron.

Normally a ``patron worker`` processes events moments after they are accepted (a task is
enqueued after every ingest). This command is the catch-up: after the queue was down, a
task could not be enqueued, or on a schedule as a safety net. It runs the same processor
(batches in one transaction each, oldest first, one processor at a time), so it is safe
to run next to workers: they take turns, nothing is processed twice.

- ``patron events process``: process what is waiting, for at most ``--max-seconds``;
  exits with status 0 even if events are left (and says how many).
- ``patron events process --until-empty``: keep going until nothing is left, including
  events that arrive meanwhile.
- ``patron events status``: how many events wait, and since when.
"""

from __future__ import annotations

import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from patron.events.models import Event
from patron.events.services.processing import events_process_batches


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise ValueError(value)
    return number


def _backlog() -> int:
    return Event.objects.filter(processed=False).count()


class Command(BaseCommand):
    help = "Process tracking events that are still waiting (catch-up), or show the backlog."

    def add_arguments(self, parser: ArgumentParser) -> None:
        assert isinstance(parser, CommandParser)
        sub = parser.add_subparsers(dest="action", required=True, metavar="{process,status}")
        process = sub.add_parser("process", help="Process waiting events (oldest first).")
        process.add_argument(
            "--until-empty",
            action="store_true",
            help="Keep going until no event is waiting, even ones arriving meanwhile.",
        )
        process.add_argument(
            "--max-seconds",
            type=_positive,
            default=300.0,
            help="Stop after this long (default %(default)s; ignored with --until-empty).",
        )
        process.add_argument(
            "--batch-size",
            type=int,
            default=None,
            choices=range(1, 10_001),
            metavar="N",
            help="Events per transaction (1-10000; default 8000 on PostgreSQL, 2000 on SQLite).",
        )
        process.add_argument("--no-progress", action="store_true", help="No progress bar.")
        sub.add_parser("status", help="How many events are waiting to be processed.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "status":
            self.status()
        else:
            self.process(options)

    def status(self) -> None:
        waiting = Event.objects.filter(processed=False)
        oldest = waiting.order_by("id").values_list("received_at", flat=True).first()
        if oldest is None:
            self.stdout.write("No events waiting: everything accepted is processed.")
            return
        self.stdout.write(
            f"{waiting.count():,} events waiting; the oldest was received "
            f"{oldest:%Y-%m-%d %H:%M:%S} UTC."
        )

    def process(self, options: dict[str, Any]) -> None:
        started = time.monotonic()
        bar = tqdm(
            total=_backlog(),
            unit="event",
            desc="Processing",
            disable=options["no_progress"],
            file=sys.stderr,
        )
        total = 0
        try:
            # The same loop as the worker's task: WAL checkpoints on a thread (SQLite),
            # the next batch read meanwhile.
            for done in events_process_batches(
                deadline=None if options["until_empty"] else started + options["max_seconds"],
                batch_size=options["batch_size"],
            ):
                total += done
                if bar.n + done > (bar.total or 0):  # more arrived meanwhile
                    bar.total = bar.n + done + _backlog()
                bar.update(done)
        finally:
            bar.close()
        took = time.monotonic() - started
        left = _backlog()
        rate = f" ({total / took:,.0f}/s)" if total and took > 0 else ""
        self.stdout.write(
            self.style.SUCCESS(f"Processed {total:,} events in {took:.1f}s{rate}.")
            + (f" {left:,} still waiting." if left else " None waiting.")
        )
