"""Created contacts are recorded by the import's journal (one activity entry a chunk, not
one a contact): the contact timeline, its API and its page still say which import created
each contact, updated contacts keep their before/after entries, and erasure leaves no
timeline entry or report row behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.contacts.timeline import contact_timeline
from patron.core.models import Activity
from patron.imports.models import ImportChunk, ImportRow
from patron.imports.selectors import contact_import_origin
from patron.privacy.services import contact_erase

pytestmark = pytest.mark.django_db

ROWS = [
    ["First name", "Email"],
    ["Ann", "ann@example.com"],
    ["Bo", "bo@example.com"],
    ["Kept", "kept@example.com"],
]


def _imported(item: Any) -> bool:
    return item.kind == "activity" and item.meta["verb"] == "contact.imported"


def test_timeline_shows_the_import_that_created_each_contact(
    admin_user_p: Any, run_import: Any, write_csv: Any, api_for: Any, client_for: Any
) -> None:
    # Given a contact that exists, and a file with it and two new people
    kept = contact_create(actor=admin_user_p, data={"email": "kept@example.com"})
    # When the file is imported
    job = run_import(admin_user_p, write_csv(ROWS))
    assert job.counts["created"] == 2 and job.counts["updated"] == 1
    # Then no per-contact entry was written for the created ones, one for the chunk
    assert not Activity.objects.filter(verb="contact.imported", changes__action="created")
    assert Activity.objects.filter(verb="import.contacts_created", subject_id=job.pk).count() == 1
    # And each created contact's timeline says which import and row created it
    for row, email in ((2, "ann@example.com"), (3, "bo@example.com")):
        contact = Contact.objects.get(email=email)
        items = [i for i in contact_timeline(admin_user_p, contact.pk) if _imported(i)]
        assert len(items) == 1
        assert items[0].meta["changes"] == {"import_job": job.pk, "row": row, "action": "created"}
        assert items[0].at == contact.created_at
        assert items[0].detail == str(admin_user_p)
    # And the updated contact keeps its own entry with before/after, and no "created" one
    items = [i for i in contact_timeline(admin_user_p, kept.pk) if _imported(i)]
    assert [i.meta["changes"]["action"] for i in items] == ["updated"]
    assert items[0].meta["changes"]["after"]["first_name"] == "Kept"
    # And the API and the page show it too
    ann = Contact.objects.get(email="ann@example.com")
    body = api_for(admin_user_p).get(f"/contacts/{ann.pk}/timeline").json()
    shown = [i for i in body["items"] if i["meta"].get("verb") == "contact.imported"]
    assert shown and shown[0]["meta"]["changes"]["import_job"] == job.pk
    page = client_for(admin_user_p).get(reverse("web:contact_detail", args=[ann.pk]))
    assert page.status_code == 200 and b"Contact imported" in page.content


def test_timeline_before_cursor_and_contacts_not_imported(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    run_import(admin_user_p, write_csv(ROWS))
    ann = Contact.objects.get(email="ann@example.com")
    # Paging past the creation leaves it out; a contact made by hand has no such entry
    older = contact_timeline(admin_user_p, ann.pk, before=ann.created_at)
    assert not [i for i in older if _imported(i)]
    by_hand = contact_create(actor=admin_user_p, data={"email": "hand@example.com"})
    assert contact_import_origin(Contact.objects.get(pk=by_hand.pk)) is None


def test_erasure_leaves_no_import_trace_of_the_person(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    rows = [*ROWS, ["Flag", "flag@example.com", "x"]]  # a kept-and-flagged value is reported
    rows[0] = ["First name", "Email", "Country"]
    rows[1:4] = [[*r, ""] for r in ROWS[1:]]
    rows[4][2] = "Narnia"
    job = run_import(admin_user_p, write_csv(rows))
    flagged = Contact.objects.get(email="flag@example.com")
    assert ImportRow.objects.filter(job=job, contact_id=flagged.pk).exists()
    contact_erase(actor=admin_user_p, contact=flagged)
    assert not ImportRow.objects.filter(contact_id=flagged.pk).exists()
    assert not Activity.objects.filter(contact_id=flagged.pk).exists()
    # The journal keeps only the id it gave (no personal data): what a rollback needs
    created = [cid for c in ImportChunk.objects.filter(job=job) for _, cid in c.created]
    assert flagged.pk in created
