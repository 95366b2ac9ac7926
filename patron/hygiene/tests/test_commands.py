"""patron dedupe scan / pairs, patron merge ID_A ID_B and patron merge undo MERGE_ID."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.contacts.models import Contact
from patron.hygiene.models import DuplicateCandidate, MergeRecord
from patron.hygiene.tests.factories import attach_everything, contact, database_state

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def dupes():
    a = contact(first_name="Ann", last_name="Lee", email="ann.lee@gmail.com", external_id="=1+2")
    b = contact(first_name="ANN", last_name="LEE", email="annlee+shop@gmail.com")
    c = contact(first_name="Anne", last_name="Lee", email="annlee@gmail.com")
    contact(first_name="Bob", last_name="Stone", email="bob@example.com")
    return a, b, c


def test_scan_fills_the_queue_with_one_cluster(dupes) -> None:
    out = _run("dedupe", "scan", "--no-progress")
    assert "3 candidate pairs in 1 clusters" in out
    pairs = DuplicateCandidate.objects.order_by("contact_a_id", "contact_b_id")
    assert pairs.count() == 3 and {p.source for p in pairs} == {"scan"}
    assert len({p.cluster_id for p in pairs}) == 1
    _run("dedupe", "scan", "--no-progress")  # idempotent
    assert DuplicateCandidate.objects.count() == 3


def test_pairs_csv_has_ids_external_ids_and_scores_safely(dupes) -> None:
    a, *_ = dupes
    _run("dedupe", "scan", "--no-progress")
    rows = list(csv.DictReader(io.StringIO(_run("dedupe", "pairs", "--format", "csv"))))
    assert len(rows) == 3
    assert {"contact_a_id", "contact_b_id", "contact_a_external_id", "score"} <= set(rows[0])
    assert any(r["contact_a_external_id"] == "'=1+2" for r in rows)  # formula escaped
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores, reverse=True)


def test_merge_and_undo_from_the_shell(dupes) -> None:
    a, b, _ = dupes
    attach_everything(b, 2)
    before = database_state()
    out = _run("merge", str(a.pk), str(b.pk))
    record = MergeRecord.objects.get()
    assert f"merge id {record.pk}" in out and not Contact.objects.filter(pk=b.pk).exists()
    out = _run("merge", "undo", str(record.pk))
    assert "is back" in out
    assert database_state() == before


def test_merge_command_refusals(dupes, make_user) -> None:
    a, b, _ = dupes
    make_user("sales", username="rep")
    with pytest.raises(CommandError, match="permission"):
        _run("merge", str(a.pk), str(b.pk), "--as", "rep")
    with pytest.raises(CommandError, match="Not an id"):
        _run("merge", str(a.pk), "x")
    with pytest.raises(CommandError, match="itself"):
        _run("merge", str(a.pk), str(a.pk))
    assert not MergeRecord.objects.exists()
