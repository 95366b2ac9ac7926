"""The import that created a person is in their access export, and survives merges (ADR 0087).

Contacts an import creates are recorded by its journal, not an activity entry each (ADR
0075). The access export says when and by which import (file, row, who ran it) each of
the person's records was created; a merge keeps the merged record's import origin on the
survivor's timeline (page and API) and in its export, and an undo takes it back.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from patron.contacts.models import Contact
from patron.contacts.services import contact_update
from patron.contacts.timeline import contact_timeline
from patron.core.models import Activity
from patron.core.services import workspace_update
from patron.hygiene.services import contact_merge, contact_merge_undo
from patron.imports.models import ImportJob
from patron.privacy.services import contact_erase, contact_export
from patron.privacy.tests.people import exporter

pytestmark = pytest.mark.django_db

ROWS = [
    ["First name", "Email"],
    ["Ann", "ann@example.com"],
    ["Bo", "bo@example.com"],
    ["Cy", "cy@example.com"],
]


def _export(actor: Any, contact: Any) -> dict[str, Any]:
    return json.loads("".join(contact_export(actor=actor, contact=contact).body))


def _imported(actor: Any, contact_id: int) -> list[dict[str, Any]]:
    """The "Contact imported" items of a timeline, as (title, changes), newest first."""
    return [
        {"title": i.title, **i.meta["changes"]}
        for i in contact_timeline(actor, contact_id)
        if i.kind == "activity" and i.meta["verb"] == "contact.imported"
    ]


def _people() -> tuple[Contact, Contact, Contact]:
    return (
        Contact.objects.get(email="ann@example.com"),
        Contact.objects.get(email="bo@example.com"),
        Contact.objects.get(email="cy@example.com"),
    )


def test_the_export_says_which_import_created_the_person(
    admin_user_p: Any, run_import: Any, write_csv: Any, api_for: Any, make_user: Any
) -> None:
    # Given a file imported by the admin
    job = run_import(admin_user_p, write_csv(ROWS, name="fair-2026.csv"))
    ann, bo, _ = _people()
    # When Ann's data is exported (service, API, command)
    doc = _export(admin_user_p, ann)
    # Then the export says when, by which import and file row, and who ran it
    assert doc["counts"]["import_origins"] == 1
    origin = doc["import_origins"][0]
    at = parse_datetime(origin.pop("created_at"))
    assert at is not None and abs((at - ann.created_at).total_seconds()) < 0.001
    assert doc["import_origins"] == [
        {
            "contact_id": ann.pk,
            "import_job": job.pk,
            "file_name": "fair-2026.csv",
            "row": 2,
            "run_by": str(admin_user_p),
            "run_by_id": admin_user_p.pk,
            "merge_id": None,
        }
    ]
    api = api_for(exporter(make_user))
    response = api.get(f"/contacts/{bo.pk}/privacy-export")
    assert response.status_code == 200
    via_api = json.loads(b"".join(response.streaming_content))
    assert [(o["row"], o["file_name"]) for o in via_api["import_origins"]] == [(3, "fair-2026.csv")]
    out = io.StringIO()
    call_command("privacy", "export", str(bo.pk), stdout=out)
    assert json.loads(out.getvalue())["import_origins"][0]["import_job"] == job.pk
    # And a contact made by hand has none
    assert (
        _export(admin_user_p, Contact.objects.create(email="hand@example.com"))["import_origins"]
        == []
    )


def test_the_import_origin_is_behind_the_export_permissions(
    admin_user_p: Any,
    run_import: Any,
    write_csv: Any,
    api_for: Any,
    api_key_client: Any,
    make_user: Any,
) -> None:
    # Given an imported contact
    run_import(admin_user_p, write_csv(ROWS))
    ann, _, _ = _people()
    exports = Activity.objects.filter(verb="privacy.exported").count()
    # A role without the export permissions is refused, and nothing is recorded
    response = api_key_client("sales").get(f"/contacts/{ann.pk}/privacy-export")
    assert response.status_code == 403
    assert b"fair" not in response.content and b"import_origins" not in response.content
    # A restricted exporter who cannot see the contact gets a 404
    workspace_update(actor=admin_user_p, restricted_visibility="own")
    response = api_for(exporter(make_user, restricted=True)).get(
        f"/contacts/{ann.pk}/privacy-export"
    )
    assert response.status_code == 404
    assert Activity.objects.filter(verb="privacy.exported").count() == exports


def test_a_merge_keeps_the_merged_records_import_origin_and_undo_takes_it_back(
    admin_user_p: Any, run_import: Any, write_csv: Any, api_for: Any, client_for: Any
) -> None:
    # Given three imported people, Bo merged into Cy, then Cy into Ann (a chain)
    job = run_import(admin_user_p, write_csv(ROWS))
    ann, bo, cy = _people()
    first = contact_merge(actor=admin_user_p, survivor=cy, merged=bo)
    second = contact_merge(actor=admin_user_p, survivor=ann, merged=cy)
    # Then Ann's timeline shows her own creation and that of both merged records
    items = _imported(admin_user_p, ann.pk)
    assert sorted(
        (i["title"], i["row"], i.get("contact_id"), i.get("merge_id")) for i in items
    ) == [
        ("Contact imported", 2, None, None),
        ("Merged contact imported", 3, bo.pk, first.pk),
        ("Merged contact imported", 4, cy.pk, second.pk),
    ]
    assert all(i["import_job"] == job.pk for i in items)
    # And the API and the page too
    body = api_for(admin_user_p).get(f"/contacts/{ann.pk}/timeline").json()
    shown = [i for i in body["items"] if i["meta"].get("verb") == "contact.imported"]
    assert sorted(i["meta"]["changes"]["row"] for i in shown) == [2, 3, 4]
    page = client_for(admin_user_p).get(reverse("web:contact_detail", args=[ann.pk]))
    assert page.content.count(b"Merged contact imported") == 2
    # And the export lists the three creations, each with its record and merge
    origins = _export(admin_user_p, ann)["import_origins"]
    assert sorted((o["contact_id"], o["row"], o["merge_id"]) for o in origins) == [
        (ann.pk, 2, None),
        (bo.pk, 3, first.pk),
        (cy.pk, 4, second.pk),
    ]

    # When the second merge is undone
    contact_merge_undo(actor=admin_user_p, merge=second)
    # Then Ann is back to her own creation, and Cy (restored) has hers and Bo's again
    assert [(i["row"], i.get("merge_id")) for i in _imported(admin_user_p, ann.pk)] == [(2, None)]
    assert sorted((i["row"], i.get("merge_id")) for i in _imported(admin_user_p, cy.pk)) == [
        (3, first.pk),
        (4, None),
    ]
    assert [o["row"] for o in _export(admin_user_p, ann)["import_origins"]] == [2]
    # And when the first is undone too, Bo's creation is his own again
    contact_merge_undo(actor=admin_user_p, merge=first)
    assert [(i["row"], i["title"]) for i in _imported(admin_user_p, bo.pk)] == [
        (3, "Contact imported")
    ]
    assert [i["row"] for i in _imported(admin_user_p, cy.pk)] == [4]


def test_a_merged_record_imported_before_the_journal_stamp_keeps_its_entry(
    admin_user_p: Any,
) -> None:
    # Given two contacts imported before ADR 0075: a per-contact "created" entry each
    job = ImportJob.objects.create(
        file_name="old.csv", file_path="", file_sha256="0" * 64, file_format="csv",
        created_by=admin_user_p, status="done",
    )  # fmt: skip
    ann = Contact.objects.create(email="ann@example.com")
    bo = Contact.objects.create(email="bo@example.com")
    for row, contact in ((2, ann), (3, bo)):
        Activity.objects.create(
            actor=admin_user_p, actor_label=str(admin_user_p), verb="contact.imported",
            subject_type="contact", subject_id=contact.pk, contact_id=contact.pk,
            changes={"import_job": job.pk, "row": row, "action": "created"},
        )  # fmt: skip
    # When Bo is merged into Ann
    record = contact_merge(actor=admin_user_p, survivor=ann, merged=bo)
    # Then Ann's timeline shows both (hers as her own entry, Bo's from the merge)
    items = _imported(admin_user_p, ann.pk)
    assert sorted((i["row"], i.get("merge_id")) for i in items) == [(2, None), (3, record.pk)]
    # And the export lists both creations, with the file
    origins = _export(admin_user_p, ann)["import_origins"]
    assert sorted((o["row"], o["file_name"], o["merge_id"]) for o in origins) == [
        (2, "old.csv", None),
        (3, "old.csv", record.pk),
    ]


def test_the_export_holds_the_merged_records_history_and_erasure_spares_an_unmerged_one(
    admin_user_p: Any, run_import: Any, write_csv: Any
) -> None:
    # Given Bo, edited once, merged into Ann
    run_import(admin_user_p, write_csv(ROWS))
    ann, bo, _ = _people()
    contact_update(actor=admin_user_p, contact=bo, data={"job_title": "Boatwright"})
    record = contact_merge(actor=admin_user_p, survivor=ann, merged=bo)
    # Then Ann's export holds Bo's history (filed under his id: the log is append-only)
    acts = _export(admin_user_p, ann)["activities"]
    assert any(a["contact_id"] == bo.pk and a["verb"] == "contact.updated" for a in acts)
    # When the merge is undone, Bo's history is his own again
    contact_merge_undo(actor=admin_user_p, merge=record)
    acts = _export(admin_user_p, ann)["activities"]
    assert not [a for a in acts if a["contact_id"] == bo.pk]
    # And erasing Ann leaves Bo's history alone
    contact_erase(actor=admin_user_p, contact=ann)
    assert Activity.objects.filter(contact_id=bo.pk, verb="contact.updated").exists()
    assert Contact.objects.filter(pk=bo.pk).exists()


def test_the_survivors_timeline_shows_the_merged_records_history_until_undone(
    admin_user_p: Any, run_import: Any, write_csv: Any, api_for: Any
) -> None:
    # Given Bo, edited once, merged into Cy, then Cy into Ann (his history stays under his id)
    run_import(admin_user_p, write_csv(ROWS))
    ann, bo, cy = _people()
    contact_update(actor=admin_user_p, contact=bo, data={"job_title": "Boatwright"})
    first = contact_merge(actor=admin_user_p, survivor=cy, merged=bo)
    second = contact_merge(actor=admin_user_p, survivor=ann, merged=cy)

    def verbs(contact_id: int) -> list[str]:
        return [i.meta["verb"] for i in contact_timeline(admin_user_p, contact_id)]

    # Then Ann's timeline shows Bo's edit and both merges, and no "merged away" entries or
    # second import entries of the merged records (their creation is an import origin)
    shown = verbs(ann.pk)
    assert shown.count("contact.updated") == 1
    assert shown.count("contact.merged") == 2
    assert "contact.merged_away" not in shown
    assert shown.count("contact.imported") == 3
    body = api_for(admin_user_p).get(f"/contacts/{ann.pk}/timeline").json()
    edits = [i for i in body["items"] if i["meta"].get("verb") == "contact.updated"]
    assert [e["meta"]["changes"]["after"] for e in edits] == [{"job_title": "Boatwright"}]
    # When the first merge is undone, Bo's edit is his own again, not Ann's or Cy's
    contact_merge_undo(actor=admin_user_p, merge=second)
    contact_merge_undo(actor=admin_user_p, merge=first)
    assert "contact.updated" not in verbs(ann.pk)
    assert "contact.updated" not in verbs(cy.pk)
    assert "contact.updated" in verbs(bo.pk)
