"""The tickets and surveys JSON API: CRUD, filters, pages, errors and object-level access."""

from __future__ import annotations

import pytest

from patron.core.tests.api_client import (
    Api,
    Case,
    assert_refused,
    db_state,
    own_records_only,
    restricted_power_user,
    send_case,
)
from patron.support.models import SurveyResponse, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key_client) -> Api:
    return api_key_client("support")


def test_ticket_crud(api, world, make_user):
    agent = make_user("support", password=None)
    contact = world.ids["mine_contact"]
    response = api.post(
        "/tickets",
        {"contact_id": contact, "subject": "Refund?", "channel": "phone", "priority": "urgent",
         "description": "Wants money back", "assignee_id": agent.pk},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    ticket = response.json()
    assert (ticket["status"], ticket["resolved_at"], ticket["assignee_id"]) == (
        "open",
        None,
        agent.pk,
    )
    pk = ticket["id"]
    assert api.get(f"/tickets/{pk}").json() == ticket

    response = api.patch(f"/tickets/{pk}", {"status": "resolved"})
    assert response.status_code == 200
    assert response.json()["resolved_at"] is not None
    assert response.json()["subject"] == "Refund?"
    response = api.patch(f"/tickets/{pk}", {"status": "open", "assignee_id": None})
    assert response.json()["resolved_at"] is None and response.json()["assignee_id"] is None

    assert api.delete(f"/tickets/{pk}").status_code == 204
    assert not Ticket.objects.filter(pk=pk).exists()
    assert api.get(f"/tickets/{pk}").status_code == 404


def test_ticket_filters_and_pages(api, world):
    contact = world.ids["mine_contact"]
    made = [
        api.post("/tickets", {"contact_id": contact, "subject": f"T{i}",
                              "priority": "high" if i % 2 else "low"}).json()["id"]
        for i in range(9)
    ]  # fmt: skip
    ids = [t["id"] for t in api.walk("/tickets", limit=4)]
    assert len(ids) == len(set(ids)) == 11
    assert {t["id"] for t in api.walk("/tickets", contact_id=contact)} == {
        *made,
        world.ids["mine_ticket"],
    }
    assert {t["id"] for t in api.walk("/tickets", priority="high")} == set(made[1::2])
    api.patch(f"/tickets/{made[0]}", {"status": "closed"})
    assert [t["id"] for t in api.walk("/tickets", status="closed")] == [made[0]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"contact_id": "{c}"}, "subject"),
        ({"subject": "x"}, "contact_id"),
        ({"contact_id": "{c}", "subject": "x", "status": "solved"}, "status"),
        ({"contact_id": "{c}", "subject": "x", "priority": 3}, "priority"),
        ({"contact_id": "{c}", "subject": "s" * 301}, "subject"),
        ({"contact_id": "{c}", "subject": "x", "resolved_at": "2024-01-01"}, "resolved_at"),
        ({"contact_id": "{c}", "subject": "x", "assignee_id": 424242}, "assignee_id"),
        ({"contact_id": "{c}", "subject": "x", "role": "admin"}, "role"),
    ],
)
def test_invalid_tickets_are_422_and_change_nothing(api, world, payload, field):
    payload = {k: world.ids["mine_contact"] if v == "{c}" else v for k, v in payload.items()}
    before = db_state()
    response = api.post("/tickets", payload)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"], response.json()
    assert db_state() == before


def test_survey_create_list_get(api, world):
    contact = world.ids["mine_contact"]
    response = api.post(
        "/surveys",
        {"contact_id": contact, "kind": "csat", "score": 5, "comment": "Great",
         "ticket_id": world.ids["mine_ticket"]},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    survey = response.json()
    assert (survey["kind"], survey["score"], survey["ticket_id"]) == (
        "csat",
        5,
        world.ids["mine_ticket"],
    )
    assert api.get(f"/surveys/{survey['id']}").json() == survey
    listed = api.walk("/surveys", contact_id=contact)
    assert [s["id"] for s in listed] == [survey["id"], world.ids["mine_survey"]]
    assert [s["id"] for s in api.walk("/surveys", kind="csat")] == [survey["id"]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "nps", "score": 11}, "score"),
        ({"kind": "csat", "score": 0}, "score"),
        ({"kind": "nps", "score": "high"}, "score"),
        ({"kind": "ces", "score": 3}, "kind"),
        ({"kind": "nps", "score": 3, "ticket_id": "{t}"}, "ticket_id"),
    ],
)
def test_invalid_surveys_are_422(api, world, payload, field):
    payload = {k: world.ids["theirs_ticket"] if v == "{t}" else v for k, v in payload.items()}
    payload["contact_id"] = world.ids["mine_contact"]
    before = db_state()
    response = api.post("/surveys", payload)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert db_state() == before
    assert SurveyResponse.objects.count() == 2


# --- Object-level access --------------------------------------------------------------

CASES: list[Case] = [
    ("get", "/tickets/{ticket}", None),
    ("patch", "/tickets/{ticket}", {"status": "closed"}),
    ("delete", "/tickets/{ticket}", None),
    ("get", "/tickets?contact_id={contact}", None),
    ("post", "/tickets", {"contact_id": "{contact}", "subject": "x"}),
    ("get", "/surveys/{survey}", None),
    ("get", "/surveys?contact_id={contact}", None),
    ("post", "/surveys", {"contact_id": "{contact}", "kind": "nps", "score": 0}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_sales_rep_gets_404_for_another_reps_tickets(world, api_for, case):
    own_records_only(world.admin)
    api = api_for(world.rep)
    assert_refused(api, world, case, 404)
    control = send_case(api, world, case, "mine")  # sales may read tickets, not write them
    assert control.status_code == (200 if case[0] == "get" else 403), control.content


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_scope_alone_refuses_tickets(world, api_for, make_user, case):
    own_records_only(world.admin)
    api = api_for(restricted_power_user(world, make_user))
    assert_refused(api, world, case, 404)
    control = send_case(api, world, case, "mine")
    assert control.status_code in (200, 201, 204), control.content


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_read_only_role_gets_403(world, api_for, make_user, case):
    assert_refused(api_for(make_user("readonly", password=None)), world, case, 403)


def test_lists_leave_out_other_reps_tickets(world, api_for):
    own_records_only(world.admin)
    api = api_for(world.rep)
    assert [t["id"] for t in api.walk("/tickets")] == [world.ids["mine_ticket"]]
    assert [s["id"] for s in api.walk("/surveys")] == [world.ids["mine_survey"]]
