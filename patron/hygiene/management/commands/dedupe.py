"""``patron dedupe scan`` (whole database, progress bar) and ``patron dedupe pairs``."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from patron.core.permissions import PermissionDenied
from patron.hygiene.management.commands._actor import actor_from
from patron.hygiene.models import DuplicateCandidate
from patron.hygiene.services.scan import duplicates_scan

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def _cell(value: Any) -> Any:
    """Spreadsheet-safe text (formulas are prefixed so they show as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class Command(BaseCommand):
    help = "Find duplicate contacts: 'scan' the whole database, list candidate 'pairs'."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        scan = sub.add_parser("scan", help="Scan every contact into the review queue.")
        scan.add_argument("--engine", choices=["splink", "rapidfuzz"], default="splink")
        scan.add_argument(
            "--train",
            choices=["auto", "yes", "no"],
            default="auto",
            help="Train match weights on this data (auto: from 5,000 contacts).",
        )
        scan.add_argument("--max-block", type=int, default=50, help="rapidfuzz engine only.")
        scan.add_argument("--as", dest="as_user", help="Act as this user (default: system).")
        scan.add_argument("--no-progress", action="store_true")
        pairs = sub.add_parser("pairs", help="Print candidate pairs.")
        pairs.add_argument("--format", choices=["csv", "json"], default="csv")
        pairs.add_argument(
            "--status", choices=["open", "dismissed", "merged", "all"], default="open"
        )
        pairs.add_argument("--min-score", type=float, default=0.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "scan":
            self._scan(options)
        else:
            self._pairs(options)

    def _scan(self, options: dict[str, Any]) -> None:
        actor = actor_from(options)
        engine = options["engine"]
        steps = ["load", "train", "predict", "cluster", "collect", "write"]
        bar = tqdm(
            total=len(steps) if engine == "splink" else 0,
            unit="step" if engine == "splink" else "pair",
            desc="Scanning",
            disable=options["no_progress"],
            file=sys.stderr,
        )
        written = {"n": 0}

        def progress(step: str, done: int, total: int) -> None:
            if engine == "splink":
                bar.set_postfix_str(step)
                if step != "write":
                    bar.update(1)
                    return
                written["n"] += done
                if written["n"] >= total:
                    bar.update(1)
                return
            if bar.total != total:
                bar.reset(total=total)
                bar.set_description("Comparing" if step == "compare" else "Writing")
            bar.update(done)

        train = {"auto": None, "yes": True, "no": False}[options["train"]]
        try:
            result = duplicates_scan(
                actor=actor,
                engine=engine,
                max_block=options["max_block"],
                train=train,
                progress=progress,
            )
        except PermissionDenied as exc:
            bar.close()
            raise CommandError(exc.message) from exc
        if engine == "splink":  # training is skipped on small data: the bar ends full
            bar.n = bar.total
            bar.refresh()
        bar.close()
        self.stdout.write(
            f"Scan {result.run_id} ({engine}): {result.candidates} candidate pairs "
            f"in {result.clusters} clusters; {result.auto_merged} auto-merged."
        )

    def _pairs(self, options: dict[str, Any]) -> None:
        qs = DuplicateCandidate.objects.select_related("contact_a", "contact_b").filter(
            score__gte=options["min_score"]
        )
        if options["status"] != "all":
            qs = qs.filter(status=options["status"])
        rows = (
            {
                "candidate_id": c.pk,
                "contact_a_id": c.contact_a_id,
                "contact_a_external_id": c.contact_a.external_id or "",
                "contact_b_id": c.contact_b_id,
                "contact_b_external_id": c.contact_b.external_id or "",
                "score": c.score,
                "status": c.status,
                "cluster_id": c.cluster_id or "",
            }
            for c in qs.order_by("-score", "pk").iterator(chunk_size=2000)
        )
        if options["format"] == "json":
            for row in rows:
                self.stdout.write(json.dumps(row))
            return
        fields = [
            "candidate_id",
            "contact_a_id",
            "contact_a_external_id",
            "contact_b_id",
            "contact_b_external_id",
            "score",
            "status",
            "cluster_id",
        ]
        writer = csv.DictWriter(self.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
