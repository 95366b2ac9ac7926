"""The contact rows an import writes from a ``RowTemplate`` are the rows ``insert_dicts``
(one dict a row, every value adapted per row) wrote: same stored values, both databases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from patron.contacts.models import Contact
from patron.core.fastwrite import RowTemplate, insert_dicts, reserve_ids
from patron.imports import writing

VALUES: list[dict[str, Any]] = [
    {"first_name": "Jane", "last_name": "Doe", "full_name": "Jane Doe", "email": "j@x.org"},
    {"phone": "+12015550100;ext=7", "birthday": dt.date(1962, 7, 9), "country": "DE"},
    {
        "full_name": "Zoë “Q” O'Brien",
        "external_id": "ext-{side}",
        "job_title": "=cmd",
        "city": "\t",
    },
    {"email": "A@B.C", "lifecycle_stage": "customer", "birthday": dt.date(1, 1, 1)},
    {"last_name": "x" * 120, "region": "Île-de-France", "external_id": None},
    # COPY's text escapes (backslash, \\N, newline, tab) and a birthday near the limits
    {
        "address_line1": "C:\\x\\N \\. |",
        "address_line2": "a\nb",
        "source": "\\N",
        "birthday": dt.date(9999, 12, 31),
        "time_zone": "Europe/Berlin",
    },
]
INVALID: list[dict[str, Any]] = [
    {},
    {"phone": {"value": "12", "reason": "Enter a valid phone number."}},
    {},
    {"birthday": {"value": "31.02.2001", "reason": "Not a date."}, "email": {"value": "x"}},
    {"custom.size": {"value": "[1, 2]", "reason": "ünïcode"}},
    {"x": {"value": '\\"\\\\\\u0001', "reason": "tab\there"}},
]


def _side(values: dict[str, Any], side: str) -> dict[str, Any]:
    ext = values.get("external_id")
    return {**values, "external_id": ext.format(side=side)} if ext else values


@pytest.mark.django_db
def test_template_rows_store_what_insert_dicts_stored(admin_user_p: Any) -> None:
    now = timezone.now()
    owner = admin_user_p.pk
    shared_flags = writing._NO_FLAGS
    old_ids = reserve_ids(Contact, len(VALUES))
    dicts = []
    for pk, values, invalid in zip(old_ids, VALUES, INVALID, strict=True):
        row = dict(writing._CONTACT_DEFAULTS)
        row.update(_side(values, "a"))
        row.update(
            id=pk,
            owner_id=owner,
            invalid_fields=invalid or shared_flags,
            search_text=f"s{pk}",
            email_match_key=f"k{pk}",
            name_key=f"n{pk}",
            created_at=now,
            updated_at=now,
        )
        dicts.append(row)
    insert_dicts(Contact, dicts, writing.CONTACT_COLUMNS)
    new_ids = reserve_ids(Contact, len(VALUES))
    template = RowTemplate(
        Contact,
        writing.CONTACT_COLUMNS,
        {
            **writing._CONTACT_DEFAULTS,
            "id": None,
            "owner_id": owner,
            "created_at": now,
            "updated_at": now,
        },
        writing._CONTACT_VARYING,
    )
    rows = []
    for pk, values, invalid in zip(new_ids, VALUES, INVALID, strict=True):
        row = template.new()
        for name, value in _side(values, "b").items():
            row[template.slot[name]] = value
        row[template.slot["id"]] = pk
        row[template.slot["invalid_fields"]] = invalid or shared_flags
        row[template.slot["search_text"]] = f"s{pk - new_ids[0] + old_ids[0]}"
        row[template.slot["email_match_key"]] = f"k{pk - new_ids[0] + old_ids[0]}"
        row[template.slot["name_key"]] = f"n{pk - new_ids[0] + old_ids[0]}"
        rows.append(template.finish(row))
    # PostgreSQL: the template's rows go by binary COPY (insert_dicts' by text COPY)
    assert (template._binary is not None) == (connection.vendor == "postgresql")
    template.insert(rows)

    def stored(ids: list[int]) -> list[dict[str, Any]]:
        out = []
        for r in Contact.objects.filter(pk__in=ids).order_by("pk").values():
            r.pop("id")
            external = r.pop("external_id")  # unique: "ext-a" in one set, "ext-b" in the other
            r["external_id"] = None if external is None else external[:-1]
            out.append(r)
        return out

    old, new = stored(old_ids), stored(new_ids)
    assert len(old) == len(VALUES)
    assert new == old
    assert old[1]["birthday"] == dt.date(1962, 7, 9) and old[3]["invalid_fields"] == INVALID[3]
    assert {r["created_at"] for r in new} == {now}


@pytest.mark.django_db
def test_template_memberships_store_what_insert_dicts_stored(admin_user_p: Any) -> None:
    from patron.contacts.models import Company, ContactCompany

    now = timezone.now()
    company = Company.objects.create(name="Acme")
    a, b = (Contact.objects.create(first_name=n) for n in ("A", "B"))
    insert_dicts(
        ContactCompany,
        [{"contact_id": a.pk, "company_id": company.pk, "created_at": now}],
        ("contact", "company", "created_at"),
    )
    member = RowTemplate(
        ContactCompany,
        ("contact", "company", "created_at"),
        {"contact_id": None, "company_id": None, "created_at": now},
        ("contact_id", "company_id"),
    )
    row = member.new()
    row[member.slot["contact_id"]], row[member.slot["company_id"]] = b.pk, company.pk
    member.insert([member.finish(row)])
    got = {
        r.pop("contact_id"): r
        for r in ContactCompany.objects.filter(company=company).values()
        if r.pop("id")
    }
    assert got[a.pk] == got[b.pk] == {"company_id": company.pk, "created_at": now, **_rest(got)}


def _rest(got: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Columns other than company and time (defaults), as stored for the first row."""
    first = next(iter(got.values()))
    return {k: v for k, v in first.items() if k not in ("company_id", "created_at")}
