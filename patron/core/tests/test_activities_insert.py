"""``activities_insert``: entries written by the fast insert (``COPY`` on PostgreSQL, a
prepared ``INSERT`` on SQLite) read back as ``bulk_create`` wrote them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from patron.core.models import Activity
from patron.core.services import ACTIVITY_ATTNAMES, activities_insert, activity_build

pytestmark = pytest.mark.django_db

CHANGES = {"before": {"email": ""}, "after": {"email": "a@x.org", "tags": ["vip", "=1+2"]}}


def _entries() -> list[Activity]:
    return [
        activity_build(
            actor=None,
            verb="contact.updated",
            subject_type="contact",
            subject_id=n,
            subject_label=f"Contact #{n} <script>",
            contact_id=n,
            changes=CHANGES,
        )
        for n in (1, 2)
    ]


def _stored() -> list[tuple]:
    return list(
        Activity.objects.order_by("subject_id").values_list(
            "actor_id", "actor_label", "verb", "subject_type", "subject_id", "subject_label",
            "contact_id", "company_id", "changes",
        )
    )  # fmt: skip


def activity_columns(entry: Activity) -> dict:
    return {name: getattr(entry, name) for name in ACTIVITY_ATTNAMES}


def test_rows_read_back_as_bulk_create_wrote_them() -> None:
    Activity.objects.bulk_create(_entries())
    expected = _stored()
    Activity.objects.all().delete()
    before = dt.datetime.now(dt.UTC)
    with transaction.atomic():
        activities_insert([activity_columns(e) for e in _entries()])
    assert _stored() == expected
    assert all(a.created_at >= before for a in Activity.objects.all())


def test_a_given_time_is_kept_and_nothing_is_nothing() -> None:
    at = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
    activities_insert([])
    assert not Activity.objects.exists()
    activities_insert([{**activity_columns(_entries()[0]), "created_at": at}])
    assert Activity.objects.get().created_at == at
