"""Helpers for JSON API tests: a small client, a snapshot of every table, a shared world.

Import the fixtures into an app's ``tests/conftest.py``::

    from patron.core.tests.api_client import api_for, api_key_client, world  # noqa: F401
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.test import Client

from patron.accounts.models import User


class Api:
    """JSON requests against /api/v1/ with one identity (a Bearer key or a session)."""

    prefix = "/api/v1"

    def __init__(self, client: Client) -> None:
        self.client = client

    def _send(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        fn = getattr(self.client, method)
        url = self.prefix + path
        if method in ("get", "delete") and body is None:
            return fn(url, params or None)
        return fn(url, data=json.dumps(body), content_type="application/json")

    def get(self, path: str, **params: Any) -> Any:
        return self._send("get", path, **params)

    def post(self, path: str, body: Any) -> Any:
        return self._send("post", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)

    def put(self, path: str, body: Any) -> Any:
        return self._send("put", path, body)

    def delete(self, path: str) -> Any:
        return self._send("delete", path)

    def walk(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paginated list, following next_cursor to the end."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(10_000):
            query = {**params, **({"cursor": cursor} if cursor else {})}
            response = self.get(path, **query)
            assert response.status_code == 200, response.content
            body = response.json()
            assert set(body) == {"items", "next_cursor"}
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if cursor is None:
                return items
        raise AssertionError("pagination did not end")


def db_state() -> dict[str, list[dict[str, Any]]]:
    """Every row of every Patron table (plus users), to prove a refused request changed nothing."""
    state: dict[str, list[dict[str, Any]]] = {}
    for model in apps.get_models():
        label = model._meta.label
        if not (label.startswith(("contacts.", "commerce.", "support.", "core.", "accounts."))):
            continue
        if label == "accounts.ApiKey":  # last_used_at moves on every authenticated request
            rows = list(model.objects.order_by("pk").values("pk", "revoked_at", "key_hash"))
        elif label == "accounts.User":  # last_login moves with force_login
            rows = list(model.objects.order_by("pk").values("pk", "role_id", "is_active"))
        else:
            rows = list(model.objects.order_by("pk").values())
        state[label] = rows
    return state


@pytest.fixture
def api_for(client_for: Callable[[User], Client]) -> Callable[[User], Api]:
    """``api_for(user)`` -> an Api using the user's browser session."""
    return lambda user: Api(client_for(user))


@pytest.fixture
def api_key_client(make_api_key: Callable[..., str]) -> Callable[..., Api]:
    """``api_key_client(role_key)`` -> an Api sending ``Authorization: Bearer <new key>``."""

    def make(role_key: str = "admin", raw: str | None = None) -> Api:
        raw = raw or make_api_key(role_key)
        return Api(Client(headers={"Authorization": f"Bearer {raw}"}))

    return make


@dataclass
class World:
    """Two sales reps, each with a contact, company, note, order, ticket and survey answer."""

    admin: User
    rep: User
    other: User
    ids: dict[str, int]


@pytest.fixture
def world(make_user: Callable[..., User]) -> World:
    from patron.commerce.services import order_create
    from patron.contacts.services import company_create, contact_create, note_create
    from patron.support.services import survey_response_create, ticket_create

    admin = make_user("admin", username="world_admin", password=None, is_superuser=True)
    rep = make_user("sales", username="world_rep", password=None, first_name="Rita")
    other = make_user("sales", username="world_other", password=None, first_name="Otto")
    ids: dict[str, int] = {}
    for who, owner in (("mine", rep), ("theirs", other)):
        contact = contact_create(
            actor=admin,
            data={
                "first_name": f"C-{who}",
                "email": f"{who}@example.com",
                "phone": "+14155550100",
                "owner_id": owner.pk,
            },
        )
        company = company_create(actor=admin, data={"name": f"Co-{who}", "owner_id": owner.pk})
        note = note_create(actor=admin, body=f"note {who}", contact=contact)
        company_note = note_create(actor=admin, body=f"company note {who}", company=company)
        order = order_create(
            actor=admin,
            data={"contact_id": contact.pk, "lines": [{"name": "Tea", "unit_price": "4.50"}]},
        )
        ticket = ticket_create(actor=admin, data={"contact_id": contact.pk, "subject": "Help"})
        survey = survey_response_create(
            actor=admin, data={"contact_id": contact.pk, "kind": "nps", "score": 9}
        )
        ids.update(
            {
                f"{who}_contact": contact.pk,
                f"{who}_company": company.pk,
                f"{who}_note": note.pk,
                f"{who}_company_note": company_note.pk,
                f"{who}_order": order.pk,
                f"{who}_ticket": ticket.pk,
                f"{who}_survey": survey.pk,
            }
        )
    return World(admin=admin, rep=rep, other=other, ids=ids)


def own_records_only(admin: User) -> None:
    from patron.core.services import workspace_update

    workspace_update(actor=admin, restricted_visibility="own")


# --- Object-level access: one request, refused, and nothing changed -------------------

#: A request to try: (method, path, body). ``{contact}``-style placeholders name records of
#: the world; ``{mine_contact}`` always names the acting rep's own one.
Case = tuple[str, str, Any]


def _fill(value: Any, names: dict[str, int]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return names[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def send_case(api: Api, world: World, case: Case, who: str) -> Any:
    """Send ``case`` aimed at ``who``'s records ("mine" or "theirs")."""
    method, path, body = case
    ids = world.ids
    names = {key.removeprefix(f"{who}_"): pk for key, pk in ids.items() if key.startswith(who)}
    names.update({key: pk for key, pk in world.ids.items() if key.startswith("mine_")})
    url = path.format(**names)
    if method in ("get", "delete"):
        return getattr(api, method)(url)
    return getattr(api, method)(url, _fill(body, names))


def assert_refused(api: Api, world: World, case: Case, status: int) -> None:
    """The request on the other rep's record is refused with ``status`` and changes nothing."""
    before = db_state()
    response = send_case(api, world, case, "theirs")
    assert response.status_code == status, (case, response.status_code, response.content)
    assert "detail" in response.json()
    assert db_state() == before, f"{case} changed the database"


def restricted_power_user(world: World, make_user: Callable[..., User]) -> User:
    """A rep whose role has every permission but is restricted to its own records.

    Refusals for this user can only come from object scope, never from a missing permission;
    the world's "mine" records are moved to them.
    """
    from patron.accounts.models import Role
    from patron.commerce.models import Order
    from patron.contacts.models import Company, Contact
    from patron.core.permissions import ALL_PERMISSIONS

    Role.objects.get_or_create(
        key="rep_all",
        defaults={"name": "Rep (all)", "permissions": sorted(ALL_PERMISSIONS), "restricted": True},
    )
    user = make_user("rep_all", username="world_rep_all", password=None)
    Contact.objects.filter(pk=world.ids["mine_contact"]).update(owner=user)
    Company.objects.filter(pk=world.ids["mine_company"]).update(owner=user)
    assert Order.objects.filter(contact_id=world.ids["mine_contact"]).exists()
    return user
