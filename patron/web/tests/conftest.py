"""Fixtures of the web UI tests: users per role, logged-in clients, contacts via services."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from patron.accounts.models import Role, User
from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.models import Company, Contact, ContactIdentity, Note, Tag
from patron.contacts.services import company_create, contact_create
from patron.core.models import Activity
from patron.core.services import workspace_update

PASSWORD = "a-long-test-password-123"


@pytest.fixture
def user_factory(db: None) -> Callable[..., User]:
    roles_ensure_defaults()
    counter = itertools.count(1)

    def make(role: str = "sales", **fields: Any) -> User:
        if role == "nobody":  # a role without any permission
            Role.objects.get_or_create(key="nobody", defaults={"name": "Nobody"})
        username = fields.pop("username", None) or f"web-{role}-{next(counter)}"
        return user_create(
            actor=None, username=username, password=PASSWORD, role_key=role, **fields
        )

    return make


@pytest.fixture
def admin(user_factory: Callable[..., User]) -> User:
    return user_factory("admin", username="web-admin", is_superuser=True, first_name="Ada")


@pytest.fixture
def login() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def make_contact(admin: User) -> Callable[..., Contact]:
    def make(actor: User | None = None, **data: Any) -> Contact:
        return contact_create(actor=actor or admin, data=data)

    return make


@pytest.fixture
def make_company(admin: User) -> Callable[..., Company]:
    def make(actor: User | None = None, **data: Any) -> Company:
        return company_create(actor=actor or admin, data=data)

    return make


@pytest.fixture
def restrict_own(admin: User) -> Callable[[], None]:
    """Restricted roles (Sales) see only the records they own."""

    def apply() -> None:
        workspace_update(actor=admin, restricted_visibility="own")

    return apply


def db_state() -> tuple[Any, ...]:
    """A picture of every table a web write could touch."""
    return (
        list(Contact.objects.order_by("pk").values()),
        list(Company.objects.order_by("pk").values()),
        list(Contact.tags.through.objects.order_by("pk").values()),
        list(ContactIdentity.objects.order_by("pk").values()),
        list(Note.objects.order_by("pk").values()),
        list(Tag.objects.order_by("pk").values()),
        Activity.objects.count(),
    )
