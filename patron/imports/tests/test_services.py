"""Import services: dry run, run, idempotence, policies, duplicates, rollback, report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import Contact, ContactIdentity, CustomField, Tag
from patron.contacts.services import contact_create, contact_update
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state
from patron.imports.models import ImportChunk, ImportJob, ImportRow
from patron.imports.selectors import import_report_rows
from patron.imports.services import (
    import_columns_to_custom_fields,
    import_job_configure,
    import_job_create,
    import_job_preview,
    import_job_rollback,
    import_job_run,
    import_job_start,
)
from patron.imports.tests.conftest import contact_state

pytestmark = pytest.mark.django_db

HEADER = [
    "First Name",
    "Nachname",
    "E-Mail",
    "Mobile",
    "Company name",
    "Country",
    "Birthday",
    "Job title",
]
ROWS = [
    HEADER,
    ["Jane", "Doe", "jane@example.com", "(555) 123-4567", "Acme", "USA", "1990-03-05"],
    ["JOHN", "SMITH", "John.Smith@Example.com", "+44 20 7946 0958", "Globex", "UK", "05.03.1980"],
    ["bob", "builder", "not-an-email", "555", "", "Germany", "March 5, 1975"],
    ["ann", "lee", "ann@example.com", "garbage", "Acme", "Narnia", "31/02/2000"],
    ["Ann", "Lee", "ANN@example.com", "", "Acme", "", ""],
    ["=cmd|' /C calc'!A0", "Odd", "x@example.com", "", "", "", "", "<script>alert(1)</script>"],
]


def test_dry_run_counts_every_row_and_writes_nothing(admin_user_p: Any, write_csv: Any) -> None:
    # Given a messy file
    path = write_csv(ROWS)
    job = import_job_create(actor=admin_user_p, path=path, file_name="people.csv")
    before = db_state()
    # When it is checked
    job = import_job_preview(actor=admin_user_p, job=job, workers=0)
    # Then the whole file is classified, each issue with row, column and reason
    assert job.preview["counts"] == {
        "created": 4,
        "updated": 0,
        "unchanged": 0,
        "duplicate": 1,
        "error": 1,
        "skipped": 0,
        "flagged": 1,
    }
    issues = {(i["row"], i["action"]): i for i in job.preview["issues"]}
    assert issues[(4, "error")]["column"] == "E-Mail"
    assert "valid email" in issues[(4, "error")]["reason"]
    assert issues[(6, "duplicate")]["column"] == "email"
    assert "Narnia" in issues[(5, "created")]["reason"]
    # And nothing but the job's own row changed
    after = db_state()
    for table in after:
        if table not in ("imports.ImportJob", "core.Activity"):
            assert after[table] == before[table], table
    assert Contact.objects.count() == 0


def test_run_normalises_and_keeps_what_cannot_be(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    job = run_import(admin_user_p, write_csv(ROWS), tags=["fair-2026"])
    assert job.status == ImportJob.Status.DONE
    assert job.counts["created"] == 4
    jane = Contact.objects.get(email="jane@example.com")
    assert (jane.first_name, jane.phone, jane.country) == ("Jane", "+15551234567", "US")
    assert jane.birthday == dt.date(1990, 3, 5)
    john = Contact.objects.get(email_match_key="john.smith@example.com")
    assert (john.first_name, john.last_name, john.phone) == ("John", "Smith", "+442079460958")
    assert john.birthday == dt.date(1980, 3, 5)  # three date formats in one column
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.phone == "" and ann.country == "" and ann.birthday is None
    assert ann.invalid_fields["phone"]["value"] == "garbage"
    assert ann.invalid_fields["country"]["value"] == "Narnia"
    assert ann.invalid_fields["birthday"]["value"] == "31/02/2000"
    # Formulas and markup are kept as text (escaped on export and in templates)
    odd = Contact.objects.get(email="x@example.com")
    assert odd.first_name == "=cmd|' /C calc'!A0"
    assert odd.job_title == "<script>alert(1)</script>"
    assert sorted(jane.tags.values_list("name", flat=True)) == ["fair-2026"]
    assert list(jane.companies.values_list("name", flat=True)) == ["Acme"]
    # One activity entry per job and one per chunk; created contacts are recorded by the
    # job's journal (the timeline reads it: test_timeline_import), not one entry each
    assert Activity.objects.filter(verb="import.completed", subject_id=job.pk).count() == 1
    chunk_entry = Activity.objects.get(verb="import.contacts_created", subject_id=job.pk)
    assert chunk_entry.changes["created"] == 4 and chunk_entry.actor_id == admin_user_p.pk
    assert not Activity.objects.filter(verb="contact.imported").exists()
    # Keys for duplicate detection are set as by every write path
    assert jane.email_match_key == "jane@example.com" and jane.name_key == "doe|j"
    assert "jane" in jane.search_text and "15551234567" in jane.search_text


def test_reimporting_the_same_file_changes_nothing(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    path = write_csv(ROWS)
    run_import(admin_user_p, path, tags=["fair"])
    state = contact_state()
    activities = Activity.objects.filter(verb__startswith="contact.").count()
    job = run_import(admin_user_p, path, tags=["fair"])
    assert job.counts["created"] == 0 and job.counts["updated"] == 0
    assert job.counts["unchanged"] == 4
    assert contact_state() == state  # updated_at included
    assert Activity.objects.filter(verb__startswith="contact.").count() == activities


def test_update_policies(admin_user_p: Any, run_import: Any, write_csv: Any) -> None:
    existing = contact_create(
        actor=admin_user_p,
        data={"first_name": "Jane", "last_name": "Doe", "email": "Jane@Example.com", "city": ""},
    )
    path = write_csv([["email", "city", "job_title"], ["jane@example.com", "Berlin", "CTO"]])
    job = run_import(admin_user_p, path, on_existing="skip")
    assert job.counts == {**job.counts, "skipped": 1, "updated": 0}
    existing.refresh_from_db()
    assert existing.city == ""
    job = run_import(admin_user_p, path, on_existing="update")
    existing.refresh_from_db()
    assert job.counts["updated"] == 1 and (existing.city, existing.job_title) == ("Berlin", "CTO")
    assert existing.email == "Jane@example.com"  # same address in another case: kept
    row = ImportRow.objects.get(job=job, action="updated")
    assert row.changes["before"]["city"] == "" and row.changes["after"]["city"] == "Berlin"
    path2 = write_csv([["email", "city", "job_title"], ["jane@example.com", "Paris", "CEO"]])
    contact_update(actor=admin_user_p, contact=existing, data={"job_title": ""})
    run_import(admin_user_p, path2, on_existing="fill_empty")
    existing.refresh_from_db()
    assert (existing.city, existing.job_title) == ("Berlin", "CEO")


def test_new_rows_can_be_skipped_and_keys_chosen(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    contact_create(actor=admin_user_p, data={"first_name": "A", "external_id": "C-1"})
    path = write_csv([["Customer ID", "First name"], ["C-1", "Alice"], ["C-2", "Bob"]])
    job = run_import(admin_user_p, path, key="external_id", on_new="skip")
    assert (job.counts["updated"], job.counts["skipped"]) == (1, 1)
    assert list(Contact.objects.values_list("first_name", flat=True)) == ["Alice"]


def test_phone_key_and_unique_custom_field_key(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    field = CustomField.objects.create(
        entity="contact", key="member_no", label="Member no", type="text"
    )
    path = write_csv([["Member no", "Phone", "Name"], ["M1", "+1 555 123 4567", "A"]])
    run_import(admin_user_p, path, key="custom:member_no")
    path2 = write_csv([["Member no", "Phone", "Name"], ["M1", "555.123.4567", "Ann"]])
    job = run_import(admin_user_p, path2, key="custom:member_no")
    assert job.counts["updated"] == 1
    contact = Contact.objects.get()
    assert contact.full_name == "Ann"
    assert contact.custom_values.get(field=field).value_text == "M1"
    job = run_import(
        admin_user_p, write_csv([["Phone", "City"], ["(555) 123-4567", "Oslo"]]), key="phone"
    )
    assert job.counts["updated"] == 1
    assert Contact.objects.get().city == "Oslo"


def test_likely_duplicates_of_existing_contacts_are_reported_not_created(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    # Given a contact, and a row with another address but the same Gmail mailbox and name
    jane = contact_create(
        actor=admin_user_p,
        data={"first_name": "Jane", "last_name": "Doe", "email": "jane.doe@gmail.com"},
    )
    path = write_csv(
        [["first_name", "last_name", "email"], ["Jane", "Doe", "janedoe+crm@gmail.com"]]
    )
    job = run_import(admin_user_p, path)
    assert job.counts["duplicate"] == 1 and job.counts["created"] == 0
    row = ImportRow.objects.get(job=job)
    assert row.contact_id == jane.pk and f"#{jane.pk}" in row.reason
    job = run_import(admin_user_p, path, on_duplicate="create")
    assert job.counts["created"] == 1


def test_a_variant_of_a_further_email_is_a_likely_duplicate(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    # Given a contact whose Gmail address is a further email (not the primary one)
    jane = contact_create(
        actor=admin_user_p,
        data={"first_name": "Jane", "last_name": "Doe", "email": "jane@work.example"},
    )
    value = "jane.doe@gmail.com"
    ContactIdentity.objects.create(
        contact=jane,
        kind=ContactIdentity.Kind.EMAIL,
        value=value,
        match_key=ContactIdentity.match_key_for(ContactIdentity.Kind.EMAIL, value),
    )
    # When a row brings a plus-tag, undotted variant of that address
    path = write_csv(
        [["first_name", "last_name", "email"], ["Jane", "Doe", "JaneDoe+crm@gmail.com"]]
    )
    job = run_import(admin_user_p, path)
    # Then it is reported as that contact, not created
    assert job.counts["duplicate"] == 1 and job.counts["created"] == 0
    assert ImportRow.objects.get(job=job).contact_id == jane.pk


def test_bad_rows_stop_the_import_before_anything_is_written(
    admin_user_p: Any, write_csv: Any
) -> None:
    path = write_csv([["email", "name"], ["a@example.com", "A"], ["bad", "B"]])
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    job = import_job_configure(actor=admin_user_p, job=job, options={"on_error": "stop"})
    with pytest.raises(ValidationError, match="dry run"):
        import_job_start(actor=admin_user_p, job=job, enqueue=False)
    job = import_job_preview(actor=admin_user_p, job=job, workers=0)
    with pytest.raises(ValidationError, match="1 bad rows"):
        import_job_start(actor=admin_user_p, job=job, enqueue=False)
    assert Contact.objects.count() == 0


def test_unknown_columns_become_custom_fields_in_one_step(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    path = write_csv([["email", "Shoe size", "Favourite colour"], ["a@example.com", "42", "red"]])
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    assert job.mapping["Shoe size"] == ""
    job = import_columns_to_custom_fields(
        actor=admin_user_p, job=job, headers=["Shoe size", "Favourite colour"]
    )
    assert job.mapping["Shoe size"] == "custom:shoe_size"
    job = import_job_preview(actor=admin_user_p, job=job, workers=0)
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    import_job_run(job_id=job.pk, workers=0)
    c = Contact.objects.get()
    values = dict(c.custom_values.values_list("field__key", "value_text"))
    assert values == {"shoe_size": "42", "favourite_colour": "red"}


def test_rollback_restores_the_exact_previous_state(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    # Given contacts before the import, one with a tag and a custom value
    field = CustomField.objects.create(entity="contact", key="tier", label="Tier", type="text")
    contact_create(
        actor=admin_user_p,
        data={
            "first_name": "Jane",
            "email": "jane@example.com",
            "city": "Rome",
            "tags": ["vip"],
            "custom": {"tier": "gold"},
        },
    )
    contact_create(actor=admin_user_p, data={"first_name": "Other", "email": "o@example.com"})
    before = contact_state()
    tags_before = sorted(Tag.objects.values_list("name", flat=True))
    path = write_csv(
        [
            ["email", "city", "Tier", "Company", "first_name"],
            ["jane@example.com", "Berlin", "platinum", "Acme", "Jane"],
            ["new@example.com", "Oslo", "", "NewCo", "New"],
        ]
    )
    job = run_import(admin_user_p, path, tags=["imported"], mapping={"Tier": f"custom:{field.key}"})
    assert (job.counts["created"], job.counts["updated"]) == (1, 1)
    assert contact_state() != before
    # When the import is rolled back
    job = import_job_rollback(actor=admin_user_p, job=job)
    # Then everything is as it was, updated_at included; the rollback is recorded
    assert contact_state() == before
    assert sorted(Tag.objects.values_list("name", flat=True)) == tags_before
    assert job.status == ImportJob.Status.ROLLED_BACK
    assert job.rollback_report["removed"] == 1 and job.rollback_report["restored"] == 1
    assert Activity.objects.filter(verb="import.rolled_back", subject_id=job.pk).exists()
    assert Activity.objects.filter(verb="contact.import_rolled_back").count() == 2
    with pytest.raises(ValidationError):
        import_job_rollback(actor=admin_user_p, job=job)


def test_rollback_keeps_values_changed_after_the_import(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    c = contact_create(actor=admin_user_p, data={"first_name": "J", "email": "j@example.com"})
    job = run_import(admin_user_p, write_csv([["email", "city"], ["j@example.com", "Berlin"]]))
    contact_update(actor=admin_user_p, contact=c, data={"city": "Madrid"})
    job = import_job_rollback(actor=admin_user_p, job=job)
    c.refresh_from_db()
    assert c.city == "Madrid"
    assert {"contact_id": c.pk, "field": "city"} in job.rollback_report["conflicts"]


@pytest.mark.parametrize(
    ("commit_rows", "committed_chunks", "committed"), [(7, 3, 20), (14, 2, 14)]
)
def test_a_crash_mid_run_resumes_and_creates_every_row_exactly_once(
    admin_user_p: Any,
    write_csv: Any,
    monkeypatch: pytest.MonkeyPatch,
    commit_rows: int,
    committed_chunks: int,
    committed: int,
) -> None:
    # Given a file of 50 rows imported 7 rows a chunk, and a crash in the 4th chunk's write
    # (chunks committed one by one, or two to a transaction: then the crash also undoes
    # the 3rd chunk, written in the same transaction)
    monkeypatch.setenv("PATRON_IMPORT_CHUNK_ROWS", "7")
    monkeypatch.setenv("PATRON_IMPORT_COMMIT_ROWS", str(commit_rows))
    rows = [["email", "first_name"]] + [[f"p{i}@example.com", f"P{i}"] for i in range(50)]
    rows.insert(20, [f"p{3}@example.com", "repeat"])  # an in-file repeat before the crash
    path = write_csv(rows)
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    from patron.imports import chunk as chunk_module

    real_write = chunk_module.ChunkProcessor.write
    calls = {"n": 0}

    def crashing_write(self: Any, result: Any) -> None:
        calls["n"] += 1
        real_write(self, result)  # rows are written ... and then the process "dies"
        if calls["n"] == 4:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(chunk_module.ChunkProcessor, "write", crashing_write)
    with pytest.raises(KeyboardInterrupt):
        import_job_run(job_id=job.pk, workers=0)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.RUNNING and job.chunks_done == committed_chunks
    # 7 rows a chunk; the repeat is the 20th row, in the 3rd chunk
    assert Contact.objects.count() == committed
    assert job.rows_done == committed_chunks * 7
    # When it is resumed (the runner is gone: its heartbeat is old)
    monkeypatch.setattr(chunk_module.ChunkProcessor, "write", real_write)
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    job = import_job_run(job_id=job.pk, workers=0)
    # Then every row exists exactly once and the repeat is still recognised as one
    assert job.status == ImportJob.Status.DONE
    assert Contact.objects.count() == 50
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(
        f"p{i}@example.com" for i in range(50)
    )
    assert job.counts["created"] == 50 and job.counts["duplicate"] == 1
    assert job.rows_done == 51
    assert ImportChunk.objects.filter(job=job).count() == 8


def test_bad_rows_under_stop_keep_the_chunks_before_them_in_a_commit_group(
    admin_user_p: Any, write_csv: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 3-row chunks committed up to 12 rows together, and a bad row in the 3rd chunk
    # that the run meets under "stop" (the options changed after the dry run)
    monkeypatch.setenv("PATRON_IMPORT_CHUNK_ROWS", "3")
    monkeypatch.setenv("PATRON_IMPORT_COMMIT_ROWS", "12")
    rows = [["email", "first_name"]] + [[f"s{i}@example.com", f"S{i}"] for i in range(12)]
    rows[8] = ["not-an-email", "Bad"]  # file row 9: the 3rd chunk's 2nd row
    job = import_job_create(actor=admin_user_p, path=write_csv(rows), file_name="x.csv")
    job = import_job_preview(actor=admin_user_p, job=job, workers=0)
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(options={**job.options, "on_error": "stop"})
    # When it runs
    job = import_job_run(job_id=job.pk, workers=0)
    # Then it stops at that chunk: the two chunks before it are committed and journalled,
    # nothing of the bad chunk is written, and a resume would start at the bad chunk
    assert job.status == ImportJob.Status.FAILED and "Row 9" in job.error
    assert job.chunks_done == 2 and job.rows_done == 6 and job.last_row == 7
    assert sorted(Contact.objects.values_list("email", flat=True)) == sorted(
        f"s{i}@example.com" for i in range(6)
    )
    assert ImportChunk.objects.filter(job=job).count() == 2


def test_a_running_import_is_not_run_twice(admin_user_p: Any, write_csv: Any) -> None:
    path = write_csv([["email"], ["a@example.com"]])
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=dt.datetime.now(dt.UTC)
    )
    import_job_run(job_id=job.pk, workers=0)
    assert Contact.objects.count() == 0


def test_a_changed_file_is_refused(admin_user_p: Any, write_csv: Any) -> None:
    path = write_csv([["email"], ["a@example.com"]])
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    job = import_job_start(actor=admin_user_p, job=job, enqueue=False)
    with open(path, "a") as fh:
        fh.write("b@example.com\n")
    job = import_job_run(job_id=job.pk, workers=0)
    assert job.status == ImportJob.Status.FAILED and "changed" in job.error
    assert Contact.objects.count() == 0


def test_report_lists_rejected_changed_and_created_rows(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    job = run_import(admin_user_p, write_csv(ROWS))
    lines = list(import_report_rows(admin_user_p, job.pk))
    actions = [(line[0], line[1]) for line in lines]
    assert actions == [
        (2, "created"),
        (3, "created"),
        (4, "error"),
        (5, "created"),
        (6, "duplicate"),
        (7, "created"),
    ]
    assert "Narnia" in lines[3][4]


def test_import_needs_the_permission_and_changes_nothing(
    support_user_p: Any, admin_user_p: Any, write_csv: Any
) -> None:
    path = write_csv(ROWS)
    before = db_state()
    with pytest.raises(PermissionDenied):
        import_job_create(actor=support_user_p, path=path, file_name="x.csv")
    job = import_job_create(actor=admin_user_p, path=path, file_name="x.csv")
    before = db_state()
    for call in (
        lambda: import_job_preview(actor=support_user_p, job=job, workers=0),
        lambda: import_job_start(actor=support_user_p, job=job, enqueue=False),
        lambda: import_job_configure(actor=support_user_p, job=job, options={"key": "phone"}),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert db_state() == before


def test_others_jobs_are_out_of_reach(
    admin_user_p: Any, marketing_user_p: Any, make_user: Any, write_csv: Any
) -> None:
    other = make_user("marketing")
    job = import_job_create(actor=other, path=write_csv(ROWS), file_name="x.csv")
    before = db_state()
    with pytest.raises(PermissionDenied):
        import_job_start(actor=marketing_user_p, job=job, enqueue=False)
    with pytest.raises(PermissionDenied):
        import_job_rollback(actor=marketing_user_p, job=job)
    assert db_state() == before
    # an administrator sees every job
    assert import_job_preview(actor=admin_user_p, job=job, workers=0).status == "previewed"
