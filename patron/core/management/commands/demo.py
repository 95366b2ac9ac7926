"""``patron demo``: fill an empty database with realistic generated demo data."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from patron.core.demo import DemoRefused, demo_generate


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError as exc:
        raise ArgumentTypeError(f"{value!r} is not a whole number") from exc
    if number < 1:
        raise ArgumentTypeError("must be at least 1")
    return number


class Command(BaseCommand):
    help = (
        "Generate realistic demo data: users, companies, contacts (with ~5% planted "
        "duplicates listed in var/demo_duplicates.csv), orders, tracking events, tickets, "
        "surveys, consents and notes. Deterministic for a given --seed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--contacts", type=_positive, default=2000, help="How many contacts (default 2000)."
        )
        parser.add_argument(
            "--seed", type=int, default=1, help="Random seed; same seed, same data (default 1)."
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Add demo data even though the database already holds contacts or orders.",
        )
        parser.add_argument(
            "--duplicates-file",
            default=None,
            help="Where to write the planted-duplicate ground truth "
            "(default: var/demo_duplicates.csv).",
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="Do not show a progress bar."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = demo_generate(
                contacts=options["contacts"],
                seed=options["seed"],
                force=options["force"],
                duplicates_path=options["duplicates_file"],
                progress=not options["no_progress"] and options["verbosity"] > 0,
            )
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        out = self.stdout
        out.write(
            f"Demo data for {result.contacts:,} contacts created in {result.seconds:.1f} s "
            f"(seed {result.seed}). Rows added per table:"
        )
        width = max(len(label) for label in result.counts)
        for label, count in result.counts.items():
            out.write(f"  {label:<{width}}  {count:>10,}")
        out.write(
            f"Planted duplicates: {result.duplicates:,} pairs, listed in "
            f"{result.duplicates_path} (original_id,duplicate_id,variations)."
        )
        out.write(
            "Demo users have no usable password; create an administrator with `patron createadmin`."
        )
