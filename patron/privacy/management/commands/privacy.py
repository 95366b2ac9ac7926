"""``patron privacy export CONTACT_ID --as USERNAME [--out FILE]``: everything held about a
person as one JSON document (GDPR Art. 15/20), to a file or standard output.

``patron privacy purge-uploads [--days N] [--dry-run]``: deletes stored import uploads
past retention (``PATRON_IMPORT_UPLOAD_RETENTION_DAYS``, ADR 0088); from cron when the
task backend cannot schedule it.

Acts as ``--as USERNAME`` (default: the first active superuser), who needs the export
permissions (``patron.privacy.selectors.EXPORT_PERMISSIONS``); the export is recorded in
the audit trail under that user, with counts only.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import Http404

from patron.accounts.models import User
from patron.core.permissions import PermissionDenied
from patron.privacy.services import contact_export


class Command(BaseCommand):
    help = (
        "Privacy requests: `export CONTACT_ID [--out FILE] [--as USERNAME]`; "
        "`purge-uploads [--days N] [--dry-run]` deletes stored import uploads past retention."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Everything held about a contact, as JSON.")
        export.add_argument("contact_id")
        export.add_argument("--out", help="Write to this file (default: standard output).")
        export.add_argument(
            "--as", dest="as_user", help="The acting user (default: the first superuser)."
        )
        purge = sub.add_parser(
            "purge-uploads",
            help="Delete stored import uploads past retention (ADR 0088).",
        )
        purge.add_argument(
            "--days", type=int, help="Retention in days for this run (default: the setting)."
        )
        purge.add_argument("--dry-run", action="store_true", help="Only count what would go.")

    def _purge(self, options: dict[str, Any]) -> None:
        from patron.privacy.services.retention import (
            expired_jobs,
            import_uploads_purge,
            stored_upload,
            upload_retention_days,
        )

        days = options.get("days")
        if days is not None and days < 0:
            raise CommandError("--days must be 0 or more.")
        if days is None:
            try:
                days = upload_retention_days()
            except ImproperlyConfigured as exc:
                raise CommandError(str(exc)) from exc
        if days is None:
            self.stdout.write("Upload retention is off: nothing deleted.")
            return
        if options.get("dry_run"):
            due = [j for j in expired_jobs(days=days).order_by("id") if stored_upload(j)]
            size = sum(j.file_size for j in due)
            self.stdout.write(
                f"{len(due)} stored upload(s), {size} bytes, older than {days} days "
                "would be deleted."
            )
            return
        result = import_uploads_purge(days=days)
        self.stdout.write(
            f"Deleted {result.files} stored upload(s), {result.bytes} bytes, older than "
            f"{days} days; {result.kept} kept."
        )

    def _actor(self, username: str | None) -> User:
        users = User.objects.filter(is_active=True)
        actor = (
            users.filter(username=username).first()
            if username
            else users.filter(is_superuser=True).order_by("id").first()
        )
        if actor is None:
            raise CommandError(
                f"No active user {username!r}." if username else "No superuser: pass --as."
            )
        return actor

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "purge-uploads":
            self._purge(options)
            return
        raw = str(options["contact_id"])
        if not raw.isdigit() or int(raw) < 1:
            raise CommandError(f"Not an id: {raw[:40]!r}")
        actor = self._actor(options.get("as_user"))
        try:
            result = contact_export(actor=actor, contact=int(raw))
        except PermissionDenied as exc:
            raise CommandError(exc.message) from exc
        except Http404 as exc:
            raise CommandError(f"No contact {raw} that {actor} may see.") from exc
        out = options.get("out")
        if not out:
            for chunk in result.body:
                self.stdout.write(chunk, ending="")
            return
        target = Path(out)
        # Written next to the target and moved into place: never a half-written file.
        fd, tmp = tempfile.mkstemp(dir=target.parent or ".", prefix=".patron-export-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                for chunk in result.body:
                    fh.write(chunk)
            os.chmod(tmp, 0o600)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        total = sum(result.counts.values())
        self.stderr.write(f"Exported contact {result.contact_id} ({total} rows) to {target}.")
