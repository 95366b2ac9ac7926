"""The contacts table keeps the indexes its queries use and none of the redundant ones."""

from __future__ import annotations

import pytest
from django.db import connection

from patron.contacts.models import Contact, ContactIdentity

pytestmark = pytest.mark.django_db


def _indexes() -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, Contact._meta.db_table)
    return {name: info for name, info in found.items() if info["index"]}


def test_no_index_repeats_another_or_serves_only_case_sensitive_like() -> None:
    indexes = _indexes()
    assert not [name for name in indexes if name.endswith("_like")]
    # Only one index on the owner: (owner_id, id) serves owner filters and SET NULL.
    assert [i["columns"] for i in indexes.values() if i["columns"][0] == "owner_id"] == [
        ["owner_id", "id"]
    ]
    # No index is a leading prefix of another non-unique one.
    plain = [
        tuple(i["columns"])
        for i in indexes.values()
        if not i["unique"] and None not in i["columns"]
    ]
    for cols in plain:
        longer = [o for o in plain if len(o) > len(cols) and o[: len(cols)] == cols]
        assert not longer, (cols, longer)


def test_equality_lookups_keep_their_b_trees() -> None:
    single = {i["columns"][0] for i in _indexes().values() if len(i["columns"]) == 1}
    assert {"phone", "email_match_key", "name_key"} <= single


def test_identity_contact_id_is_served_by_the_unique_constraint_only() -> None:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, ContactIdentity._meta.db_table)
    leading = sorted(
        i["columns"]
        for i in found.values()
        if (i["index"] or i["unique"])
        and not i["foreign_key"]
        and i["columns"][:1] == ["contact_id"]
    )
    assert leading == [["contact_id", "kind", "value"]]


def test_further_emails_are_indexed_by_match_key_not_lower_value() -> None:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, ContactIdentity._meta.db_table)
    names = {name for name, info in found.items() if info["index"]}
    assert "identity_email_key_idx" in names
    assert "identity_email_lower_idx" not in names
