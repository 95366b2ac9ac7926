"""/api/v1/segments: CRUD with JSON or text, members, checks, history, preview, dry run;
every refusal changes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from patron.contacts.models import Contact, Tag
from patron.core.models import Activity
from patron.segments.models import Segment, SegmentMembership
from patron.segments.services.definitions import segment_create
from patron.segments.services.membership import segment_build

pytestmark = pytest.mark.django_db
URL = "/api/v1/segments"


def _client(make_api_key: Any, role: str) -> Client:
    return Client(headers={"authorization": f"Bearer {make_api_key(role)}"})


def _state() -> tuple[Any, ...]:
    return (
        list(Segment.objects.order_by("id").values_list("id", "name", "rules", "kind")),
        SegmentMembership.objects.count(),
        Activity.objects.count(),
    )


def _post(c: Client, url: str, body: Any) -> Any:
    return c.post(url, json.dumps(body), content_type="application/json")


@pytest.fixture
def world(marketing_user_p: Any) -> dict[str, Any]:
    vip = Tag.objects.create(name="vip")
    contacts = [Contact.objects.create(first_name=f"c{i}", email=f"c{i}@x.com") for i in range(5)]
    for c in contacts[:3]:
        c.tags.add(vip)
    seg = segment_create(actor=marketing_user_p, data={"name": "VIPs", "text": 'tag "vip"'})
    segment_build(segment_id=seg.pk)
    return {"segment": seg, "contacts": contacts}


def test_create_with_text_and_read_back_both_forms(make_api_key: Any) -> None:
    c = _client(make_api_key, "marketing")
    r = _post(c, URL, {"name": "Berliners", "text": 'city = "Berlin" and not tag "vip"'})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["text"] == 'city = "Berlin" and not tag "vip"'
    assert body["rules"]["and"][0] == {
        "kind": "field",
        "field": "city",
        "op": "eq",
        "value": "Berlin",
    }
    assert set(body["depends_on"]) == {"profile"}
    got = c.get(f"{URL}/{body['id']}").json()
    assert got["rules"] == body["rules"]
    # The same rules as JSON make the same segment
    r2 = _post(c, URL, {"name": "Berliners 2", "rules": body["rules"]})
    assert r2.status_code == 201 and r2.json()["text"] == body["text"]


def test_members_are_keyset_paginated(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "sales")
    seg = world["segment"]
    seen, cursor = [], None
    while True:
        r = c.get(f"{URL}/{seg.pk}/members", {"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200
        page = r.json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(c.pk for c in world["contacts"][:3])


def test_membership_check_and_history(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "support")
    seg, contacts = world["segment"], world["contacts"]
    assert c.get(f"{URL}/{seg.pk}/members/{contacts[0].pk}").json()["member"] is True
    assert c.get(f"{URL}/{seg.pk}/members/{contacts[4].pk}").json()["member"] is False
    assert c.get(f"{URL}/{seg.pk}/members/999999").status_code == 404
    history = c.get(f"{URL}/{seg.pk}/history", {"contact_id": contacts[0].pk}).json()
    assert len(history["items"]) == 1 and history["items"][0]["exited_at"] is None


def test_preview_counts_without_saving(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "marketing")
    before = _state()
    r = _post(c, f"{URL}/preview", {"text": 'tag "vip" and email contains "c1"', "explain": True})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 1 and body["sample"][0]["email"] == "c1@x.com"
    assert body["sql"] is None  # marketing is not an administrator
    assert _state() == before


def test_preview_shows_sql_and_plan_to_admins(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "admin")
    body = _post(c, f"{URL}/preview", {"text": 'tag "vip"', "explain": True}).json()
    assert "EXISTS" in body["sql"].upper() and body["plan"]


def test_dry_run(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "marketing")
    seg, contacts = world["segment"], world["contacts"]
    before = _state()
    r = _post(c, f"{URL}/{seg.pk}/dry-run", {"text": 'email contains "c4" or email contains "c0"'})
    assert r.json() == {
        "would_enter": 1,
        "would_exit": 2,
        "enter_sample": [contacts[4].pk],
        "exit_sample": [contacts[1].pk, contacts[2].pk],
        "size_after": 2,
    }
    assert _state() == before


def test_update_and_delete(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "manager")
    seg = world["segment"]
    r = c.patch(
        f"{URL}/{seg.pk}", json.dumps({"text": 'tag "b2b"'}), content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["text"] == 'tag "b2b"'
    assert r.json()["status"] == "pending"
    assert c.delete(f"{URL}/{seg.pk}").status_code == 204
    assert not Segment.objects.filter(pk=seg.pk).exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {
                "name": "x",
                "rules": {"kind": "field", "field": "password", "op": "eq", "value": "x"},
            },
            "rules",
            "Unknown field",
        ),
        (
            {
                "name": "x",
                "rules": {"kind": "field", "field": "email__regex", "op": "eq", "value": ".*"},
            },
            "rules",
            "Unknown field",
        ),
        ({"name": "x", "text": 'email = "a" OR 1=1; --'}, "rules", "unexpected character ';'"),
        ({"name": "x", "text": "email > 3"}, "rules", "does not apply to email"),
        (
            {
                "name": "x",
                "rules": {"kind": "field", "field": "email", "op": "in", "value": list(range(600))},
            },
            "rules",
            "too long",
        ),
        (
            {"name": "x", "text": 'tag "a"', "rules": {"and": []}},
            "rules",
            "either as JSON or as text",
        ),
        (
            {"name": "<script>alert(1)</script>", "text": 'tag "a"', "owner_id": 1},
            "owner_id",
            "Extra inputs",
        ),
        ({"name": "", "text": 'tag "a"'}, "name", "required"),
    ],
)
def test_bad_input_is_rejected_clearly(
    make_api_key: Any, body: dict[str, Any], field: str, message: str
) -> None:
    c = _client(make_api_key, "marketing")
    before = _state()
    r = _post(c, URL, body)
    assert r.status_code == 422, r.content
    errors = r.json()["errors"]
    assert any(message in m for m in errors.get(field, [])), errors
    assert _state() == before


def test_deeply_nested_json_is_refused(make_api_key: Any) -> None:
    c = _client(make_api_key, "marketing")
    tree: dict[str, Any] = {"kind": "tag", "tag": "a"}
    for _ in range(200):
        tree = {"not": tree}
    r = _post(c, URL, {"name": "deep", "rules": tree})
    assert r.status_code == 422 and "nested too deeply" in json.dumps(r.json())


@pytest.mark.parametrize("role", ["sales", "support", "readonly"])
def test_writes_are_refused_without_manage_and_nothing_changes(
    make_api_key: Any, world: dict[str, Any], role: str
) -> None:
    c = _client(make_api_key, role)
    seg = world["segment"]
    before = _state()
    assert _post(c, URL, {"name": "x", "text": 'tag "a"'}).status_code == 403
    r = c.patch(f"{URL}/{seg.pk}", json.dumps({"name": "y"}), content_type="application/json")
    assert r.status_code in (403, 404)
    assert c.delete(f"{URL}/{seg.pk}").status_code in (403, 404)
    assert _post(c, f"{URL}/{seg.pk}/dry-run", {"text": 'tag "a"'}).status_code in (403, 404)
    assert _post(c, f"{URL}/{seg.pk}/rebuild", {}).status_code in (403, 404)
    assert _state() == before


def test_reads_are_refused_without_view(make_api_key: Any, world: dict[str, Any]) -> None:
    c = _client(make_api_key, "readonly")
    seg = world["segment"]
    for url in (
        URL,
        f"{URL}/{seg.pk}",
        f"{URL}/{seg.pk}/members",
        f"{URL}/schema",
        f"{URL}/{seg.pk}/history",
    ):
        assert c.get(url).status_code == 403, url
    assert _post(c, f"{URL}/preview", {"text": 'tag "vip"'}).status_code == 403


def test_restricted_roles_see_only_their_contacts(
    make_user: Any, client_for: Any, world: dict[str, Any]
) -> None:
    from patron.core.models import Workspace

    Workspace.objects.filter(pk=1).update(restricted_visibility="own")
    rep = make_user("sales")
    mine = world["contacts"][0]
    Contact.objects.filter(pk=mine.pk).update(owner=rep)
    c = client_for(rep)
    seg = world["segment"]
    items = c.get(f"{URL}/{seg.pk}/members").json()["items"]
    assert [m["id"] for m in items] == [mine.pk]
    other = world["contacts"][1]
    assert c.get(f"{URL}/{seg.pk}/members/{other.pk}").status_code == 404
    assert _post(c, f"{URL}/preview", {"text": 'tag "vip"'}).json()["count"] == 1


def test_sensitive_fields_are_forbidden_to_roles_without_access(make_api_key: Any) -> None:
    c = _client(make_api_key, "marketing")
    r = _post(c, URL, {"name": "bdays", "text": "birthday anniversary within 7 days"})
    assert r.status_code == 422 and "sensitive" in json.dumps(r.json())


def test_schema_and_fields(make_api_key: Any) -> None:
    c = _client(make_api_key, "sales")
    assert c.get(f"{URL}/schema").json()["title"] == "Patron segment rules"
    fields = {f["key"]: f for f in c.get(f"{URL}/fields").json()}
    assert "between" in fields["company.employees"]["ops"]
    assert "contains" not in fields["lifecycle_stage"]["ops"]
