"""The Splink whole-database scan, its explanations and clusters, and auto-merge."""

from __future__ import annotations

import json

import pytest

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.hygiene.linkage import link, link_row
from patron.hygiene.models import DuplicateCandidate, HygieneSettings, MergeRecord, ScanRun
from patron.hygiene.services import (
    contact_merge_undo,
    duplicate_dismiss,
    duplicates_auto_merge,
    hygiene_settings_update,
)
from patron.hygiene.services.scan import duplicates_scan
from patron.hygiene.tests.factories import attach_everything, contact, database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Contact]:
    return {
        "ann": contact(
            first_name="Ann", last_name="Lee", email="ann.lee@gmail.com", phone="+14155550100"
        ),
        "ann2": contact(
            first_name="ANN", last_name="LEE", email="annlee+shop@gmail.com", city="Oakland"
        ),
        "ann3": contact(first_name="Lee", last_name="Ann", phone="+14155550100"),  # swapped
        "bob": contact(
            first_name="Robert", last_name="Stone", email="r.stone@x.com", postal_code="10115"
        ),
        "bobby": contact(
            first_name="Bob", last_name="Stone", email="bob.stone@y.com", postal_code="10115"
        ),
        "carla": contact(first_name="Carla", last_name="Diaz", email="carla@z.com"),
    }


def _pairs() -> dict[frozenset[int], DuplicateCandidate]:
    return {
        frozenset((c.contact_a_id, c.contact_b_id)): c for c in DuplicateCandidate.objects.all()
    }


def test_linkage_scores_and_explains_without_values() -> None:
    rows = [
        link_row(1, first_name="Robert", last_name="Smith", email_key="bob@x.com"),
        link_row(2, first_name="Bob", last_name="Smith", email_key="bob@x.com"),
        link_row(3, first_name="Smith", last_name="Robert", email_key="bob@x.com"),
        link_row(4, first_name="Carla", last_name="Diaz", email_key="carla@y.com"),
    ]
    result = link(rows, train=False)
    found = {(p.a, p.b): p for p in result.pairs}
    assert {(1, 2), (1, 3)} <= set(found) and not any(4 in p for p in found)
    verdicts = {e["field"]: e["verdict"] for e in found[(1, 2)].explanation}
    assert verdicts["email"] == "agree" and verdicts["first_name"] == "similar"
    assert verdicts["last_name"] == "agree"
    swapped = {e["field"]: e["verdict"] for e in found[(1, 3)].explanation}
    assert swapped["first_name"] == swapped["last_name"] == "swapped"
    assert len({p.cluster_id for p in result.pairs}) == 1 and found[(1, 2)].cluster_id == 1
    text = json.dumps([p.explanation for p in result.pairs])
    assert "Smith" not in text and "bob@x.com" not in text


def test_scan_fills_queue_with_clusters_and_is_idempotent(people) -> None:
    result = duplicates_scan(actor=None)
    pairs = _pairs()
    ann = {people[k].pk for k in ("ann", "ann2", "ann3")}
    bob = frozenset((people["bob"].pk, people["bobby"].pk))
    assert frozenset((people["ann"].pk, people["ann2"].pk)) in pairs
    assert frozenset((people["ann"].pk, people["ann3"].pk)) in pairs
    assert bob in pairs
    assert not any(people["carla"].pk in p for p in pairs)
    assert {pairs[p].cluster_id for p in pairs if p <= ann} == {min(ann)}
    assert pairs[bob].cluster_id == people["bob"].pk
    assert all(c.source == "scan" and 0.5 <= c.score <= 1 for c in pairs.values())
    run = ScanRun.objects.get(pk=result.run_id)
    assert run.status == "done" and run.records == 6 and run.candidates == len(pairs)
    assert run.model["comparisons"]  # the model used, reusable on Spark
    assert Activity.objects.filter(verb="duplicates.scanned", subject_id=run.pk).exists()
    before = {k: (v.pk, v.score) for k, v in pairs.items()}
    duplicates_scan(actor=None)
    assert {k: (v.pk, v.score) for k, v in _pairs().items()} == before


def test_scan_keeps_dismissed_pairs_dismissed_and_drops_pairs_no_longer_found(people) -> None:
    duplicates_scan(actor=None)
    bob = frozenset((people["bob"].pk, people["bobby"].pk))
    duplicate_dismiss(actor=None, candidate=_pairs()[bob])
    Contact.objects.filter(pk=people["ann3"].pk).update(
        first_name="Zoe", last_name="Quint", phone="", name_key="quint|z"
    )
    duplicates_scan(actor=None)
    pairs = _pairs()
    assert pairs[bob].status == "dismissed"
    assert not any(people["ann3"].pk in p for p in pairs)


def test_scan_needs_the_merge_permission(people, make_user) -> None:
    with pytest.raises(PermissionDenied):
        duplicates_scan(actor=make_user("sales"))
    assert not DuplicateCandidate.objects.exists() and not ScanRun.objects.exists()


def test_rapidfuzz_engine_still_available(people) -> None:
    result = duplicates_scan(actor=None, engine="rapidfuzz")
    assert result.candidates >= 2
    assert frozenset((people["ann"].pk, people["ann2"].pk)) in _pairs()


# --- auto-merge ------------------------------------------------------------------------


def test_auto_merge_is_off_by_default(people) -> None:
    duplicates_scan(actor=None)
    assert not HygieneSettings.objects.filter(auto_merge_enabled=True).exists()
    assert duplicates_auto_merge() == 0
    assert not MergeRecord.objects.exists() and Contact.objects.count() == 6


def test_only_admins_enable_auto_merge(make_user) -> None:
    for role in ("manager", "sales", "marketing"):
        with pytest.raises(PermissionDenied):
            hygiene_settings_update(
                actor=make_user(role), auto_merge_enabled=True, auto_merge_threshold=0.95
            )
    assert not HygieneSettings.objects.exists()
    assert not Activity.objects.filter(verb="hygiene.settings_updated").exists()


def test_auto_merge_above_threshold_is_journaled_and_undoable(people, make_user) -> None:
    attach_everything(people["ann2"], 1)
    admin = make_user("admin", is_superuser=True)
    hygiene_settings_update(actor=admin, auto_merge_enabled=True, auto_merge_threshold=0.999)
    before = database_state()
    carla = people["carla"]
    low = DuplicateCandidate.objects.create(contact_a=people["bob"], contact_b=carla, score=0.95)
    dismissed = DuplicateCandidate.objects.create(
        contact_a=people["bobby"], contact_b=carla, score=1.0, status="dismissed"
    )
    a, b = sorted((people["ann"].pk, people["ann2"].pk))
    DuplicateCandidate.objects.create(contact_a_id=a, contact_b_id=b, score=0.9995)
    merged = duplicates_auto_merge()
    assert merged == 1
    record = MergeRecord.objects.get()
    assert record.automatic and record.actor_label == "auto-merge"
    assert (record.survivor_id, record.merged_id) == (a, b)  # the older contact survives
    assert not Contact.objects.filter(pk=b).exists()
    assert DuplicateCandidate.objects.filter(pk__in=[low.pk, dismissed.pk]).count() == 2
    assert Contact.objects.filter(pk=carla.pk).exists()
    entry = Activity.objects.get(verb="contact.merged")
    assert entry.changes["automatic"] is True
    contact_merge_undo(actor=admin, merge=record)
    after = database_state()
    for table in before:
        if table == "hygiene.duplicatecandidate":
            continue
        assert after[table] == before[table], table
