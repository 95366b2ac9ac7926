"""The access export (GDPR Art. 15/20): everything about the person, nothing of anyone
else, every model that points at a contact covered, paged reads, permissions per object,
and an audit entry with counts only."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.http import Http404

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import P, PermissionDenied
from patron.core.services import workspace_update
from patron.privacy.services import contact_export
from patron.privacy.services import sections as sections_mod
from patron.privacy.services.sections import COVERED, NOT_EXPORTED, SECTIONS
from patron.privacy.tests.people import exporter, person, role_user

pytestmark = pytest.mark.django_db


def _export(actor: Any, contact: Any) -> dict[str, Any]:
    result = contact_export(actor=actor, contact=contact)
    return json.loads("".join(result.body))


def test_the_export_holds_every_section_of_the_person_and_nothing_of_another(
    admin_user_p: Any,
) -> None:
    ada = person(admin_user_p, "ada")
    bob = person(admin_user_p, "bob")
    doc = _export(admin_user_p, ada.contact)

    assert doc["format"] == "patron.privacy-export.v1" and doc["contact_id"] == ada.contact.pk
    assert list(doc)[4:] == [s.name for s in SECTIONS]
    assert doc["profile"]["email"] == ada.email and doc["profile"]["birthday"] == "1990-04-01"
    assert doc["profile"]["phone"] == "+14155550100"  # sensitive fields are not masked
    assert [c["value"] for c in doc["custom_fields"]] == [f"pro-{ada.marker}"]
    assert f"user-{ada.marker}" in {i["value"] for i in doc["identities"]}
    assert doc["companies"][0]["company__name"] == f"Co {ada.marker}"
    assert [t["tag__name"] for t in doc["tags"]] == [f"tag-{ada.marker}"]
    assert doc["lists"][0]["contact_list__name"] == f"list {ada.marker}"
    assert doc["notes"][0]["body"] == f"note about {ada.marker}"
    assert doc["consents"][0]["source"] == f"form {ada.marker}"
    (order,) = doc["orders"]
    assert sorted(line["name"] for line in order["lines"]) == [
        f"Cup {ada.marker}", f"Tea {ada.marker}",
    ]  # fmt: skip
    assert doc["purchase_summary"]["order_count"] == 1
    assert doc["tickets"][0]["subject"] == f"Help {ada.marker}"
    assert doc["survey_responses"][0]["comment"] == f"ok {ada.marker}"
    assert [e["properties"]["n"] for e in doc["events"]] == [0, 1, 2]
    assert doc["event_summary"]["event_count"] == 3 and len(doc["event_counts"]) == 1
    assert doc["traits"]["traits"] == {"shoe": f"size-{ada.marker}"}
    assert doc["segment_memberships"][0]["segment__name"] == f"seg {ada.marker}"
    assert any(a["verb"] == "contact.created" for a in doc["activities"])
    assert doc["import_rows"][0]["changes"]["after"]["city"] == f"town-{ada.marker}"
    assert doc["merges"][0]["survivor_id"] == ada.contact.pk
    assert doc["webhook_deliveries"][0]["payload"] == {"email": ada.email}
    # Counts agree with the sections.
    for section in SECTIONS:
        value = doc[section.name]
        n = (value is not None) if section.single else len(value)
        assert doc["counts"][section.name] == n, section.name
    # Nothing of Bob, anywhere.
    text = json.dumps(doc)
    assert bob.marker not in text and str(bob.email) not in text


def test_every_model_that_points_at_a_contact_is_exported_or_listed_with_a_reason() -> None:
    """A new table about people fails here until the export covers it (or says why not)."""
    pointing: set[str] = set()
    for model in apps.get_models(include_auto_created=True):
        for f in model._meta.get_fields(include_hidden=True):
            target = getattr(f, "related_model", None)
            direct = f.concrete and f.is_relation and not f.many_to_many
            if direct and target is Contact and model is not Contact:
                pointing.add(model._meta.label)
            # Contact ids kept as plain integers (journals, logs, outboxes).
            if (
                f.concrete and not f.is_relation
                and isinstance(f, (models.IntegerField, models.BigIntegerField))
                and f.name.endswith("contact_id")
            ):  # fmt: skip
                pointing.add(model._meta.label)
    pointing.add("contacts.Contact")
    missing = pointing - COVERED - set(NOT_EXPORTED)
    assert not missing, f"not in the access export and not listed in NOT_EXPORTED: {missing}"
    assert not (COVERED & set(NOT_EXPORTED))
    assert all(len(reason) > 20 for reason in NOT_EXPORTED.values())
    # The list names real models only (a stale entry would hide nothing, but mislead).
    labels = {m._meta.label for m in apps.get_models(include_auto_created=True)}
    assert (COVERED | set(NOT_EXPORTED)) <= labels


def test_large_sections_are_read_page_by_page(admin_user_p: Any, monkeypatch: Any) -> None:
    ada = person(admin_user_p, "ada", events=7)
    monkeypatch.setattr(sections_mod, "PAGE", 3)
    events = next(s for s in SECTIONS if s.name == "events")
    pages = list(sections_mod.section_rows(events, ada.contact.pk))
    assert [len(p) for p in pages] == [3, 3, 1]
    result = contact_export(actor=admin_user_p, contact=ada.contact)
    assert not isinstance(result.body, (list, str))  # an iterator, read while streamed
    doc = json.loads("".join(result.body))
    assert [e["properties"]["n"] for e in doc["events"]] == list(range(7))


def test_each_export_is_audited_with_counts_and_no_personal_data(admin_user_p: Any) -> None:
    ada = person(admin_user_p, "ada")
    result = contact_export(actor=admin_user_p, contact=ada.contact.pk)
    entry = Activity.objects.get(verb="privacy.exported")
    assert entry.actor_id == admin_user_p.pk
    assert entry.subject_type == "contact" and entry.subject_id == ada.contact.pk
    assert entry.changes == {"counts": result.counts} and result.counts["events"] == 3
    stored = entry.subject_label + json.dumps(entry.changes)
    assert ada.marker not in stored and "Ada" not in stored


@pytest.mark.parametrize(
    "perms",
    [
        [],  # nothing
        [P.CONTACT_VIEW, P.CONTACT_VIEW_SENSITIVE],  # sensitive, no export
        [P.CONTACT_VIEW, P.EXPORT],  # export, no sensitive data
    ],
)
def test_refused_without_the_permissions_and_nothing_recorded(
    admin_user_p: Any, make_user: Any, perms: list[P]
) -> None:
    ada = person(admin_user_p, "ada")
    user = role_user(make_user, "partial", perms)
    before = Activity.objects.count()
    with pytest.raises(PermissionDenied):
        contact_export(actor=user, contact=ada.contact)
    assert Activity.objects.count() == before


@pytest.mark.parametrize("role", ["readonly", "sales", "marketing", "support"])
def test_default_roles_without_export_rights_are_refused(
    admin_user_p: Any, make_user: Any, role: str
) -> None:
    ada = person(admin_user_p, "ada")
    with pytest.raises(PermissionDenied):
        contact_export(actor=make_user(role), contact=ada.contact)
    assert not Activity.objects.filter(verb="privacy.exported").exists()


def test_a_restricted_exporter_cannot_export_someone_elses_contact(
    admin_user_p: Any, make_user: Any
) -> None:
    workspace_update(actor=admin_user_p, restricted_visibility="own")
    user = exporter(make_user, restricted=True)
    mine = person(admin_user_p, "mine", owner=user)
    theirs = person(admin_user_p, "theirs", owner=admin_user_p)
    with pytest.raises(Http404):
        contact_export(actor=user, contact=theirs.contact.pk)
    assert not Activity.objects.filter(verb="privacy.exported").exists()
    assert _export(user, mine.contact)["contact_id"] == mine.contact.pk


def test_the_manager_role_can_export(admin_user_p: Any, manager_user_p: Any) -> None:
    ada = person(admin_user_p, "ada")
    assert _export(manager_user_p, ada.contact)["profile"]["email"] == ada.email
