"""Erased people are not imported again: contacts, orders, tickets and events skip a row
that names an erased person (by email, phone, external id or user id), report it without
more personal data than the row holds, and cost one query a job when nobody was erased."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.commerce.models import Order
from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.services import contact_create
from patron.events.models import Event
from patron.imports.chunk import ChunkProcessor
from patron.imports.erased import ERASED_REASON, ErasedPeople, ErasedWatch
from patron.imports.models import ImportJob, ImportRow
from patron.imports.selectors import import_report_rows
from patron.imports.tests.target_helpers import run as run_target
from patron.privacy.services import contact_erase, erased_match

pytestmark = pytest.mark.django_db

HEADER = ["First name", "Last name", "Email", "Phone", "Customer ID"]


def _erase(admin: Any, **data: Any) -> None:
    contact = contact_create(actor=admin, data=data)
    contact_erase(actor=admin, contact=contact)


def _report(admin: Any, job: ImportJob) -> dict[int, list[Any]]:
    return {r[0]: r for r in import_report_rows(admin, job.pk) if isinstance(r[0], int)}


def test_nobody_erased_costs_one_query_and_no_row_work() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert ErasedPeople.load() is None
    assert len(queries) == 1


def test_matcher_agrees_with_the_privacy_service(admin_user_p: Any) -> None:
    _erase(admin_user_p, email="Ada.Lovelace+crm@gmail.com", phone="+442079460958")
    erased = ErasedPeople.load()
    assert erased is not None
    for email in ("adalovelace@gmail.com", "ADA.LOVELACE+x@googlemail.com"):
        assert erased.email(email) is erased_match(email=email) is True
    assert erased.match("phone", "+442079460958") is erased_match(phone="+442079460958") is True
    assert erased.email("ada@example.com") is erased_match(email="ada@example.com") is False
    assert erased.match("phone", "+442079460959") is False


def test_contacts_import_skips_erased_people_and_reports_them(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    # Given two erased people (one known by email, one by phone only) and a kept contact
    _erase(admin_user_p, first_name="Ada", email="Ada.Lovelace@gmail.com", external_id="C-1")
    _erase(admin_user_p, first_name="Bob", phone="+442079460958")
    kept = contact_create(actor=admin_user_p, data={"email": "kept@example.com"})
    rows = [
        HEADER,
        ["Ada", "Lovelace", "ada.lovelace+news@GMAIL.com", "", ""],  # email, other form
        ["Bob", "Byte", "bob.new@example.com", "+44 20 7946 0958", ""],  # phone, other format
        ["Cy", "Byte", "cy@example.com", "(212) 555-0142", ""],  # someone new
        ["Kept", "Again", "kept@example.com", "", ""],  # an existing contact: updated
        ["Ada", "L", "other@example.com", "", "C-1"],  # external id of an erased person
    ]
    path = write_csv(rows)
    mapping = {"Customer ID": "external_id"}
    # When the file is imported (bad rows would stop it: skipped rows must not)
    job = run_import(admin_user_p, path, mapping=mapping, on_error="stop")
    # Then only the new person is created, and the dry run counted the same
    assert job.status == ImportJob.Status.DONE
    assert job.preview["counts"]["skipped"] == 3
    assert job.preview["counts"]["created"] == 1
    assert job.counts["skipped"] == 3 and job.counts["created"] == 1
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "cy@example.com",
        "kept@example.com",
    ]
    assert Contact.objects.filter(pk=kept.pk, first_name="Kept").exists()
    # And the report names the skipped rows with the column, adding no personal data
    issues = {i["row"]: i for i in job.preview["issues"]}
    assert {r: issues[r]["column"] for r in (2, 3, 6)} == {
        2: "email",
        3: "phone",
        6: "external_id",
    }
    assert all(issues[r]["reason"] == ERASED_REASON for r in (2, 3, 6))
    logged = ImportRow.objects.filter(job=job, action="skipped").order_by("row")
    assert [(r.row, r.column, r.reason, r.contact_id) for r in logged] == [
        (2, "email", ERASED_REASON, None),
        (3, "phone", ERASED_REASON, None),
        (6, "external_id", ERASED_REASON, None),
    ]
    report = _report(admin_user_p, job)
    assert report[2][1] == "skipped" and report[2][4] == ERASED_REASON
    # And importing the file again is still a no-op
    again = run_import(admin_user_p, path, mapping=mapping)
    assert again.counts["created"] == 0 and again.counts["updated"] == 0
    assert again.counts["skipped"] == 3
    assert Contact.objects.count() == 2


def test_orders_of_an_erased_customer_are_skipped_not_errors(
    admin_user_p: Any, write_csv: Any
) -> None:
    _erase(admin_user_p, email="gone@example.com")
    contact_create(actor=admin_user_p, data={"email": "jane@example.com"})
    rows = [
        ["Order ID", "Email", "Currency", "SKU", "Quantity", "Unit price"],
        ["A-1", "GONE@example.com", "EUR", "S-1", "1", "9.50"],
        ["A-2", "jane@example.com", "EUR", "S-1", "1", "9.50"],
    ]
    checked, job = run_target(admin_user_p, write_csv(rows), "orders", on_error="stop")
    assert checked.preview["counts"]["skipped"] == 1 and checked.preview["counts"]["error"] == 0
    assert job.status == ImportJob.Status.DONE
    assert list(Order.objects.values_list("external_id", flat=True)) == ["A-2"]
    row = ImportRow.objects.get(job=job, action="skipped")
    assert (row.row, row.reason) == (2, ERASED_REASON)


def test_events_of_an_erased_person_are_not_ingested(admin_user_p: Any, write_csv: Any) -> None:
    contact = contact_create(actor=admin_user_p, data={"email": "gone@example.com"})
    ContactIdentity.objects.create(contact=contact, kind="user_id", value="u-gone")
    contact_erase(actor=admin_user_p, contact=contact)
    rows = [
        ["Type", "Event", "User id", "Anonymous id", "Email", "Timestamp"],
        ["track", "Viewed", "u-gone", "", "", "2024-03-01T10:00:00Z"],
        ["track", "Viewed", "", "anon-1", "Gone@Example.com", "2024-03-01T10:00:00Z"],
        ["track", "Viewed", "u-new", "", "", "2024-03-01T10:00:00Z"],
    ]
    checked, job = run_target(admin_user_p, write_csv(rows), "events")
    assert checked.preview["counts"]["skipped"] == 2
    assert job.counts["created"] == 1 and job.counts["skipped"] == 2
    assert list(Event.objects.values_list("user_id", flat=True)) == ["u-new"]
    skipped = ImportRow.objects.filter(job=job, action="skipped").order_by("row")
    assert [(r.row, r.column, r.reason) for r in skipped] == [
        (2, "User id", ERASED_REASON),
        (3, "Email", ERASED_REASON),
    ]


def test_watch_costs_one_query_a_chunk_when_nobody_was_erased() -> None:
    watch = ErasedWatch()
    with CaptureQueriesContext(connection) as queries:
        assert watch.refresh() is None
    assert len(queries) == 1


def test_someone_erased_while_an_import_runs_is_not_created_by_a_later_chunk(
    admin_user_p: Any, run_import: Any, write_csv: Any, settings: Any, monkeypatch: Any
) -> None:
    # Given a contact, and a file whose second chunk (2 rows a chunk) has a row about her
    ada = contact_create(actor=admin_user_p, data={"first_name": "Ada", "email": "ada@example.com"})
    settings.PATRON_IMPORT_CHUNK_ROWS = 2
    rows = [
        HEADER,
        ["Cy", "One", "cy1@example.com", "", ""],
        ["Cy", "Two", "cy2@example.com", "", ""],
        ["Ada", "Lovelace", "ADA@example.com", "", ""],
        ["Cy", "Three", "cy3@example.com", "", ""],
    ]
    path = write_csv(rows)
    # and an erasure of her that lands right after the run's first chunk is written
    original = ChunkProcessor.write
    writes: list[int] = []

    def write_then_erase(self: Any, result: Any) -> Any:
        done = original(self, result)
        writes.append(1)
        if len(writes) == 1 and Contact.objects.filter(pk=ada.pk).exists():
            contact_erase(actor=admin_user_p, contact=ada.pk)
        return done

    monkeypatch.setattr(ChunkProcessor, "write", write_then_erase)
    # When the file is imported
    job = run_import(admin_user_p, path)
    # Then her row, in the later chunk, is skipped as an erased person, not created again
    assert job.status == ImportJob.Status.DONE
    assert len(writes) == 2
    assert not Contact.objects.filter(email__iexact="ada@example.com").exists()
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "cy1@example.com",
        "cy2@example.com",
        "cy3@example.com",
    ]
    assert _report(admin_user_p, job)[4][4] == ERASED_REASON
