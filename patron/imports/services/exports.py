"""Exports: contacts (a list, a segment, a search result, a selection) to CSV or XLSX.

- Needs ``P.EXPORT``; rows come only from ``contacts_visible_to`` (via ``contacts_filter``).
- Sensitive fields (phone, birthday, sensitive custom fields) are masked for actors
  without ``P.CONTACT_VIEW_SENSITIVE``, as in the UI and the API.
- Every text cell a spreadsheet would execute is escaped (``escape_cell``).
- The export is recorded in the audit trail (who, what, how many rows) before the first
  byte leaves, in the same transaction that counts the rows.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from patron.accounts.models import User
from patron.contacts.models import (
    Contact,
    ContactCompany,
    ContactList,
    CustomField,
    CustomFieldValue,
)
from patron.contacts.selectors import (
    MASK,
    SENSITIVE_CONTACT_FIELDS,
    ContactFilters,
    can_see_sensitive,
    contacts_filter,
    contacts_visible_to,
    require,
)
from patron.core.permissions import P
from patron.core.services import activity_record
from patron.imports.cells import escape_cell
from patron.imports.mapping import CONTACT_TARGETS

EXPORT_FIELDS = ("id", *CONTACT_TARGETS, "owner", "tags", "companies", "created_at", "updated_at")
DEFAULT_FIELDS = ("id", "first_name", "last_name", "email", "phone", "city", "country", "tags")
BATCH = 2000


@dataclass(frozen=True)
class ExportSpec:
    fmt: str = "csv"  # csv | xlsx
    fields: tuple[str, ...] = DEFAULT_FIELDS
    filters: ContactFilters | None = None
    ids: tuple[int, ...] | None = None
    list_id: int | None = None
    segment_id: int | None = None
    description: str = field(default="", compare=False)


def _fields_clean(fields: Iterable[str]) -> tuple[str, ...]:
    customs = set(
        CustomField.objects.filter(entity=CustomField.Entity.CONTACT).values_list("key", flat=True)
    )
    out: list[str] = []
    bad: list[str] = []
    for name in fields:
        name = str(name)
        ok = name in EXPORT_FIELDS or (name.startswith("custom:") and name[7:] in customs)
        if not ok:
            bad.append(name[:60])
        elif name not in out:
            out.append(name)
    if bad:
        raise ValidationError({"fields": [f"Unknown field(s): {', '.join(bad)}."]})
    if not out:
        raise ValidationError({"fields": ["Choose at least one field."]})
    return tuple(out)


def _queryset(actor: User, spec: ExportSpec) -> QuerySet[Contact]:
    if spec.ids is not None:
        return contacts_visible_to(actor).filter(pk__in=list(spec.ids)[:100_000])
    if spec.list_id is not None:
        if not ContactList.objects.filter(pk=spec.list_id).exists():
            raise ValidationError({"list": ["No such list."]})
        return contacts_visible_to(actor).filter(lists__pk=spec.list_id)
    if spec.segment_id is not None:
        from patron.segments.selectors import segment_get, segment_members

        # Needs segment.view; members are only the contacts the actor may see.
        return segment_members(actor, segment_get(actor, spec.segment_id))
    return contacts_filter(actor, spec.filters or ContactFilters())


def _rows(actor: User, qs: QuerySet[Contact], fields: tuple[str, ...]) -> Iterator[list[Any]]:
    sensitive_ok = can_see_sensitive(actor)
    custom = {
        f.key: f
        for f in CustomField.objects.filter(
            entity=CustomField.Entity.CONTACT, key__in=[n[7:] for n in fields if n[:7] == "custom:"]
        )
    }
    ids_qs = qs.order_by("pk").values_list("pk", flat=True).distinct()
    last = 0
    while True:
        ids = list(ids_qs.filter(pk__gt=last)[:BATCH])
        if not ids:
            return
        last = ids[-1]
        contacts = Contact.objects.filter(pk__in=ids).select_related("owner").order_by("pk")
        tags: dict[int, list[str]] = {}
        if "tags" in fields:
            for cid, name in Contact.tags.through.objects.filter(contact_id__in=ids).values_list(
                "contact_id", "tag__name"
            ):
                tags.setdefault(cid, []).append(name)
        companies: dict[int, list[str]] = {}
        if "companies" in fields:
            for cid, name in ContactCompany.objects.filter(contact_id__in=ids).values_list(
                "contact_id", "company__name"
            ):
                companies.setdefault(cid, []).append(name)
        values: dict[tuple[int, str], list[str]] = {}
        if custom:
            for v in CustomFieldValue.objects.filter(
                contact_id__in=ids, field__in=list(custom.values())
            ).select_related("field"):
                values.setdefault((v.contact_id, v.field.key), []).append(_text(v.value))  # type: ignore[arg-type]
        for c in contacts:
            line: list[Any] = []
            for name in fields:
                if name == "tags":
                    value: Any = ", ".join(sorted(tags.get(c.pk, [])))
                elif name == "companies":
                    value = ", ".join(sorted(companies.get(c.pk, [])))
                elif name == "owner":
                    value = str(c.owner) if c.owner_id else ""
                elif name.startswith("custom:"):
                    fld = custom[name[7:]]
                    value = ", ".join(values.get((c.pk, fld.key), []))
                    if fld.sensitive and not sensitive_ok and value:
                        value = MASK
                else:
                    value = getattr(c, name)
                    if name in SENSITIVE_CONTACT_FIELDS and not sensitive_ok and value:
                        value = MASK
                line.append(escape_cell(_text(value)))
            yield line


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """UTF-8 CSV (with BOM, so spreadsheets detect the encoding), line by line."""
    writer = csv.writer(_Echo())
    yield ("\ufeff" + writer.writerow([escape_cell(h) for h in header])).encode()
    buf: list[str] = []
    for row in rows:
        buf.append(writer.writerow(row))
        if len(buf) >= 500:
            yield "".join(buf).encode()
            buf = []
    if buf:
        yield "".join(buf).encode()


def xlsx_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[bytes]:
    """An XLSX built in write-only mode into a temporary file (constant memory), then
    streamed. Every cell is a string cell: nothing is ever a formula."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Contacts")

    def cells(values: list[Any]) -> list[Any]:
        out = []
        for v in values:
            cell = WriteOnlyCell(ws, value=str(v))
            cell.data_type = "s"  # never a formula, whatever the text
            out.append(cell)
        return out

    ws.append(cells([escape_cell(h) for h in header]))
    for row in rows:
        ws.append(cells(row))
    with tempfile.TemporaryFile() as tmp:
        wb.save(tmp)
        tmp.seek(0)
        while chunk := tmp.read(1 << 16):
            yield chunk


@dataclass
class ExportResult:
    rows: int
    content_type: str
    filename: str
    body: Iterator[bytes]


@transaction.atomic
def contacts_export(*, actor: User, spec: ExportSpec) -> ExportResult:
    """Check, count and record the export; returns the stream of the file's bytes."""
    require(actor, P.EXPORT)
    if spec.fmt not in ("csv", "xlsx"):
        raise ValidationError({"format": ["Choose csv or xlsx."]})
    fields = _fields_clean(spec.fields)
    qs = _queryset(actor, spec)
    count = qs.order_by().values("pk").distinct().count()
    what: dict[str, Any] = {"fields": list(fields), "format": spec.fmt}
    if spec.ids is not None:
        what["selection"] = len(spec.ids)
    elif spec.list_id is not None:
        what["list"] = spec.list_id
    elif spec.segment_id is not None:
        what["segment"] = spec.segment_id
    else:
        f = spec.filters or ContactFilters()
        what["filters"] = {k: v for k, v in f.__dict__.items() if v not in ("", None)}
    activity_record(
        actor=actor,
        verb="contacts.exported",
        subject_type="export",
        subject_label=(spec.description or "Contacts export")[:300],
        changes={"after": {**what, "rows": count, "masked": not can_see_sensitive(actor)}},
    )
    rows = _rows(actor, qs, fields)
    stamp = dt.date.today().isoformat()
    if spec.segment_id is not None:
        stamp = f"segment-{spec.segment_id}-{stamp}"
    if spec.fmt == "xlsx":
        return ExportResult(
            rows=count,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename=f"contacts-{stamp}.xlsx",
            body=xlsx_stream(list(fields), rows),
        )
    return ExportResult(
        rows=count,
        content_type="text/csv; charset=utf-8",
        filename=f"contacts-{stamp}.csv",
        body=csv_stream(list(fields), rows),
    )


def report_csv(rows: Iterable[list[Any]], header: list[str]) -> Iterator[bytes]:
    """An import report as CSV, escaped like every export."""
    return csv_stream(header, ([escape_cell(str(v)) for v in r] for r in rows))
