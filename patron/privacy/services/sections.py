"""What an access export (GDPR Art. 15/20) holds: one section per kind of data about a person.

Each ``Section`` names the models it covers and reads its rows for one contact id.
``COVERED`` (the models the sections read) and ``NOT_EXPORTED`` (each with the reason)
together must name every model that points at a contact: ``test_export_coverage``
fails when a new one appears in neither, so a new table about people cannot be
forgotten by the export.

Rows are plain ``values()`` dictionaries (every stored column, foreign keys as ``*_id``),
with a few readable names joined in (company, tag, list, segment, endpoint names).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

#: Rows fetched at a time: a contact with 100,000 events is read 1,000 rows at a time.
PAGE = 1000

Row = dict[str, Any]


@dataclass(frozen=True)
class Section:
    name: str
    covers: tuple[str, ...]
    # One query for the section's rows; or ``listed``, a few rows built in Python (rows
    # that are not one table's: the import origins, read from the journal).
    query: Callable[[int], QuerySet[Any]] | None
    single: bool = False  # one row or none (a profile, a per-contact aggregate)
    shape: Callable[[Row], Row] | None = None
    nested: Callable[[list[Row]], None] | None = None  # adds children to a page of rows
    listed: Callable[[int], list[Row]] | None = None


def _contact(pk: int) -> QuerySet[Any]:
    from patron.contacts.models import Contact

    return Contact.objects.filter(pk=pk).values()


def _custom(pk: int) -> QuerySet[Any]:
    from patron.contacts.models import CustomFieldValue

    return CustomFieldValue.objects.filter(contact_id=pk).values(
        "id", "field__key", "field__label", "field__type",
        "value_text", "value_number", "value_date", "value_bool",
    )  # fmt: skip


def _custom_shape(row: Row) -> Row:
    values = [row[k] for k in ("value_text", "value_number", "value_date", "value_bool")]
    return {
        "id": row["id"],
        "field": row["field__key"],
        "label": row["field__label"],
        "type": row["field__type"],
        "value": next((v for v in values if v is not None), None),
    }


def _by_contact(model_path: str, *extra: str) -> Callable[[int], QuerySet[Any]]:
    """``model.objects.filter(contact_id=pk).values()`` (plus joined names)."""

    def query(pk: int) -> QuerySet[Any]:
        from django.apps import apps

        model = apps.get_model(model_path)
        qs = model.objects.filter(contact_id=pk)
        if not extra:
            return qs.values()
        names = [f.attname for f in model._meta.concrete_fields]
        return qs.values(*names, *extra)

    return query


def _tags(pk: int) -> QuerySet[Any]:
    from patron.contacts.models import Contact

    return Contact.tags.through.objects.filter(contact_id=pk).values("id", "tag_id", "tag__name")


def _order_lines(orders: list[Row]) -> None:
    from patron.commerce.models import OrderLine

    by_order: dict[int, list[Row]] = {o["id"]: [] for o in orders}
    for line in OrderLine.objects.filter(order_id__in=list(by_order)).order_by("id").values():
        by_order[line["order_id"]].append(dict(line))
    for order in orders:
        order["lines"] = by_order[order["id"]]


def merged_into(pk: int) -> list[int]:
    """The contact and the records merged into it (not un-merged), through chains of merges:
    the same person, whose history stays filed under the merged records' ids (the activity
    log is append-only, ADR 0011)."""
    from patron.hygiene.selectors import merged_ids

    return [pk, *merged_ids(pk)]


def _activities(pk: int) -> QuerySet[Any]:
    from patron.core.models import Activity

    ids = merged_into(pk)
    return Activity.objects.filter(
        Q(contact_id__in=ids) | Q(subject_type="contact", subject_id__in=ids)
    ).values()


def _import_rows(pk: int) -> QuerySet[Any]:
    from patron.imports.models import ImportRow

    names = [f.attname for f in ImportRow._meta.concrete_fields]
    return ImportRow.objects.filter(contact_id__in=merged_into(pk)).values(*names, "job__file_name")


def _import_origins(pk: int) -> list[Row]:
    """When and by which import (job, file name, file row, who ran it) the person's records
    were created: the contact's own creation and that of every record merged into it. The
    journal holds these, not activity rows (ADR 0075, 0087)."""
    from patron.contacts.models import Contact
    from patron.imports.selectors import contact_import_origins

    contact = Contact.objects.filter(pk=pk).only("pk", "created_at").first()
    if contact is None:
        return []
    return [
        {
            "contact_id": o["contact_id"],
            "created_at": o["at"],
            "import_job": o["import_job"],
            "file_name": o["file"],
            "row": o["row"],
            "run_by": o["actor_label"],
            "run_by_id": o["actor_id"],
            "merge_id": o.get("merge_id"),
        }
        for o in contact_import_origins(contact, own_entry=True)
    ]


def _merges(pk: int) -> QuerySet[Any]:
    from patron.hygiene.models import MergeRecord

    return MergeRecord.objects.filter(Q(survivor_id=pk) | Q(merged_id=pk)).values()


def _deliveries(pk: int) -> QuerySet[Any]:
    from patron.webhooks.models import WebhookDelivery

    # Who received the data (Art. 15(1)(c)): the endpoint's name, not its URL (a URL
    # may carry a token of the receiving system).
    return WebhookDelivery.objects.filter(contact_id__in=merged_into(pk)).values(
        "id", "endpoint_id", "endpoint__name", "event_id", "event_type", "payload", "status",
        "attempts", "created_at", "delivered_at",
    )  # fmt: skip


SECTIONS: tuple[Section, ...] = (
    Section("profile", ("contacts.Contact",), _contact, single=True),
    Section("custom_fields", ("contacts.CustomFieldValue",), _custom, shape=_custom_shape),
    Section("identities", ("contacts.ContactIdentity",), _by_contact("contacts.ContactIdentity")),
    Section(
        "companies",
        ("contacts.ContactCompany",),
        _by_contact("contacts.ContactCompany", "company__name", "company__domain"),
    ),
    Section("tags", ("contacts.Contact_tags",), _tags),
    Section(
        "lists",
        ("contacts.ContactListMember",),
        _by_contact("contacts.ContactListMember", "contact_list__name"),
    ),
    Section("notes", ("contacts.Note",), _by_contact("contacts.Note", "author__username")),
    Section("consents", ("privacy.Consent",), _by_contact("privacy.Consent")),
    Section(
        "orders",
        ("commerce.Order", "commerce.OrderLine"),
        _by_contact("commerce.Order"),
        nested=_order_lines,
    ),
    Section(
        "purchase_summary",
        ("commerce.ContactPurchaseSummary",),
        _by_contact("commerce.ContactPurchaseSummary"),
        single=True,
    ),
    Section("tickets", ("support.Ticket",), _by_contact("support.Ticket")),
    Section("survey_responses", ("support.SurveyResponse",), _by_contact("support.SurveyResponse")),
    Section("events", ("events.Event",), _by_contact("events.Event")),
    Section(
        "event_summary",
        ("events.ContactEventSummary",),
        _by_contact("events.ContactEventSummary"),
        single=True,
    ),
    Section("event_counts", ("events.ContactEventCount",), _by_contact("events.ContactEventCount")),
    Section("traits", ("events.ContactTraits",), _by_contact("events.ContactTraits"), single=True),
    Section(
        "segment_memberships",
        ("segments.SegmentMembership",),
        _by_contact("segments.SegmentMembership", "segment__name"),
    ),
    Section("activities", ("core.Activity",), _activities),
    Section("import_rows", ("imports.ImportRow",), _import_rows),
    Section("import_origins", ("imports.ImportChunk",), None, listed=_import_origins),
    Section("merges", ("hygiene.MergeRecord",), _merges),
    Section("webhook_deliveries", ("webhooks.WebhookDelivery",), _deliveries),
)

#: Models that point at a contact and are deliberately left out, each with the reason.
NOT_EXPORTED: dict[str, str] = {
    "segments.SegmentTimer": (
        "an internal schedule (segment id and the time a time-based condition is checked "
        "again); the membership it leads to is exported"
    ),
    "hygiene.DuplicateCandidate": (
        "a suspicion that two records are one person: it names another contact and its "
        "explanation compares that person's values, which would leak a third party's data"
    ),
    "events.IdentityConflict": (
        "two contacts joined by one identifier: it names another contact; the identifier "
        "itself is exported with the identities"
    ),
    "privacy.Erasure": "exists only once the person is gone; holds no personal data",
}

COVERED: frozenset[str] = frozenset(label for s in SECTIONS for label in s.covers)


def section_count(section: Section, pk: int) -> int:
    if section.listed is not None:
        return len(section.listed(pk))
    assert section.query is not None
    return section.query(pk).count()


def section_rows(section: Section, pk: int) -> Iterator[list[Row]]:
    """The section's rows in pages of ``PAGE``, from one query whose rows the database
    driver hands over a chunk at a time (a server-side cursor on PostgreSQL, chunked
    fetches on SQLite): memory stays flat and each row is read once, where re-querying
    page by page would re-read a large section on every page."""
    if section.listed is not None:
        rows = section.listed(pk)
        for start in range(0, len(rows), PAGE):
            yield rows[start : start + PAGE]
        return
    assert section.query is not None
    qs = section.query(pk)
    if section.single:
        rows = list(qs[:1])
        if rows:
            yield [section.shape(rows[0]) if section.shape else rows[0]]
        return
    cursor = qs.order_by("pk").iterator(chunk_size=PAGE)
    while page := list(itertools.islice(cursor, PAGE)):
        if section.nested:
            section.nested(page)
        yield [section.shape(r) for r in page] if section.shape else page
