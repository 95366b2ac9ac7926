"""Generated people, shared part: name and email helpers, the records, the factory's state."""

from __future__ import annotations

import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from faker import Faker

from patron.core.demo import catalog as cat
from patron.core.demo.catalog import City, Country


def weighted(rng: random.Random, pairs: Any) -> Any:
    """Pick the first item of a (value, weight) pair by weight."""
    values = [p[0] for p in pairs]
    weights = [p[-1] for p in pairs]
    return rng.choices(values, weights)[0]


_GERMAN_MAP: dict[str, str | int | None] = {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}
_GERMAN_CAPS: dict[str, str | int | None] = {"Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
_GERMAN = str.maketrans(_GERMAN_MAP)
_GERMAN_UPPER = str.maketrans(_GERMAN_CAPS)


def ascii_fold(text: str, *, german: bool = False) -> str:
    if german:
        text = text.translate(_GERMAN).translate(_GERMAN_UPPER)
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.encode("ascii", "ignore").decode()


def _email_word(text: str, *, german: bool) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text, german=german).lower())


def email_key(email: str) -> str:
    """Uniqueness key of generated addresses: case, dots and +tags ignored everywhere.

    Stricter than the hygiene match key on purpose: two *different* generated people
    never get addresses that differ only in dots or tags (no accidental duplicates).
    """
    local, _, domain = email.lower().rpartition("@")
    local = local.split("+", 1)[0].replace(".", "")
    domain = "gmail.example" if domain == "googlemail.example" else domain
    return f"{local}@{domain}"


@dataclass
class CompanySpec:
    name: str
    domain: str
    industry: str
    size: str
    employees: int
    annual_revenue: Decimal
    phone: str
    country: Country
    city: City
    address_line1: str
    postal_code: str
    weight: float
    tier: str
    obj: Any = None  # the saved Company, once inserted
    created_at: dt.datetime | None = None


@dataclass
class Person:
    country: Country
    city: City | None
    first_name: str
    last_name: str
    middle_name: str = ""
    prefix: str = ""
    suffix: str = ""
    email: str = ""  # normalised
    phone: str = ""  # E.164
    phone_raw: str = ""  # as typed
    phone_is_mobile: bool = False
    address_line1: str = ""
    address_line2: str = ""
    postal_code: str = ""
    language: str = ""
    time_zone: str = ""
    birthday: dt.date | None = None
    job_title: str = ""
    company: CompanySpec | None = None
    company_role: str = ""
    personal_email: str = ""
    source: str = ""
    created_at: dt.datetime = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    original: Person | None = None  # set on planted duplicates
    variations: list[str] = field(default_factory=list)
    contact_id: int | None = None

    @property
    def pk(self) -> int:
        """The saved contact's id (only once the contact row exists)."""
        assert self.contact_id is not None
        return self.contact_id

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.middle_name, self.last_name) if p)


class PeopleBase:
    """The factory's random sources and what it has already handed out (unique values)."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.fakers: dict[str, Faker] = {}
        for i, country in enumerate(cat.COUNTRIES):
            fk = Faker(country.locale)
            fk.seed_instance(seed * 31 + i)
            self.fakers[country.code] = fk
        self.email_keys: set[str] = set()
        self.phones: set[str] = set()
        self.domains: set[str] = set()
        self._country_weights = [c.weight for c in cat.COUNTRIES]
