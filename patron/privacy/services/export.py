"""Access and portability (GDPR Art. 15 and 20): one JSON export of everything held about
a person, read section by section (``patron.privacy.services.sections``).

``contact_export`` checks the permissions (``EXPORT_PERMISSIONS``) and the contact's
scope, counts each section, and records a ``privacy.exported`` activity entry with the
counts (never the data) in one transaction; it returns the body as an iterator of text
chunks, read page by page while it is streamed, so a contact with 100,000 events does not
sit in memory. The counts are taken when the export starts; rows written while it streams
may or may not be in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contact_get
from patron.core.services import activity_record
from patron.privacy.selectors import require_export
from patron.privacy.services.sections import SECTIONS, section_count, section_rows

FORMAT = "patron.privacy-export.v1"


@dataclass(frozen=True)
class ExportResult:
    contact_id: int
    counts: dict[str, int]
    body: Iterator[str]
    filename: str
    content_type: str = "application/json"


def _dumps(value: object) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)


def _stream(pk: int, counts: dict[str, int], generated_at: str, own: int) -> Iterator[str]:
    """The document; ``own`` is this export's own audit entry (not part of what it read)."""
    head = {"format": FORMAT, "generated_at": generated_at, "contact_id": pk, "counts": counts}
    yield "{\n" + ",\n".join(f"{_dumps(k)}: {_dumps(v)}" for k, v in head.items())
    for section in SECTIONS:
        yield f",\n{_dumps(section.name)}: "
        if section.single:
            rows = [row for page in section_rows(section, pk) for row in page]
            yield _dumps(rows[0] if rows else None)
            continue
        yield "["
        sep = "\n"
        for page in section_rows(section, pk):
            if section.name == "activities":
                page = [row for row in page if row["id"] != own]
            if not page:
                continue
            yield sep + ",\n".join(_dumps(row) for row in page)
            sep = ",\n"
        yield "\n]"
    yield "\n}\n"


@transaction.atomic
def contact_export(*, actor: User, contact: Contact | int) -> ExportResult:
    """Everything held about a contact the actor may see, as a streamed JSON document.

    Raises PermissionDenied without the permissions, Http404 for a contact out of scope.
    """
    require_export(actor)
    pk = contact.pk if isinstance(contact, Contact) else int(contact)
    target = contact_get(actor, pk)
    counts = {s.name: section_count(s, target.pk) for s in SECTIONS}
    entry = activity_record(
        actor=actor,
        verb="privacy.exported",
        subject_type="contact",
        subject_id=target.pk,
        contact_id=target.pk,
        changes={"counts": counts},
    )
    generated_at = timezone.now().isoformat()
    return ExportResult(
        contact_id=target.pk,
        counts=counts,
        body=_stream(target.pk, counts, generated_at, entry.pk),
        filename=f"contact-{target.pk}-personal-data.json",
    )
