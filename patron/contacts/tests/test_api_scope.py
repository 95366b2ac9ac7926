"""Object-level access on every contacts/companies/notes endpoint and verb.

A sales rep in "own records only" mode gets 404 for another rep's records, a read-only
role gets 403 on writes, and in every case the database is unchanged. Each refusal has a
control: the same request on the rep's own record is not refused for scope.
"""

from __future__ import annotations

import pytest

from patron.core.tests.api_client import (
    Case,
    assert_refused,
    own_records_only,
    restricted_power_user,
    send_case,
)

pytestmark = pytest.mark.django_db

CASES: list[Case] = [
    ("get", "/contacts/{contact}", None),
    ("patch", "/contacts/{contact}", {"first_name": "Hacked"}),
    ("patch", "/contacts/{contact}", {"tags": ["vip"], "custom": {}}),
    ("delete", "/contacts/{contact}", None),
    ("get", "/contacts/{contact}/timeline", None),
    ("post", "/contacts/{contact}/companies", {"company_id": "{mine_company}"}),
    ("post", "/contacts/{mine_contact}/companies", {"company_id": "{company}"}),
    ("delete", "/contacts/{contact}/companies/{company}", None),
    ("delete", "/contacts/{mine_contact}/companies/{company}", None),
    ("get", "/companies/{company}", None),
    ("patch", "/companies/{company}", {"name": "Hacked"}),
    ("delete", "/companies/{company}", None),
    ("get", "/notes/{note}", None),
    ("get", "/notes/{company_note}", None),
    ("get", "/notes?contact_id={contact}", None),
    ("get", "/notes?company_id={company}", None),
    ("post", "/notes", {"contact_id": "{contact}", "body": "sneaky"}),
    ("post", "/notes", {"company_id": "{company}", "body": "sneaky"}),
]
WRITES = [c for c in CASES if c[0] != "get"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_sales_rep_gets_404_for_another_reps_records(world, api_for, case):
    # Given a sales rep who may only see their own records
    own_records_only(world.admin)
    api = api_for(world.rep)
    # When they aim any request at another rep's record: 404, nothing changed
    assert_refused(api, world, case, 404)
    # And the same request on their own record is not a scope refusal
    control = send_case(api, world, case, "mine")
    assert control.status_code in (200, 201, 204, 403), (case, control.content)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_scope_alone_refuses_even_with_every_permission(world, api_for, make_user, case):
    own_records_only(world.admin)
    api = api_for(restricted_power_user(world, make_user))
    assert_refused(api, world, case, 404)
    control = send_case(api, world, case, "mine")
    assert control.status_code in (200, 201, 204), (case, control.content)


@pytest.mark.parametrize("case", WRITES, ids=lambda c: f"{c[0]} {c[1]}")
def test_read_only_role_gets_403_on_writes(world, api_for, make_user, case):
    api = api_for(make_user("readonly"))
    assert_refused(api, world, case, 403)


def test_lists_leave_out_other_reps_records(world, api_for):
    own_records_only(world.admin)
    api = api_for(world.rep)
    assert [c["id"] for c in api.walk("/contacts")] == [world.ids["mine_contact"]]
    assert [c["id"] for c in api.walk("/companies")] == [world.ids["mine_company"]]
    assert {n["id"] for n in api.walk("/notes")} == {
        world.ids["mine_note"],
        world.ids["mine_company_note"],
    }
    # Filtering by another rep's company finds nothing of theirs either
    assert api.walk("/contacts", company_id=world.ids["theirs_company"]) == []


def test_contact_output_hides_links_to_companies_out_of_scope(world, api_for):
    from patron.contacts.services import contact_company_link

    contact_company_link(
        actor=world.admin, contact=world.ids["mine_contact"], company=world.ids["theirs_company"]
    )
    contact_company_link(
        actor=world.admin, contact=world.ids["mine_contact"], company=world.ids["mine_company"]
    )
    own_records_only(world.admin)
    body = api_for(world.rep).get(f"/contacts/{world.ids['mine_contact']}").json()
    assert [c["id"] for c in body["companies"]] == [world.ids["mine_company"]]
    # An unrestricted user sees both links
    body = api_for(world.admin).get(f"/contacts/{world.ids['mine_contact']}").json()
    assert len(body["companies"]) == 2


def test_team_mode_shows_teammates_records_only(world, api_for, make_user):
    from patron.accounts.models import Team
    from patron.core.services import workspace_update

    team = Team.objects.create(name="North")
    world.rep.team = team
    world.rep.save(update_fields=["team"])
    mate = make_user("sales", team=team)
    mate_contact = (
        api_for(world.admin)
        .post("/contacts", {"first_name": "Mate's", "owner_id": mate.pk})
        .json()["id"]
    )
    workspace_update(actor=world.admin, restricted_visibility="team")
    api = api_for(world.rep)
    assert {c["id"] for c in api.walk("/contacts")} == {world.ids["mine_contact"], mate_contact}
    assert api.get(f"/contacts/{world.ids['theirs_contact']}").status_code == 404


def test_api_key_with_restricted_role_sees_nothing_in_own_mode(world, api_key_client):
    own_records_only(world.admin)
    api = api_key_client("sales")
    assert api.walk("/contacts") == []
    assert api.walk("/orders") == []
    assert api.get(f"/contacts/{world.ids['mine_contact']}").status_code == 404
