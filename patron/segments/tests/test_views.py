"""Segment pages: builder save (from the visual tree or the text), live preview with dry
run, detail with members and chart, CSV export; refusals change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from patron.contacts.models import Contact, Tag
from patron.core.models import Activity
from patron.segments.models import Segment, SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip_segment(marketing_user_p: Any) -> Segment:
    vip = Tag.objects.create(name="vip")
    for i in range(3):
        c = Contact.objects.create(first_name=f"c{i}", email=f"=cmd|{i}@x.com")
        if i < 2:
            c.tags.add(vip)
    seg = segment_create(actor=marketing_user_p, data={"name": "VIPs", "text": 'tag "vip"'})
    segment_build(segment_id=seg.pk)
    return seg


def _state() -> tuple[Any, ...]:
    return (
        list(Segment.objects.order_by("id").values_list("id", "name", "rules")),
        SegmentMembership.objects.count(),
        Activity.objects.count(),
    )


def test_list_and_builder_render(
    client_for: Any, marketing_user_p: Any, vip_segment: Segment
) -> None:
    c = client_for(marketing_user_p)
    page = c.get("/segments/").content.decode()
    assert "VIPs" in page and "Champions" in page  # segments and templates
    page = c.get(f"/segments/{vip_segment.pk}/edit/").content.decode()
    assert 'id="segment-builder-data"' in page and "builder.js" in page
    assert "<script>" not in page.replace('<script src="', "")  # no inline scripts (CSP)


def test_save_from_builder_json_and_from_text(client_for: Any, marketing_user_p: Any) -> None:
    c = client_for(marketing_user_p)
    rules = {
        "or": [
            {"kind": "tag", "tag": "a"},
            {"kind": "field", "field": "city", "op": "eq", "value": "Rome"},
        ]
    }
    r = c.post(
        "/segments/new/",
        {
            "name": "From builder",
            "kind": "dynamic",
            "rules_json": json.dumps(rules),
            "source": "builder",
        },
    )
    assert r.status_code == 302
    assert Segment.objects.get(name="From builder").rules == rules
    r = c.post(
        "/segments/new/",
        {"name": "From text", "kind": "static", "rules_text": 'tag "b"', "source": "text"},
    )
    seg = Segment.objects.get(name="From text")
    assert (
        r.status_code == 302
        and seg.kind == "static"
        and seg.rules == {"and": [{"kind": "tag", "tag": "b"}]}
    )


def test_invalid_rules_re_render_with_message(client_for: Any, marketing_user_p: Any) -> None:
    c = client_for(marketing_user_p)
    before = _state()
    r = c.post(
        "/segments/new/",
        {"name": "<svg onload=alert(1)>", "rules_text": "email > 3", "source": "text"},
    )
    assert r.status_code == 200
    body = r.content.decode()
    assert "does not apply to email" in body and "<svg onload" not in body
    assert _state() == before


def test_live_preview_and_dry_run(
    client_for: Any, marketing_user_p: Any, vip_segment: Segment
) -> None:
    c = client_for(marketing_user_p)
    before = _state()
    r = c.post(
        "/segments/preview/",
        {"rules_text": 'email contains "2@"', "source": "text", "segment_id": vip_segment.pk},
    )
    body = r.content.decode()
    assert "<strong data-count>1</strong>" in body
    assert "<strong>1</strong> would enter, <strong>2</strong> would leave" in body
    assert "canonical-text" in body
    r = c.post("/segments/preview/", {"rules_text": "orders count >", "source": "text"})
    assert "expected a value" in r.content.decode()
    assert _state() == before


def test_detail_shows_members_chart_and_export(
    client_for: Any, admin_user_p: Any, vip_segment: Segment
) -> None:
    c = client_for(admin_user_p)
    page = c.get(f"/segments/{vip_segment.pk}/").content.decode()
    assert "c0" in page and "c1" in page and "c2" not in page
    assert "<svg" in page and "polyline" in page
    r = c.get(f"/segments/{vip_segment.pk}/export.csv")
    csv = b"".join(r.streaming_content).decode()
    assert "'=cmd|0@x.com" in csv  # formula escaped
    assert len(csv.strip().splitlines()) == 3


@pytest.mark.parametrize("role", ["sales", "support", "readonly"])
def test_manage_pages_refused_and_nothing_changes(
    client_for: Any, make_user: Any, vip_segment: Segment, role: str
) -> None:
    c = client_for(make_user(role))
    before = _state()
    assert c.get("/segments/new/").status_code == 403
    assert (
        c.post(
            "/segments/new/", {"name": "x", "rules_text": 'tag "a"', "source": "text"}
        ).status_code
        == 403
    )
    assert (
        c.post(
            f"/segments/{vip_segment.pk}/edit/",
            {"name": "y", "rules_text": 'tag "a"', "source": "text"},
        ).status_code
        == 403
    )
    assert c.post(f"/segments/{vip_segment.pk}/delete/").status_code == 403
    assert c.post(f"/segments/{vip_segment.pk}/rebuild/").status_code == 403
    assert _state() == before


def test_readonly_cannot_view_and_marketing_cannot_export_without_permission(
    client_for: Any, readonly_user_p: Any, support_user_p: Any, vip_segment: Segment
) -> None:
    c = client_for(readonly_user_p)
    assert c.get("/segments/").status_code == 403
    assert c.get(f"/segments/{vip_segment.pk}/").status_code == 403
    assert (
        c.post("/segments/preview/", {"rules_text": 'tag "vip"', "source": "text"}).status_code
        == 403
    )
    before = _state()
    assert (
        client_for(support_user_p).get(f"/segments/{vip_segment.pk}/export.csv").status_code == 403
    )
    assert _state() == before
