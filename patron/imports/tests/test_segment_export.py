"""Exporting a segment's members: chosen fields, CSV/XLSX, scope, permission, audit."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.http import Http404
from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state, own_records_only
from patron.imports.services import ExportSpec, contacts_export
from patron.segments.models import Segment, SegmentMembership

pytestmark = pytest.mark.django_db


def _segment(world: Any) -> Segment:
    """A segment whose current members are both world contacts; a third left it."""
    seg = Segment.objects.create(name="VIPs", kind="static", rules={})
    now = timezone.now()
    for key in ("mine_contact", "theirs_contact"):
        SegmentMembership.objects.create(segment=seg, contact_id=world.ids[key], entered_at=now)
    gone = Contact.objects.create(first_name="=HYPERLINK(1)", email="gone@example.com")
    SegmentMembership.objects.create(segment=seg, contact=gone, entered_at=now, exited_at=now)
    Contact.objects.filter(pk=world.ids["mine_contact"]).update(first_name="=cmd|calc")
    return seg


def _rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_service_exports_members_with_chosen_fields_escaped_and_audited(world: Any) -> None:
    seg = _segment(world)
    result = contacts_export(
        actor=world.admin,
        spec=ExportSpec(fields=("id", "first_name", "email"), segment_id=seg.pk),
    )
    rows = _rows(b"".join(result.body))
    assert rows[0] == ["id", "first_name", "email"]
    assert sorted(r[2] for r in rows[1:]) == ["mine@example.com", "theirs@example.com"]
    assert [r[1] for r in rows[1:] if r[2] == "mine@example.com"] == ["'=cmd|calc"]
    entry = Activity.objects.get(verb="contacts.exported")
    assert entry.actor_id == world.admin.pk
    assert entry.changes["after"]["segment"] == seg.pk and entry.changes["after"]["rows"] == 2
    assert result.filename.startswith(f"contacts-segment-{seg.pk}-")


def test_restricted_user_gets_only_visible_members(world: Any) -> None:
    from patron.accounts.models import Role
    from patron.core.permissions import P

    own_records_only(world.admin)
    role = Role.objects.get(key="sales")
    role.permissions = sorted({*role.permissions, P.EXPORT})
    role.save()
    seg = _segment(world)
    rep = type(world.rep).objects.get(pk=world.rep.pk)  # the role's new permissions
    result = contacts_export(
        actor=rep, spec=ExportSpec(fields=("email", "phone"), segment_id=seg.pk)
    )
    rows = _rows(b"".join(result.body))
    assert [r[0] for r in rows[1:]] == ["mine@example.com"]
    assert result.rows == 1


def test_without_export_permission_is_refused_and_nothing_recorded(world: Any) -> None:
    seg = _segment(world)
    before = db_state()
    with pytest.raises(PermissionDenied):
        contacts_export(actor=world.rep, spec=ExportSpec(segment_id=seg.pk))
    with pytest.raises(Http404):
        contacts_export(actor=world.admin, spec=ExportSpec(segment_id=seg.pk + 999))
    assert db_state() == before


def test_api_exports_a_segment_as_xlsx_and_csv(world: Any, api_for: Any) -> None:
    seg = _segment(world)
    api = api_for(world.admin)
    response = api.client.post(
        f"/api/v1/exports/segments/{seg.pk}",
        {"format": "csv", "fields": ["email", "first_name"]},
        content_type="application/json",
    )
    assert response.status_code == 200 and response["X-Export-Rows"] == "2"
    rows = _rows(b"".join(response.streaming_content))
    assert rows[0] == ["email", "first_name"]
    xlsx = api.client.post(
        f"/api/v1/exports/segments/{seg.pk}", {"format": "xlsx"}, content_type="application/json"
    )
    assert xlsx.status_code == 200
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(b"".join(xlsx.streaming_content)))
    values = [[c.value for c in row] for row in wb.active.iter_rows()]
    assert len(values) == 3
    cells = [c for row in wb.active.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type == "s" for c in cells)


def test_api_refuses_without_permission_and_unknown_fields(world: Any, api_for: Any) -> None:
    seg = _segment(world)
    before = db_state()
    refused = api_for(world.rep).client.post(
        f"/api/v1/exports/segments/{seg.pk}", {}, content_type="application/json"
    )
    assert refused.status_code == 403
    missing = api_for(world.admin).client.post(
        f"/api/v1/exports/segments/{seg.pk + 99}", {}, content_type="application/json"
    )
    assert missing.status_code == 404
    bad = api_for(world.admin).client.post(
        f"/api/v1/exports/segments/{seg.pk}",
        {"fields": ["password"]},
        content_type="application/json",
    )
    assert bad.status_code in (400, 422)
    assert db_state() == before


def test_page_exports_a_segment(world: Any, client_for: Any) -> None:
    seg = _segment(world)
    client = client_for(world.admin)
    form = client.get(f"/imports/export/?segment={seg.pk}")
    assert form.status_code == 200 and b"VIPs" in form.content
    response = client.get(
        "/imports/export/", {"segment": seg.pk, "fmt": "csv", "fields": ["email"]}
    )
    assert response.status_code == 200 and response["X-Export-Rows"] == "2"
    refused = client_for(world.rep).get("/imports/export/", {"segment": seg.pk, "fmt": "csv"})
    assert refused.status_code in (302, 403)
    assert Activity.objects.filter(verb="contacts.exported").count() == 1
