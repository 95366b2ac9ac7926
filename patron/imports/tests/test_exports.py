"""Exports: formula escaping, masking, scope, permission, audit, XLSX."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import CustomField
from patron.contacts.selectors import MASK, ContactFilters
from patron.contacts.services import contact_create
from patron.core.models import Activity, Workspace
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state
from patron.imports.cells import escape_cell, unescape_cell
from patron.imports.services import ExportSpec, contacts_export

pytestmark = pytest.mark.django_db

FORMULAS = [
    "=1+2",
    "+SUM(A1)",
    "-2+3",
    "@cmd",
    "\tTab",
    "\rCR",
    "\uff1d1+1",
    "\uff0bX",
    "\uff0dX",
    "\uff20X",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_escape_cell_prefixes_every_trigger_and_round_trips(value: str) -> None:
    assert escape_cell(value) == "'" + value
    assert unescape_cell(escape_cell(value)) == value
    assert escape_cell("Jane") == "Jane" and escape_cell("'quoted") == "'quoted"


def _csv(result: Any) -> list[list[str]]:
    text = b"".join(result.body).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_escapes_formulas_and_counts_in_the_audit(admin_user_p: Any) -> None:
    from patron.contacts.models import Contact

    for i, value in enumerate(FORMULAS):
        c = contact_create(actor=admin_user_p, data={"first_name": "N", "email": f"p{i}@x.com"})
        # stored as is (the input normaliser would trim a leading tab or CR)
        Contact.objects.filter(pk=c.pk).update(job_title=value)
    result = contacts_export(
        actor=admin_user_p,
        spec=ExportSpec(fields=("email", "job_title"), filters=ContactFilters()),
    )
    rows = _csv(result)
    assert rows[0] == ["email", "job_title"]
    titles = sorted(r[1] for r in rows[1:])
    assert titles == sorted("'" + v for v in FORMULAS)
    entry = Activity.objects.get(verb="contacts.exported")
    assert entry.actor_id == admin_user_p.pk
    assert entry.changes["after"]["rows"] == len(FORMULAS) == result.rows
    assert entry.changes["after"]["fields"] == ["email", "job_title"]


def test_xlsx_export_has_only_text_cells(admin_user_p: Any) -> None:
    from openpyxl import load_workbook

    contact_create(actor=admin_user_p, data={"first_name": "A", "job_title": "=HYPERLINK(1)"})
    result = contacts_export(
        actor=admin_user_p, spec=ExportSpec(fmt="xlsx", fields=("first_name", "job_title"))
    )
    wb = load_workbook(io.BytesIO(b"".join(result.body)))
    ws = wb.active
    assert [c.value for c in ws[2]] == ["A", "'=HYPERLINK(1)"]
    assert all(c.data_type == "s" for row in ws.iter_rows() for c in row)


def test_sensitive_fields_are_masked_without_the_permission(
    admin_user_p: Any, marketing_user_p: Any
) -> None:
    CustomField.objects.create(
        entity="contact", key="salary", label="Salary", type="text", sensitive=True
    )
    contact_create(
        actor=admin_user_p,
        data={
            "first_name": "A",
            "phone": "+15551234567",
            "birthday": "1990-01-02",
            "custom": {"salary": "100k"},
        },
    )
    fields = ("first_name", "phone", "birthday", "custom:salary")
    plain = _csv(contacts_export(actor=admin_user_p, spec=ExportSpec(fields=fields)))
    masked = _csv(contacts_export(actor=marketing_user_p, spec=ExportSpec(fields=fields)))
    assert plain[1] == ["A", "'+15551234567", "1990-01-02", "100k"]
    assert masked[1] == ["A", MASK, MASK, MASK]
    assert Activity.objects.filter(verb="contacts.exported").last().changes["after"]["masked"]


def test_exports_are_scoped_and_selections_cannot_reach_out(
    admin_user_p: Any, make_user: Any
) -> None:
    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    from patron.accounts.models import Role

    Role.objects.filter(key="sales").update(
        permissions=[*Role.objects.get(key="sales").permissions, "data.export"]
    )
    rep = make_user("sales")
    mine = contact_create(actor=rep, data={"first_name": "Mine"})
    theirs = contact_create(actor=admin_user_p, data={"first_name": "Theirs"})
    rows = _csv(contacts_export(actor=rep, spec=ExportSpec(fields=("id", "first_name"))))
    assert rows[1:] == [[str(mine.pk), "Mine"]]
    rows = _csv(
        contacts_export(
            actor=rep, spec=ExportSpec(fields=("first_name",), ids=(mine.pk, theirs.pk))
        )
    )
    assert rows[1:] == [["Mine"]]


def test_export_needs_the_permission_and_records_nothing(support_user_p: Any) -> None:
    before = db_state()
    with pytest.raises(PermissionDenied):
        contacts_export(actor=support_user_p, spec=ExportSpec())
    assert db_state() == before


def test_unknown_fields_are_refused(admin_user_p: Any) -> None:
    with pytest.raises(ValidationError):
        contacts_export(actor=admin_user_p, spec=ExportSpec(fields=("password",)))
    with pytest.raises(ValidationError):
        contacts_export(actor=admin_user_p, spec=ExportSpec(fields=("owner__password",)))
    assert not Activity.objects.filter(verb="contacts.exported").exists()
