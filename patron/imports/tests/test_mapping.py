"""Column mapping: synonyms in several languages, custom fields, saved mappings."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.imports.mapping import auto_map, mapping_clean


def test_headers_in_several_languages_find_their_fields() -> None:
    headers = [
        "E-mail", "Mobile", "Vorname", "Nachname", "Company name", "Prénom", "Teléfono",
        "PLZ", "Geburtsdatum", "Job Title", "Ville", "Land", "Kundennummer", "Tags", "Whatever",
    ]  # fmt: skip
    got = auto_map(headers)
    assert got["E-mail"] == "email"
    assert got["Mobile"] == "phone"
    assert got["Vorname"] == "first_name"
    assert got["Nachname"] == "last_name"
    assert got["Company name"] == "company"
    assert got["Prénom"] == ""  # first_name is taken by Vorname: each field once
    assert got["Teléfono"] == ""  # phone is taken by Mobile
    assert got["PLZ"] == "postal_code"
    assert got["Geburtsdatum"] == "birthday"
    assert got["Job Title"] == "job_title"
    assert got["Ville"] == "city"
    assert got["Land"] == "country"
    assert got["Kundennummer"] == "external_id"
    assert got["Tags"] == "tags"
    assert got["Whatever"] == ""


@pytest.mark.parametrize(
    ("header", "target"),
    [("Prénom", "first_name"), ("Nom", "last_name"), ("Teléfono", "phone"),
     ("Correo electrónico", "email"), ("Apellidos", "last_name"), ("e_mail", "email"),
     ("Emaill", "email")],
)  # fmt: skip
def test_single_synonyms_and_typos(header: str, target: str) -> None:
    assert auto_map([header])[header] == target


def test_custom_fields_and_saved_mappings_come_first() -> None:
    got = auto_map(
        ["Shoe size", "Mail"],
        custom_fields={"shoe": "Shoe size"},
        saved={"Mail": "custom:shoe"},
    )
    assert got == {"Mail": "custom:shoe", "Shoe size": ""}
    assert auto_map(["Shoe size"], custom_fields={"shoe": "Shoe size"}) == {
        "Shoe size": "custom:shoe"
    }


@pytest.mark.parametrize(
    "bad",
    [{"Email": "password"}, {"Email": "owner__is_staff"}, {"Nope": "email"},
     {"Email": "email", "Mail": "email"}, {"Email": "custom:unknown"}],
)  # fmt: skip
def test_user_mappings_are_checked_against_an_allowlist(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        mapping_clean(bad, ["Email", "Mail"], {"known"})
