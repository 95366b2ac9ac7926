"""``patron import contacts FILE [--key email] [--dry-run]``: import with a progress bar.

``patron import companies|orders|tickets|events FILE [--dry-run]`` imports the other
targets the same way (see patron.imports.targets).

Columns are matched automatically (first_name, last_name, email, phone, company,
job_title, city, country, external_id, tags, ... and their synonyms); ``--map
"Header=field"`` overrides one. ``patron import resume JOB`` continues an interrupted run;
``patron import rollback JOB`` undoes one.
"""

from __future__ import annotations

import json
import time
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patron.accounts.models import User


class Command(BaseCommand):
    help = "Import contacts, companies, orders, tickets or events from a CSV or XLSX file."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        contacts = sub.add_parser("contacts", help="Import contacts from FILE.")
        contacts.add_argument("file")
        contacts.add_argument("--key", default="email", help="Upsert key (default: email).")
        contacts.add_argument("--dry-run", action="store_true", help="Check only, write nothing.")
        contacts.add_argument("--user", help="Act as this user (default: the first superuser).")
        contacts.add_argument("--on-new", default="create", choices=["create", "skip"])
        contacts.add_argument(
            "--on-existing", default="update", choices=["update", "fill_empty", "skip"]
        )
        contacts.add_argument("--on-error", default="skip", choices=["skip", "stop"])
        contacts.add_argument("--on-duplicate", default="skip", choices=["skip", "create"])
        contacts.add_argument("--tag", action="append", default=[], help="Tag everyone imported.")
        contacts.add_argument("--map", action="append", default=[], help='"Header=field"')
        contacts.add_argument("--mapping", help="Use a saved mapping by name.")
        contacts.add_argument("--encoding", help="Force the text encoding of a CSV file.")
        contacts.add_argument("--workers", type=int, help="Processes that normalise rows.")
        contacts.add_argument("--json", action="store_true", help="Print the result as JSON.")
        from patron.imports.targets import LABELS, target_for

        for name in ("companies", "orders", "tickets", "events"):
            target = target_for(name)
            p = sub.add_parser(name, help=f"Import {LABELS[name].lower()} from FILE.")
            p.add_argument("file")
            p.add_argument(
                "--key",
                default=target.keys[0],
                choices=list(target.keys),
                help=f"Upsert key (default: {target.keys[0]}).",
            )
            p.add_argument("--dry-run", action="store_true", help="Check only, write nothing.")
            p.add_argument("--user", help="Act as this user (default: the first superuser).")
            p.add_argument("--on-new", default="create", choices=["create", "skip"])
            p.add_argument(
                "--on-existing", default="update", choices=["update", "fill_empty", "skip"]
            )
            p.add_argument("--on-error", default="skip", choices=["skip", "stop"])
            p.add_argument("--map", action="append", default=[], help='"Header=field"')
            p.add_argument("--mapping", help="Use a saved mapping by name.")
            p.add_argument("--encoding", help="Force the text encoding of a CSV file.")
            p.add_argument("--json", action="store_true", help="Print the result as JSON.")
            if name == "companies":
                p.add_argument("--tag", action="append", default=[], help="Tag every company.")
        for name in ("resume", "rollback"):
            p = sub.add_parser(name, help=f"{name.capitalize()} an import job.")
            p.add_argument("job", type=int)
            p.add_argument("--user")
            p.add_argument("--workers", type=int)
            p.add_argument("--json", action="store_true")

    def _actor(self, username: str | None) -> User:
        qs = User.objects.filter(is_active=True)
        user = (
            qs.filter(username=username).first()
            if username
            else qs.filter(is_superuser=True).order_by("pk").first()
        )
        if user is None:
            raise CommandError(
                "No such active user." if username else "No superuser: run `patron createadmin`."
            )
        return user

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            if opts["what"] == "contacts":
                self._contacts(opts)
            elif opts["what"] in ("companies", "orders", "tickets", "events"):
                self._contacts(opts, target=opts["what"])
            elif opts["what"] == "resume":
                self._resume(opts)
            else:
                self._rollback(opts)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
            raise CommandError(
                "; ".join(f"{k}: {' '.join(v)}" if k else " ".join(v) for k, v in messages.items())
            ) from exc

    def _bar(self, total: int | None, desc: str) -> tuple[Any, Any]:
        bar = tqdm(total=total, unit="rows", desc=desc, disable=None, dynamic_ncols=True)

        def progress(job: Any) -> None:
            done = job.rows_done if desc == "import" else (job.preview or {}).get("rows_checked", 0)
            bar.update(max(done - bar.n, 0))

        return bar, progress

    def _contacts(self, opts: dict[str, Any], target: str = "contacts") -> None:
        from patron.imports.services import (
            import_job_configure,
            import_job_create,
            import_job_preview,
            import_job_run,
            import_job_start,
        )

        actor = self._actor(opts["user"])
        job = import_job_create(
            actor=actor,
            path=opts["file"],
            file_name=opts["file"],
            encoding=opts["encoding"],
            mapping_name=opts["mapping"],
            target=target,
        )
        mapping = dict(job.mapping)
        for item in opts["map"]:
            header, _, target = item.partition("=")
            mapping[header.strip()] = target.strip()
        options = {
            "key": opts["key"],
            "on_new": opts["on_new"],
            "on_existing": opts["on_existing"],
            "on_error": opts["on_error"],
            "on_duplicate": opts.get("on_duplicate") or "skip",
            "tags": opts.get("tag") or [],
        }
        job = import_job_configure(actor=actor, job=job, mapping=mapping, options=options)
        mapped = {h: t for h, t in job.mapping.items() if t}
        self.stderr.write(f"Import #{job.pk}: columns {json.dumps(mapped, ensure_ascii=False)}")
        started = time.monotonic()
        if opts["dry_run"] or opts["on_error"] == "stop":
            bar, progress = self._bar(job.total_rows, "check")
            with bar:
                job = import_job_preview(
                    actor=actor, job=job, workers=opts.get("workers"), progress=progress
                )
            if opts["dry_run"]:
                self._print(job.preview, opts, started, dry=True)
                return
        job = import_job_start(actor=actor, job=job, enqueue=False)
        bar, progress = self._bar(job.total_rows, "import")
        with bar:
            done = import_job_run(job_id=job.pk, workers=opts.get("workers"), progress=progress)
        self._finish(done, opts, started)

    def _finish(self, job: Any, opts: dict[str, Any], started: float) -> None:
        if job.status != job.Status.DONE:
            raise CommandError(f"Import #{job.pk} {job.status}: {job.error}")
        self._print(
            {"job": job.pk, "rows": job.rows_done, "counts": job.counts}, opts, started, dry=False
        )

    def _print(
        self, data: dict[str, Any], opts: dict[str, Any], started: float, *, dry: bool
    ) -> None:
        seconds = time.monotonic() - started
        rows = data.get("rows", 0)
        data = {
            **data,
            "seconds": round(seconds, 2),
            "rows_per_second": round(rows / seconds) if seconds else None,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(data, default=str))
            return
        counts = data.get("counts", {})
        label = "Dry run (nothing written)" if dry else f"Import #{data.get('job')}"
        self.stdout.write(
            f"{label}: {rows} rows in {seconds:.1f}s — "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
        )
        for issue in (data.get("issues") or [])[:20]:
            self.stdout.write(
                f"  row {issue['row']}: {issue['action']} {issue['column']}: {issue['reason']}"
            )

    def _resume(self, opts: dict[str, Any]) -> None:
        from patron.imports.services import import_job_resume, import_job_run

        actor = self._actor(opts["user"])
        started = time.monotonic()
        job = import_job_resume(actor=actor, job=opts["job"], enqueue=False)
        bar, progress = self._bar(job.total_rows, "import")
        bar.update(job.rows_done)
        with bar:
            done = import_job_run(job_id=job.pk, workers=opts.get("workers"), progress=progress)
        self._finish(done, opts, started)

    def _rollback(self, opts: dict[str, Any]) -> None:
        from patron.imports.services import import_job_rollback

        actor = self._actor(opts["user"])
        job = import_job_rollback(actor=actor, job=opts["job"])
        self.stdout.write(
            json.dumps(job.rollback_report)
            if opts["json"]
            else f"Import #{job.pk} rolled back: {job.rollback_report}"
        )
