"""Scoped reads: search, filters and keyset pagination."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from patron.accounts.services import roles_ensure_defaults, user_create
from patron.contacts.selectors import (
    ContactFilters,
    contact_get,
    contacts_filter,
    contacts_visible_to,
    keyset,
)
from patron.contacts.services import contact_create
from patron.contacts.timeline import contact_timeline
from patron.core.permissions import PermissionDenied
from patron.core.services import workspace_update

pytestmark = pytest.mark.django_db


def _user(username: str, role: str, **kw):
    roles_ensure_defaults()
    return user_create(actor=None, username=username, password=None, role_key=role, **kw)


@pytest.fixture
def admin():
    return _user("boss", "admin", is_superuser=True)


def test_search_by_part_of_name_email_or_phone(admin):
    jane = contact_create(
        actor=admin,
        data={"first_name": "Jane", "last_name": "Kowalski", "email": "jk@example.org",
              "phone": "+1 (415) 555-0134"},
    )  # fmt: skip
    contact_create(actor=admin, data={"first_name": "Joe", "last_name": "Smith"})

    def found(q: str) -> list[int]:
        return list(contacts_filter(admin, ContactFilters(q=q)).values_list("pk", flat=True))

    assert found("kowal") == [jane.pk]
    assert found("JANE kow") == [jane.pk]
    assert found("jk@exa") == [jane.pk]
    assert found("555-0134") == [jane.pk]
    assert found("415 555") == [jane.pk]
    assert found("zzz") == []


def test_keyset_pagination_walks_every_row_once(admin):
    for i in range(23):
        contact_create(actor=admin, data={"first_name": f"P{i % 5}", "last_name": f"L{i % 4}"})
    for sort in ("name", "created", "email"):
        for descending in (False, True):
            seen: list[int] = []
            cursor = None
            while True:
                rows, cursor = keyset(
                    contacts_visible_to(admin), sort=sort, descending=descending,
                    after=cursor, size=5,
                )  # fmt: skip
                seen.extend(r.pk for r in rows)
                if cursor is None:
                    break
            assert len(seen) == 23 and len(set(seen)) == 23, (sort, descending)


def test_bad_cursor_is_a_validation_error(admin):
    with pytest.raises(ValidationError):
        keyset(contacts_visible_to(admin), sort="name", descending=False, after=["x"], size=5)


def test_out_of_scope_is_not_found_and_no_permission_is_denied(admin):
    rep = _user("rep", "sales")
    other = _user("other", "sales")
    workspace_update(actor=admin, restricted_visibility="own")
    c = contact_create(actor=other, data={"first_name": "Hidden"})
    with pytest.raises(Http404):
        contact_get(rep, c.pk)
    with pytest.raises(Http404):
        contact_timeline(rep, c.pk)
    with pytest.raises(Http404):
        contact_get(admin, "1 OR 1=1")
    nobody = _user("nobody", "readonly")
    nobody.role.permissions = []
    nobody.role.save()
    nobody = type(nobody).objects.get(pk=nobody.pk)
    with pytest.raises(PermissionDenied):
        contacts_visible_to(nobody)


def test_timeline_merges_sources_newest_first(admin):
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from patron.commerce.models import Order
    from patron.contacts.services import note_create
    from patron.events.models import Event
    from patron.support.models import SurveyResponse, Ticket

    c = contact_create(actor=admin, data={"first_name": "Tim"})
    now = timezone.now()
    Event.objects.create(
        contact=c, type="track", event="Signed Up", timestamp=now - dt.timedelta(days=3),
        received_at=now,
    )  # fmt: skip
    Order.objects.create(contact=c, total=Decimal("12.50"), placed_at=now - dt.timedelta(days=2))
    Ticket.objects.create(contact=c, subject="Help", opened_at=now - dt.timedelta(days=1))
    SurveyResponse.objects.create(
        contact=c, kind="nps", score=9, responded_at=now - dt.timedelta(hours=1)
    )
    note_create(actor=admin, contact=c, body="Called")
    items = contact_timeline(admin, c.pk)
    kinds = [i.kind for i in items]
    assert {"event", "order", "ticket", "survey", "note", "activity"} <= set(kinds)
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)
    # a role without order/ticket/event permissions sees none of those
    ro = _user("ro", "readonly")
    assert {i.kind for i in contact_timeline(ro, c.pk)} <= {"activity", "note"}


def test_timeline_hides_activity_and_masks_values_by_permission(admin):
    from decimal import Decimal

    from patron.commerce.services import order_create
    from patron.contacts.services import contact_update

    c = contact_create(actor=admin, data={"first_name": "Mia", "phone": "+14155550199"})
    contact_update(actor=admin, contact=c, data={"birthday": "1990-02-03"})
    order_create(
        actor=admin,
        data={
            "contact_id": c.pk,
            "currency": "EUR",
            "lines": [{"name": "Mug", "unit_price": Decimal("9.50")}],
        },
    )
    # the admin sees the order activity and the real values
    items = contact_timeline(admin, c.pk)
    verbs = [i.meta.get("verb") for i in items if i.kind == "activity"]
    assert "order.created" in verbs
    # a marketer (no sensitive-field permission) sees the values masked
    marketer = _user("mk", "marketing")
    after = [
        i.meta["changes"]["after"]
        for i in contact_timeline(marketer, c.pk)
        if i.meta.get("verb") in ("contact.created", "contact.updated")
    ]
    assert all(a.get("phone", "•••") == "•••" for a in after)
    assert any(a.get("birthday") == "•••" for a in after)
    # a read-only user may not see orders: nor their activity
    ro = _user("ro2", "readonly")
    ro_verbs = [i.meta.get("verb") for i in contact_timeline(ro, c.pk) if i.kind == "activity"]
    assert "order.created" not in ro_verbs
    assert "contact.created" in ro_verbs
