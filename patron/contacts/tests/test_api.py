"""The contacts JSON API: CRUD, filters, keyset pages, errors, masking, auth and the docs."""

from __future__ import annotations

import base64
import json

import pytest

from patron.accounts.models import ApiKey
from patron.accounts.services import apikey_revoke
from patron.contacts.models import Contact, CustomField
from patron.contacts.selectors import MASK
from patron.core.api_base import encode_cursor
from patron.core.models import Activity
from patron.core.tests.api_client import Api, db_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key_client) -> Api:
    return api_key_client("admin")


@pytest.fixture
def fields(db):
    CustomField.objects.create(entity="contact", key="plan", label="Plan", type="choice",
                               choices=["free", "pro"])  # fmt: skip
    CustomField.objects.create(entity="contact", key="seats", label="Seats", type="number")
    CustomField.objects.create(entity="contact", key="colors", label="Colors",
                               type="multi_choice", choices=["red", "blue"])  # fmt: skip
    CustomField.objects.create(entity="contact", key="salary", label="Salary", type="number",
                               sensitive=True)  # fmt: skip


# --- CRUD -----------------------------------------------------------------------------


def test_create_normalises_returns_201_and_records_activity(api, fields):
    response = api.post(
        "/contacts",
        {
            "full_name": "Dr. Jane Q. Doe",
            "email": "Jane@EXAMPLE.com",
            "phone": "(415) 555-0134",
            "country": "Germany",
            "birthday": "1990-04-01",
            "tags": ["vip", "beta"],
            "emails": ["jane.doe@work.example"],
            "custom": {"plan": "pro", "seats": 3, "colors": ["red", "blue"], "salary": "1000.5"},
            "external_id": "crm-1",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["first_name"] == "Jane" and body["last_name"] == "Doe"
    assert body["email"] == "Jane@example.com"
    assert body["country"] == "DE"
    assert body["phone"].startswith("+49")  # parsed in the contact's country
    assert body["birthday"] == "1990-04-01"
    assert body["tags"] == ["beta", "vip"]
    assert body["emails"] == ["jane.doe@work.example"]
    assert body["custom"] == {"plan": "pro", "seats": 3, "colors": ["red", "blue"],
                              "salary": 1000.5}  # fmt: skip
    assert body["external_id"] == "crm-1"
    contact = Contact.objects.get(pk=body["id"])
    assert contact.external_id == "crm-1"
    entry = Activity.objects.get(verb="contact.created")
    assert entry.contact_id == contact.pk and entry.actor.is_service


def test_get_returns_the_contact(api, world):
    pk = world.ids["mine_contact"]
    body = api.get(f"/contacts/{pk}").json()
    assert body["id"] == pk
    assert body["owner_id"] == world.rep.pk
    assert body["email"] == "mine@example.com"


def test_patch_changes_only_given_fields_and_null_clears(api, world):
    pk = world.ids["mine_contact"]
    response = api.patch(f"/contacts/{pk}", {"job_title": "CTO", "phone": None})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["job_title"] == "CTO"
    assert body["phone"] == ""
    assert body["email"] == "mine@example.com"  # untouched
    assert body["owner_id"] == world.rep.pk  # untouched
    entry = Activity.objects.filter(verb="contact.updated", contact_id=pk).get()
    assert entry.changes["after"] == {"job_title": "CTO", "phone": ""}


def test_delete_returns_204_and_the_contact_is_gone(api, world):
    pk = world.ids["mine_contact"]
    response = api.delete(f"/contacts/{pk}")
    assert response.status_code == 204
    assert response.content == b""
    assert not Contact.objects.filter(pk=pk).exists()
    assert api.get(f"/contacts/{pk}").status_code == 404
    assert api.delete(f"/contacts/{pk}").status_code == 404


def test_link_and_unlink_company(api, world):
    pk, company = world.ids["mine_contact"], world.ids["mine_company"]
    response = api.post(f"/contacts/{pk}/companies", {"company_id": company, "role": "Buyer"})
    assert response.status_code == 201
    assert response.json()["companies"] == [{"id": company, "name": "Co-mine", "role": "Buyer"}]
    assert api.delete(f"/contacts/{pk}/companies/{company}").status_code == 204
    assert api.get(f"/contacts/{pk}").json()["companies"] == []


def test_missing_contact_is_404_with_detail(api, db):
    response = api.get("/contacts/424242")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


# --- Filters and pages ----------------------------------------------------------------


def _make(api: Api, **data) -> int:
    response = api.post("/contacts", data)
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_filters(api, world):
    a = _make(api, first_name="Alma", last_name="Zeta", email="alma@x.example", tags=["vip"],
              lifecycle_stage="customer", country="FR", external_id="ext-a")  # fmt: skip
    b = _make(api, first_name="Bert", email="bert@x.example", tags=["vip", "beta"])

    def ids(**params) -> set[int]:
        return {c["id"] for c in api.walk("/contacts", **params)}

    assert ids(email="ALMA@x.example") == {a}
    assert ids(external_id="ext-a") == {a}
    assert ids(tag="vip") == {a, b}
    assert ids(tag="beta") == {b}
    assert ids(q="alma zeta") == {a}
    assert ids(q="nobody") == set()
    assert ids(stage="customer") == {a}
    assert ids(country="fr") == {a}
    assert ids(owner=str(world.rep.pk)) == {world.ids["mine_contact"]}
    assert ids(owner="none") == {a, b}  # created by an API key: no owner
    assert ids(tag="vip", email="bert@x.example") == {b}


@pytest.mark.parametrize("sort", ["id", "-id", "name", "-name", "created", "-created", "email"])
def test_pagination_returns_every_row_exactly_once_in_order(api, sort):
    created = {_make(api, first_name=f"P{i % 3}", last_name=f"L{i % 4}",
                     email=f"p{i % 5}@x.example") for i in range(23)}  # fmt: skip
    items = api.walk("/contacts", limit=5, sort=sort)
    got = [c["id"] for c in items]
    assert len(got) == 23 and set(got) == created
    key = {"id": "id", "name": "last_name", "created": "created_at", "email": "email"}[
        sort.lstrip("-")
    ]
    values = [(c[key], c["id"]) for c in items]
    assert values == sorted(values, reverse=sort.startswith("-"))


def test_page_shape_and_limit(api):
    for i in range(3):
        _make(api, first_name=f"N{i}")
    body = api.get("/contacts", limit=2).json()
    assert len(body["items"]) == 2 and isinstance(body["next_cursor"], str)
    last = api.get("/contacts", limit=2, cursor=body["next_cursor"]).json()
    assert len(last["items"]) == 1 and last["next_cursor"] is None


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": encode_cursor(["id", 1, 10**30])},  # an id no column holds
        {"cursor": encode_cursor(["id", 1, True])},
        {"cursor": base64.urlsafe_b64encode(b'{"id": 1}').decode()},  # not a list
        {"cursor": encode_cursor(["created", "yesterday", 5]), "sort": "created"},
        {"limit": 0},
        {"limit": 501},
        {"limit": "ten"},
        {"owner": "1 OR 1=1"},
        {"sort": "password"},
    ],
)
def test_bad_list_parameters_are_422(api, params):
    response = api.get("/contacts", **params)
    assert response.status_code == 422, response.content
    assert response.json()["detail"] == "Validation failed."
    assert response.json()["errors"]


def test_a_cursor_only_works_with_its_own_sort(api):
    for i in range(3):
        _make(api, first_name=f"N{i}")
    cursor = api.get("/contacts", limit=1, sort="name").json()["next_cursor"]
    response = api.get("/contacts", limit=1, sort="created", cursor=cursor)
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_list_costs_a_fixed_number_of_queries(api, fields, django_assert_max_num_queries):
    for i in range(30):
        _make(api, first_name=f"N{i}", tags=["t"], phones=["+14155550100"],
              custom={"plan": "free", "colors": ["red"]})  # fmt: skip
    with django_assert_max_num_queries(15):
        body = api.get("/contacts", limit=30).json()
    assert len(body["items"]) == 30
    assert all(c["custom"] == {"plan": "free", "colors": ["red"]} for c in body["items"])


# --- Errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": 5}, "first_name"),
        ({"first_name": ["x"]}, "first_name"),
        ({"first_name": "A", "tags": "vip"}, "tags"),
        ({"first_name": "A", "birthday": "01/02/1990"}, "birthday"),
        ({"first_name": "A", "birthday": 1990}, "birthday"),
        ({"first_name": "A", "owner_id": True}, "owner_id"),
        ({"first_name": "A", "owner_id": 10**30}, "owner_id"),
        ({"first_name": "A", "email": "not an email"}, "email"),
        ({"first_name": "A", "country": "Atlantis"}, "country"),
        ({"first_name": "x" * 121}, "first_name"),
        ({"first_name": "A", "job_title": "y" * 201}, "job_title"),
        ({"first_name": "A", "custom": {"nope": 1}}, "custom.nope"),
        ({"first_name": "A", "custom": {"seats": "many"}}, "custom.seats"),
        ({"first_name": "A", "custom": {"plan": "gold"}}, "custom.plan"),
        ({"first_name": "A", "lifecycle_stage": "zombie"}, "lifecycle_stage"),
        ({"first_name": "A", "role": "admin"}, "role"),
        ({"first_name": "A", "is_staff": True}, "is_staff"),
        ({"first_name": "A", "is_superuser": True}, "is_superuser"),
        ({"first_name": "A", "owner": 1}, "owner"),
        ({"first_name": "A", "team": 1}, "team"),
        ({"first_name": "A", "id": 99}, "id"),
        ({"first_name": "A", "search_text": "x"}, "search_text"),
        ({}, "__all__"),
    ],
)
def test_invalid_input_is_422_with_field_messages_and_changes_nothing(api, fields, payload, field):
    before = db_state()
    response = api.post("/contacts", payload)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["detail"] == "Validation failed."
    assert field in body["errors"], body
    assert all(isinstance(m, str) and m for m in body["errors"][field])
    assert db_state() == before


def test_over_long_value_message_names_the_limit(api):
    body = api.post("/contacts", {"first_name": "x" * 121}).json()
    assert body["errors"]["first_name"] == ["Ensure this value has at most 120 characters."]


def test_duplicate_external_id_is_422(api, world):
    response = api.patch(f"/contacts/{world.ids['mine_contact']}", {"external_id": "E1"})
    assert response.status_code == 200
    before = db_state()
    response = api.post("/contacts", {"first_name": "Twin", "external_id": "E1"})
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["external_id"]
    response = api.patch(f"/contacts/{world.ids['theirs_contact']}", {"external_id": "E1"})
    assert response.status_code == 422
    assert db_state() == before


def test_patch_with_mass_assignment_fields_is_422(api, world):
    before = db_state()
    pk = world.ids["mine_contact"]
    response = api.patch(f"/contacts/{pk}", {"owner": world.admin.pk, "is_staff": True})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"owner", "is_staff"}
    assert db_state() == before


def test_restricted_rep_cannot_give_a_contact_to_someone_else(world, api_for):
    from patron.core.tests.api_client import own_records_only

    own_records_only(world.admin)
    before = db_state()
    pk = world.ids["mine_contact"]
    response = api_for(world.rep).patch(f"/contacts/{pk}", {"owner_id": world.other.pk})
    assert response.status_code == 403
    assert db_state() == before


def test_malformed_json_is_400_and_non_object_is_422(api):
    response = api.client.post("/api/v1/contacts", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]
    response = api.post("/contacts", ["first_name", "A"])
    assert response.status_code == 422


def test_hostile_bodies_are_refused_cleanly(api):
    def post(raw: str):
        return api.client.post("/api/v1/contacts", data=raw, content_type="application/json")

    too_big = post('{"first_name": "' + "x" * 3_000_000 + '"}')
    assert too_big.status_code == 413
    assert "larger than" in too_big.json()["detail"]
    assert post("[" * 100_000 + "]" * 100_000).status_code == 400
    nested = post('{"first_name": "A", "custom": ' + '{"a":' * 500 + "1" + "}" * 500 + "}")
    assert nested.status_code == 422
    assert nested.json()["errors"] == {"custom.a": ["Unknown custom field."]}
    form = api.client.post("/api/v1/contacts", data="first_name=A",
                           content_type="application/x-www-form-urlencoded")  # fmt: skip
    assert form.status_code == 400
    assert not Contact.objects.exists()


# --- Authentication and rate limits ---------------------------------------------------


def test_requests_without_a_valid_key_are_401(client, db, make_api_key):
    for headers in ({}, {"Authorization": "Bearer ptn_wrong"}, {"Authorization": "Basic eDp5"}):
        response = client.get("/api/v1/contacts", headers=headers)
        assert response.status_code == 401, headers
        assert "detail" in response.json()
    response = client.post(
        "/api/v1/contacts", data=json.dumps({"first_name": "A"}), content_type="application/json"
    )
    assert response.status_code == 401
    assert not Contact.objects.exists()


def test_revoked_key_is_refused(api_key_client, make_api_key):
    raw = make_api_key("admin")
    api = api_key_client(raw=raw)
    assert api.get("/contacts").status_code == 200
    apikey_revoke(actor=None, key=ApiKey.objects.get(prefix=raw[:12]))
    assert api.get("/contacts").status_code == 401
    assert api.post("/contacts", {"first_name": "A"}).status_code == 401
    assert not Contact.objects.exists()


def test_key_role_decides_permissions(api_key_client, world):
    readonly = api_key_client("readonly")
    assert readonly.get(f"/contacts/{world.ids['mine_contact']}").status_code == 200
    before = db_state()
    response = readonly.post("/contacts", {"first_name": "A"})
    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to do this."}
    assert readonly.get("/orders").status_code == 403
    assert db_state() == before


def test_rate_limit_answers_429_with_retry_after(api_key_client, settings, db):
    settings.PATRON_API_RATE_LIMIT = 3
    settings.PATRON_API_RATE_WINDOW = 60
    api = api_key_client("admin")
    assert [api.get("/contacts").status_code for _ in range(3)] == [200, 200, 200]
    response = api.get("/contacts")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["detail"]
    # A write past the limit is refused before it runs
    assert api.post("/contacts", {"first_name": "A"}).status_code == 429
    assert not Contact.objects.exists()
    # Another key has its own budget
    assert api_key_client("admin").get("/contacts").status_code == 200


def test_browser_session_writes_need_the_csrf_token(make_user):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(make_user("admin", password=None))
    assert browser.get("/api/v1/contacts").status_code == 200
    response = browser.post(
        "/api/v1/contacts", data=json.dumps({"first_name": "A"}), content_type="application/json"
    )
    assert response.status_code == 403
    assert not Contact.objects.exists()
    # A deactivated user's session no longer reaches the API
    user = make_user("admin", password=None)
    session = Client()
    session.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert session.get("/api/v1/contacts").status_code == 401


def test_browser_sessions_are_not_rate_limited(api_for, make_user, settings):
    settings.PATRON_API_RATE_LIMIT = 1
    api = api_for(make_user("admin", password=None))
    assert [api.get("/contacts").status_code for _ in range(3)] == [200, 200, 200]


# --- Field-level access ---------------------------------------------------------------


def test_sensitive_fields_are_masked_without_the_permission(api, api_key_client, fields):
    pk = _make(api, first_name="Sam", phone="+14155550134", birthday="1980-02-03",
               phones=["+14155550135"], custom={"salary": 5000, "plan": "pro"})  # fmt: skip
    api.patch(f"/contacts/{pk}", {"phone": "+14155550199", "custom": {"salary": 6000}})
    marketing = api_key_client("marketing")  # no contact.view_sensitive
    body = marketing.get(f"/contacts/{pk}").json()
    assert body["phone"] == MASK and body["birthday"] == MASK and body["phones"] == [MASK]
    assert body["custom"] == {"salary": MASK, "plan": "pro"}
    listed = marketing.get("/contacts").json()["items"][0]
    assert listed["phone"] == MASK and listed["custom"]["salary"] == MASK
    timeline = marketing.get(f"/contacts/{pk}/timeline").json()["items"]
    text = json.dumps(timeline)
    assert "4155550134" not in text and "4155550199" not in text and "1980" not in text
    assert "5000" not in text and "6000" not in text
    # A role with the permission sees the values
    support = api_key_client("support").get(f"/contacts/{pk}").json()
    assert support["phone"] == "+14155550199" and support["birthday"] == "1980-02-03"
    assert support["custom"]["salary"] == 6000


def test_batched_custom_values_match_custom_values_of(api, fields, make_user):
    from patron.contacts.api.serialize import custom_values_many, plain
    from patron.contacts.selectors import custom_values_of

    pk = _make(api, first_name="Sam", custom={"salary": "12.5", "plan": "pro", "seats": 2,
                                              "colors": ["blue", "red"]})  # fmt: skip
    contact = Contact.objects.get(pk=pk)
    for role in ("admin", "marketing"):
        user = make_user(role, password=None)
        expected = {k: plain(v) for k, v in custom_values_of(user, contact).items()}
        assert custom_values_many(user, [contact], "contact")[pk] == expected


# --- Timeline -------------------------------------------------------------------------


def test_timeline_lists_activity_notes_and_orders_newest_first(api, world):
    pk = world.ids["mine_contact"]
    items = api.get(f"/contacts/{pk}/timeline").json()["items"]
    kinds = {i["kind"] for i in items}
    assert {"activity", "note", "order", "ticket", "survey"} <= kinds
    times = [i["at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert len(api.get(f"/contacts/{pk}/timeline", limit=2).json()["items"]) == 2


def test_timeline_leaves_out_orders_and_tickets_for_roles_that_cannot_see_them(
    api_key_client, world
):
    items = api_key_client("readonly").get(f"/contacts/{world.ids['mine_contact']}/timeline")
    assert items.status_code == 200
    items = items.json()["items"]
    assert {i["kind"] for i in items} <= {"activity", "note"}
    verbs = {i["meta"].get("verb", "") for i in items}
    assert not any(v.startswith(("order.", "ticket.", "survey.")) for v in verbs)
    assert "contact.created" in verbs


# --- Documentation --------------------------------------------------------------------


def test_openapi_document_lists_every_path(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    assert {
        "/api/v1/contacts",
        "/api/v1/contacts/{contact_id}",
        "/api/v1/contacts/{contact_id}/timeline",
        "/api/v1/companies",
        "/api/v1/companies/{company_id}",
        "/api/v1/notes",
        "/api/v1/orders",
        "/api/v1/orders/{order_id}",
        "/api/v1/tickets",
        "/api/v1/tickets/{ticket_id}",
        "/api/v1/surveys",
    } <= paths
    assert set(doc["paths"]["/api/v1/contacts/{contact_id}"]) == {"get", "patch", "delete"}
    create = doc["paths"]["/api/v1/contacts"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    assert "BearerKey" in json.dumps(doc["components"]["securitySchemes"])


def test_interactive_docs_are_served_from_our_own_static_files(client, db):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn." not in html
