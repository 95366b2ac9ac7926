"""The orders JSON API: CRUD, filters, pages, errors and object-level access."""

from __future__ import annotations

import pytest

from patron.commerce.models import Order
from patron.core.tests.api_client import (
    Api,
    Case,
    assert_refused,
    db_state,
    own_records_only,
    restricted_power_user,
    send_case,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_key_client) -> Api:
    return api_key_client("admin")


def test_order_crud(api, world):
    contact = world.ids["mine_contact"]
    response = api.post(
        "/orders",
        {
            "contact_id": contact,
            "external_id": "shop-1001",
            "currency": "gbp",
            "placed_at": "2025-03-01T12:30:00+01:00",
            "shipping": 4.5,
            "lines": [
                {"sku": "BK-1", "name": "Book", "quantity": 2, "unit_price": "12.50"},
                {"name": "Bookmark", "unit_price": "0.99", "category": "Gifts"},
            ],
        },
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["contact_id"] == contact
    assert order["currency"] == "GBP"
    assert (order["subtotal"], order["shipping"], order["total"]) == ("25.99", "4.50", "30.49")
    assert order["placed_at"].startswith("2025-03-01T11:30:00")
    assert [(line["name"], line["total"]) for line in order["lines"]] == [
        ("Book", "25.00"),
        ("Bookmark", "0.99"),
    ]
    assert order["lines"][0]["product_id"] is not None
    pk = order["id"]

    assert api.get(f"/orders/{pk}").json() == order

    response = api.patch(f"/orders/{pk}", {"refunded_amount": "5.00"})
    assert response.status_code == 200
    assert response.json()["status"] == "partially_refunded"
    assert response.json()["total"] == "30.49"

    assert api.delete(f"/orders/{pk}").status_code == 204
    assert not Order.objects.filter(pk=pk).exists()
    assert api.get(f"/orders/{pk}").status_code == 404


def test_filters_and_pages(api, world):
    contact = world.ids["mine_contact"]
    made = [
        api.post("/orders", {"contact_id": contact, "total": str(i + 1),
                             "status": "pending" if i % 3 == 0 else "completed"}).json()["id"]
        for i in range(13)
    ]  # fmt: skip
    everything = [o["id"] for o in api.walk("/orders", limit=4)]
    assert len(everything) == len(set(everything)) == 15
    assert everything == sorted(everything, reverse=True)
    mine = [o["id"] for o in api.walk("/orders", contact_id=contact, limit=5)]
    assert set(mine) == {*made, world.ids["mine_order"]}
    pending = {o["id"] for o in api.walk("/orders", status="pending")}
    assert pending == set(made[::3])
    api.patch(f"/orders/{made[1]}", {"external_id": "ext-9"})
    assert [o["id"] for o in api.walk("/orders", external_id="ext-9")] == [made[1]]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "contact_id"),
        ({"contact_id": "{c}", "total": "abc"}, "total"),
        ({"contact_id": "{c}", "total": [1]}, "total"),
        ({"contact_id": "{c}", "lines": [{"name": "A", "unit_price": "5"}], "total": "6"}, "total"),
        ({"contact_id": "{c}", "currency": "DOLLARS"}, "currency"),
        ({"contact_id": "{c}", "status": "lost"}, "status"),
        ({"contact_id": "{c}", "placed_at": 1700000000}, "placed_at"),
        ({"contact_id": "{c}", "lines": [{"name": "A", "role": "admin"}]}, "lines.0.role"),
        ({"contact_id": "{c}", "lines": [{"quantity": -1, "name": "A"}]}, "lines.0.quantity"),
        ({"contact_id": "{c}", "is_staff": True}, "is_staff"),
        ({"contact_id": "{c}", "id": 7}, "id"),
        ({"contact_id": True}, "contact_id"),
        ({"contact_id": "{c}", "external_id": "x" * 121}, "external_id"),
    ],
)
def test_invalid_orders_are_422_and_change_nothing(api, world, payload, field):
    payload = {k: world.ids["mine_contact"] if v == "{c}" else v for k, v in payload.items()}
    before = db_state()
    response = api.post("/orders", payload)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["detail"] == "Validation failed."
    assert field in body["errors"], body
    assert db_state() == before


def test_duplicate_external_id_is_422(api, world):
    contact = world.ids["mine_contact"]
    assert api.post("/orders", {"contact_id": contact, "external_id": "o-1"}).status_code == 201
    before = db_state()
    response = api.post("/orders", {"contact_id": contact, "external_id": "o-1"})
    assert response.status_code == 422
    assert response.json()["errors"] == {
        "external_id": ["An order with this external id already exists."]
    }
    response = api.patch(f"/orders/{world.ids['mine_order']}", {"external_id": "o-1"})
    assert response.status_code == 422
    assert db_state() == before


def test_patch_refuses_amounts_and_lines(api, world):
    before = db_state()
    response = api.patch(f"/orders/{world.ids['mine_order']}", {"total": "1", "lines": []})
    assert response.status_code == 422
    assert set(response.json()["errors"]) == {"total", "lines"}
    assert db_state() == before


# --- Object-level access --------------------------------------------------------------

CASES: list[Case] = [
    ("get", "/orders/{order}", None),
    ("patch", "/orders/{order}", {"status": "cancelled"}),
    ("delete", "/orders/{order}", None),
    ("get", "/orders?contact_id={contact}", None),
    ("post", "/orders", {"contact_id": "{contact}", "total": "1"}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_sales_rep_gets_404_for_another_reps_orders(world, api_for, case):
    own_records_only(world.admin)
    api = api_for(world.rep)
    assert_refused(api, world, case, 404)
    control = send_case(api, world, case, "mine")
    assert control.status_code in (200, 201, 204), control.content


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_scope_alone_refuses_orders(world, api_for, make_user, case):
    own_records_only(world.admin)
    api = api_for(restricted_power_user(world, make_user))
    assert_refused(api, world, case, 404)


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]} {c[1]}")
def test_roles_without_order_permissions_get_403(world, api_for, make_user, case):
    # Read-only cannot even see orders; support sees them but cannot change them.
    assert_refused(api_for(make_user("readonly", password=None)), world, case, 403)
    if case[0] != "get":
        assert_refused(api_for(make_user("support", password=None)), world, case, 403)


def test_list_leaves_out_other_reps_orders(world, api_for):
    own_records_only(world.admin)
    assert [o["id"] for o in api_for(world.rep).walk("/orders")] == [world.ids["mine_order"]]
