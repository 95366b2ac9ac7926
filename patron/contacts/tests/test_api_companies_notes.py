"""The companies and notes JSON API: CRUD, filters, pages and errors."""

from __future__ import annotations

import pytest

from patron.contacts.models import Company, CustomField, Note
from patron.core.models import Activity
from patron.core.tests.api_client import Api, db_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key_client) -> Api:
    return api_key_client("admin")


# --- Companies ------------------------------------------------------------------------


def test_company_crud(api):
    CustomField.objects.create(entity="company", key="tier", label="Tier", type="text")
    response = api.post(
        "/companies",
        {"name": "Acme GmbH", "domain": "www.ACME.example", "employees": 40,
         "annual_revenue": "1250000.50", "country": "de", "tags": ["partner"],
         "custom": {"tier": "gold"}, "website": "https://acme.example"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    pk = body["id"]
    assert body["domain"] == "acme.example"
    assert body["country"] == "DE"
    assert body["annual_revenue"] == "1250000.50"
    assert body["tags"] == ["partner"] and body["custom"] == {"tier": "gold"}
    assert Activity.objects.filter(verb="company.created", company_id=pk).exists()

    response = api.patch(f"/companies/{pk}", {"industry": "Tools"})
    assert response.status_code == 200
    assert response.json()["industry"] == "Tools" and response.json()["name"] == "Acme GmbH"

    assert api.get(f"/companies/{pk}").json()["industry"] == "Tools"
    assert api.delete(f"/companies/{pk}").status_code == 204
    assert not Company.objects.filter(pk=pk).exists()
    assert api.get(f"/companies/{pk}").status_code == 404


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"name": "A", "website": "javascript:alert(1)"}, "website"),
        ({"name": "A", "employees": -1}, "employees"),
        ({"name": "A", "employees": "lots"}, "employees"),
        ({"name": "A", "annual_revenue": "1.234"}, "annual_revenue"),
        ({"name": "A", "owner": 1}, "owner"),
        ({"name": "A", "custom": {"ghost": 1}}, "custom.ghost"),
    ],
)
def test_company_invalid_input_is_422(api, payload, field):
    before = db_state()
    response = api.post("/companies", payload)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert db_state() == before


def test_company_duplicate_external_id_is_422(api):
    assert api.post("/companies", {"name": "A", "external_id": "c-1"}).status_code == 201
    response = api.post("/companies", {"name": "B", "external_id": "c-1"})
    assert response.status_code == 422
    assert "external_id" in response.json()["errors"]
    assert Company.objects.count() == 1


def test_company_filters_and_pages(api, world):
    made = {
        api.post("/companies", {"name": f"Firm {i}", "domain": f"firm{i}.example",
                                "tags": ["even"] if i % 2 == 0 else []}).json()["id"]
        for i in range(12)
    }  # fmt: skip
    everything = api.walk("/companies", limit=5)
    ids = [c["id"] for c in everything]
    assert len(ids) == len(set(ids)) == 14
    assert ids == sorted(ids)
    assert made <= set(ids)

    def found(**params) -> set[str]:
        return {c["name"] for c in api.walk("/companies", **params)}

    assert found(q="firm 1") == {"Firm 1", "Firm 10", "Firm 11"}
    assert found(domain="www.FIRM3.example") == {"Firm 3"}
    assert len(found(tag="even")) == 6
    assert found(owner=str(world.other.pk)) == {"Co-theirs"}


# --- Notes ----------------------------------------------------------------------------


def test_note_on_contact_and_company(api, world):
    contact, company = world.ids["mine_contact"], world.ids["mine_company"]
    response = api.post("/notes", {"contact_id": contact, "body": "Called.\n<b>Likes</b> tea"})
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["contact_id"] == contact and note["company_id"] is None
    assert note["body"] == "Called.\n<b>Likes</b> tea"  # stored as text, escaped on display
    assert api.get(f"/notes/{note['id']}").json() == note
    assert Activity.objects.filter(verb="note.added", contact_id=contact).count() == 2

    response = api.post("/notes", {"company_id": company, "body": "Renewal due"})
    assert response.status_code == 201
    assert response.json()["company_id"] == company

    listed = api.walk("/notes", contact_id=contact)
    assert [n["body"] for n in listed] == ["Called.\n<b>Likes</b> tea", "note mine"]
    assert [n["body"] for n in api.walk("/notes", company_id=company)] == [
        "Renewal due",
        "company note mine",
    ]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": "x"}, "__all__"),
        ({"contact_id": "{c}", "company_id": "{co}", "body": "x"}, "__all__"),
        ({"contact_id": "{c}", "body": ""}, "body"),
        ({"contact_id": "{c}", "body": "x" * 20_001}, "body"),
        ({"contact_id": "{c}"}, "body"),
        ({"contact_id": "{c}", "body": "x", "author_id": 1}, "author_id"),
    ],
)
def test_note_invalid_input_is_422(api, world, payload, field):
    ids = {"{c}": world.ids["mine_contact"], "{co}": world.ids["mine_company"]}
    payload = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in payload.items()}
    before = db_state()
    response = api.post("/notes", payload)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert db_state() == before


def test_notes_pages_walk_every_note_once(api, world):
    contact = world.ids["mine_contact"]
    for i in range(11):
        api.post("/notes", {"contact_id": contact, "body": f"n{i}"})
    ids = [n["id"] for n in api.walk("/notes", limit=4)]
    assert len(ids) == len(set(ids)) == Note.objects.count() == 15
    assert ids == sorted(ids, reverse=True)
