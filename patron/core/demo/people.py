"""Generated people and companies, and realistic duplicates of people.

Everything goes through the entry-point normalisers (``patron.contacts.normalize``), as
real input would: raw phones in mixed national formats become E.164, emails get a
lower-cased domain. Duplicates are made from the *raw* input a second entry point
would have seen (a nickname, a typo, swapped name order, another phone format...).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import phonenumbers
from faker import Faker

from patron.contacts.normalize import (
    clean_text,
    email_match_key,
    normalize_email,
    normalize_phone,
)
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


_QWERTY = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "y": "tu",
    "z": "x",
}
_ABBREVIATIONS = (
    (" Street", " St"),
    (" Road", " Rd"),
    (" Avenue", " Ave"),
    (" Lane", " Ln"),
    ("straße", "str."),
    ("Straße", "Str."),
    ("rue ", "r. "),
    ("Calle ", "C/ "),
    ("straat", "str"),
)


class PeopleFactory:
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

    # --- places and numbers -----------------------------------------------------------

    def country(self) -> Country:
        return self.rng.choices(cat.COUNTRIES, self._country_weights)[0]

    def city(self, country: Country) -> City:
        # Bigger cities first in the catalogue: weight falls with rank.
        weights = [1 / (i + 1) ** 0.8 for i in range(len(country.cities))]
        return self.rng.choices(country.cities, weights)[0]

    def postcode(self, country: Country, city: City) -> str:
        r = self.rng
        prefix = r.choice(city.postcode_prefixes)
        if country.code == "US":
            return str(self.fakers["US"].postcode_in_state(prefix))
        if country.code == "GB":
            letters = "ABDEFGHJLNPQRSTUWXYZ"
            return f"{prefix} {r.randint(1, 9)}{r.choice(letters)}{r.choice(letters)}"
        if country.code == "NL":
            letters = r.choice("ABCEGHJKLMNPRSTVWXZ") + r.choice("ABEHKLMNPRSTVWXZ")
            return f"{prefix}{r.randint(10, 99)} {letters}"
        return f"{prefix}{r.randint(0, 999):03d}"

    def street(self, country: Country) -> tuple[str, str]:
        fk = self.fakers[country.code]
        line1 = clean_text(fk.street_address())
        line2 = ""
        if country.code == "US" and self.rng.random() < 0.15:
            line2 = str(fk.secondary_address())
        elif country.code == "GB" and self.rng.random() < 0.1:
            line2 = f"Flat {self.rng.randint(1, 24)}"
        return line1[:200], line2

    def phone_number(self, country: Country, city: City, *, mobile: bool) -> str:
        """A new, valid, not yet used E.164 number of a city (landline) or the country."""
        r = self.rng
        cc = str(phonenumbers.country_code_for_region(country.code))
        for _ in range(60):
            if mobile and country.mobile_prefixes:
                start = r.choice(country.mobile_prefixes)
            else:
                start = r.choice(city.area_codes)
            length = country.phone_length
            if country.code == "DE" and not (mobile and start.startswith("15")):
                length = r.choice((10, 11))
            rest = length - len(start)
            nsn = (
                start
                + str(r.randint(2, 9))
                + "".join(str(r.randint(0, 9)) for _ in range(rest - 1))
            )
            e164 = f"+{cc}{nsn}"
            if country.code == "US" and nsn[3:6] == "555":
                continue
            if e164 in self.phones:
                continue
            number = phonenumbers.parse(e164)
            # Valid, and of this country (not e.g. a Guernsey or Jersey range of +44).
            if (
                phonenumbers.is_valid_number(number)
                and phonenumbers.region_code_for_number(number) == country.code
            ):
                self.phones.add(e164)
                return e164
        raise RuntimeError("Could not generate a phone number.")  # pragma: no cover

    def phone_formats(self, e164: str, country: Country) -> list[str]:
        """Ways people type the same number, all normalising back to ``e164``."""
        num = phonenumbers.parse(e164)
        national = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
        intl = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        digits = re.sub(r"\D", "", national)
        out = [national, intl, e164, digits]
        cc = intl.split(" ", 1)[0]
        rest = intl.split(" ", 1)[1] if " " in intl else ""
        if country.code == "US":
            area, exch, line = digits[-10:-7], digits[-7:-4], digits[-4:]
            out += [f"{area}-{exch}-{line}", f"{area}.{exch}.{line}", f"1-{area}-{exch}-{line}"]
        else:
            out.append("00" + intl[1:])
            if country.code in ("GB", "DE", "NL") and " " in national:
                trunk, after = national.split(" ", 1)
                out += [f"({trunk}) {after}", f"{cc} (0){rest}"]
                if country.code == "DE":
                    out.append(f"{trunk}/{after.replace(' ', '')}")
                if country.code == "NL":
                    out.append(f"{trunk}-{after.replace(' ', '')}")
            if country.code == "FR":
                out.append(national.replace(" ", "."))
        seen: list[str] = []
        for v in out:
            if v not in seen and normalize_phone(v, country.code) == e164:
                seen.append(v)
        return seen

    # --- emails -------------------------------------------------------------------------

    def _unique_email(self, local: str, domain: str) -> str:
        candidate = f"{local}@{domain}"
        n = 0
        while email_key(candidate) in self.email_keys:
            n += 1
            candidate = f"{local}{self.rng.randint(2, 99) if n < 5 else n}@{domain}"
        self.email_keys.add(email_key(candidate))
        return candidate

    def personal_email(self, p: Person, *, domain: str | None = None) -> str:
        r = self.rng
        de = p.country.code == "DE"
        first = _email_word(p.first_name, german=de) or "x"
        last = _email_word(p.last_name, german=de) or "x"
        yy = (p.birthday.year if p.birthday else r.randint(1960, 2004)) % 100
        pattern = weighted(
            r,
            (
                ("{f}.{l}", 30),
                ("{f}{l}", 14),
                ("{f}.{l}{nn}", 12),
                ("{f}{yy:02d}", 8),
                ("{fi}{l}", 10),
                ("{fi}.{l}", 8),
                ("{f}_{l}", 5),
                ("{l}.{f}", 5),
                ("{f}-{l}", 3),
                ("{f}.{l}{yyyy}", 5),
            ),
        )
        local = pattern.format(
            f=first,
            l=last,
            fi=first[0],
            nn=r.randint(1, 99),
            yy=yy,
            yyyy=1900 + yy if yy > 25 else 2000 + yy,
        )
        return self._unique_email(local, domain or r.choice(p.country.mail_domains))

    def work_email(self, p: Person, company: CompanySpec) -> str:
        de = p.country.code == "DE"
        first = _email_word(p.first_name, german=de) or "x"
        last = _email_word(p.last_name, german=de) or "x"
        small = company.employees <= 20
        pattern = weighted(
            self.rng,
            (("{f}.{l}", 55), ("{fi}.{l}", 15), ("{fi}{l}", 12), ("{f}", 10 if small else 0)),
        )
        local = pattern.format(f=first, l=last, fi=first[0])
        return self._unique_email(local, company.domain)

    # --- companies ----------------------------------------------------------------------

    def company(self) -> CompanySpec:
        r = self.rng
        country = self.country()
        city = self.city(country)
        fk = self.fakers[country.code]
        name = clean_text(fk.company())[:200]
        words = [w for w in re.split(r"[^a-z0-9]+", ascii_fold(name).lower()) if w]
        words = [w for w in words if w not in cat.LEGAL_SUFFIXES] or words or ["company"]
        base = "-".join(words[:2])
        domain = f"{base}.example"
        n = 1
        while domain in self.domains:
            n += 1
            domain = f"{base}{n}.example"
        self.domains.add(domain)
        size, lo, hi, _ = weighted(r, [(s, s[3]) for s in cat.COMPANY_SIZES])
        employees = int(min(hi, lo + (hi - lo) * r.random() ** 2))
        revenue = Decimal(employees * r.randint(60, 260)) * 1000
        line1, _ = self.street(country)
        return CompanySpec(
            name=name,
            domain=domain,
            industry=r.choice(cat.INDUSTRIES),
            size=size,
            employees=employees,
            annual_revenue=revenue,
            phone=self.phone_number(country, city, mobile=False),
            country=country,
            city=city,
            address_line1=line1,
            postal_code=self.postcode(country, city),
            weight=1 + employees**0.5,
            tier=weighted(r, (("Strategic", 1), ("Growth", 3), ("Standard", 6))),
        )

    # --- people -------------------------------------------------------------------------

    def person(
        self, created_at: dt.datetime, companies: dict[str, list[CompanySpec]], now: dt.datetime
    ) -> Person:
        r = self.rng
        country = self.country()
        fk = self.fakers[country.code]
        city = self.city(country)
        p = Person(country=country, city=city, first_name="", last_name="")
        p.first_name = clean_text(fk.first_name())[:120]
        p.last_name = clean_text(fk.last_name())[:120]
        if country.code == "US" and r.random() < 0.18 or country.code == "GB" and r.random() < 0.08:
            p.middle_name = clean_text(fk.first_name())[:120]
        roll = r.random()
        if roll < (0.06 if country.code == "DE" else 0.02):
            p.prefix = "Dr."
        if country.code == "US" and r.random() < 0.02:
            p.suffix = r.choice(("Jr.", "Sr.", "III"))
        p.created_at = created_at
        p.source = weighted(r, cat.SOURCES)
        if r.random() < 0.55:
            age_days = r.randint(18 * 365, 75 * 365)
            p.birthday = (now - dt.timedelta(days=age_days)).date()
        p.language = country.language
        if country.code == "NL" and r.random() < 0.12 or country.code == "DE" and r.random() < 0.05:
            p.language = "en"
        elif country.code == "US" and r.random() < 0.06:
            p.language = "es"
        elif city.name == "Barcelona" and r.random() < 0.35:
            p.language = "ca"
        p.time_zone = city.tz if r.random() < 0.9 else ""
        if r.random() < 0.7:
            p.address_line1, p.address_line2 = self.street(country)
            p.postal_code = self.postcode(country, city)
        elif r.random() < 0.15:
            p.city = None
        # B2B: a job at a company, preferably in the same country.
        if r.random() < 0.45 and companies:
            pool = companies.get(country.code) or [c for cs in companies.values() for c in cs]
            company = r.choices(pool, [c.weight for c in pool])[0]
            p.company = company
            p.company_role = weighted(r, cat.COMPANY_ROLES)
            titles = cat.JOB_TITLES.get(p.language, cat.JOB_TITLES["en"])
            p.job_title = r.choice(titles if r.random() < 0.7 else cat.JOB_TITLES["en"])
            if r.random() < 0.3:
                p.personal_email = self.personal_email(p)
            raw_email = self.work_email(p, company)
        else:
            if r.random() < 0.3:
                p.job_title = r.choice(cat.CONSUMER_JOBS)
            raw_email = self.personal_email(p) if r.random() < 0.94 else ""
        if raw_email and r.random() < 0.06:
            local, _, domain = raw_email.partition("@")
            raw_email = ".".join(w.capitalize() for w in local.split(".")) + "@" + domain
        p.email = normalize_email(raw_email)
        if r.random() < 0.78:
            p.phone_is_mobile = r.random() < (0.4 if p.company else 0.65)
            e164 = self.phone_number(country, city, mobile=p.phone_is_mobile)
            p.phone_raw = r.choice(self.phone_formats(e164, country))
            p.phone = normalize_phone(p.phone_raw, country.code)
        return p

    # --- duplicates ---------------------------------------------------------------------

    def _typo(self, text: str) -> str:
        r = self.rng
        if len(text) < 4:
            return text + text[-1]
        i = r.randint(1, len(text) - 2)
        kind = r.choice(("swap", "drop", "double", "key"))
        if kind == "swap":
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        if kind == "drop":
            return text[:i] + text[i + 1 :]
        if kind == "double":
            return text[:i] + text[i] + text[i:]
        ch = text[i].lower()
        if ch in _QWERTY:
            sub = r.choice(_QWERTY[ch])
            return text[:i] + (sub.upper() if text[i].isupper() else sub) + text[i + 1 :]
        return text[:i] + text[i + 1 :]

    def _name_variant(self, d: Person, o: Person) -> str:
        r = self.rng
        kind = weighted(
            r,
            (
                ("nickname", 30),
                ("typo", 25),
                ("swapped", 12),
                ("accents", 8),
                ("case", 7),
                ("middle", 5),
                ("same", 13),
            ),
        )
        if kind == "nickname":
            first = o.first_name
            if "-" in first:
                d.first_name = first.split("-", 1)[0]
                return "nickname"
            if first in cat.NICKNAMES:
                d.first_name = r.choice(cat.NICKNAMES[first])
                return "nickname"
            kind = "typo"
        if kind == "accents":
            full = o.first_name + o.last_name
            if full != ascii_fold(full):
                de = o.country.code == "DE" and r.random() < 0.5
                d.first_name = ascii_fold(o.first_name, german=de)
                d.last_name = ascii_fold(o.last_name, german=de)
                return "accents"
            kind = "typo"
        if kind == "typo":
            if r.random() < 0.5:
                d.last_name = self._typo(o.last_name)
            else:
                d.first_name = self._typo(o.first_name)
            return "typo"
        if kind == "swapped":
            d.first_name, d.last_name, d.middle_name = o.last_name, o.first_name, ""
            return "swapped"
        if kind == "case":
            upper = r.random() < 0.5
            d.first_name = o.first_name.upper() if upper else o.first_name.lower()
            d.last_name = o.last_name.upper() if upper else o.last_name.lower()
            return "case"
        if kind == "middle":
            d.middle_name = "" if o.middle_name else f"{r.choice('ABCDEFGHJKLMNPRSTW')}."
            return "middle"
        return "same"

    def _email_variant(self, d: Person, o: Person) -> str:
        r = self.rng
        if not o.email:
            if r.random() < 0.6:
                d.email = normalize_email(self.personal_email(d))
                return "new"
            return "blank"
        local, _, domain = o.email.rpartition("@")
        options = [("case", 15), ("plus", 15), ("other", 25), ("blank", 10), ("same", 15)]
        if "." in local or not local.isalpha():
            options.append(("dots", 15))
        if domain == "gmail.example":
            options.append(("googlemail", 8))
        kind = weighted(r, options)
        if kind == "case":
            raw = (
                local.upper() + "@" + domain.upper()
                if r.random() < 0.3
                else local.title() + "@" + domain
            )
        elif kind == "plus":
            raw = f"{local}+{r.choice(('shop', 'news', 'coffee', 'orders'))}@{domain}"
        elif kind == "dots":
            raw = f"{local.replace('.', '')}@{domain}"
        elif kind == "googlemail":
            raw = f"{local}@googlemail.example"
        elif kind == "other":
            if o.company is not None and o.email.endswith("@" + o.company.domain):
                raw = o.personal_email or self.personal_email(d)
            elif d.company is not None:
                raw = self.work_email(d, d.company)
            else:
                raw = self.personal_email(d)
        elif kind == "blank":
            raw = ""
        else:
            raw = o.email
        d.email = normalize_email(raw)
        return kind

    def _phone_variant(self, d: Person, o: Person) -> str:
        r = self.rng
        if not o.phone:
            if r.random() < 0.3 and d.city is not None:
                e164 = self.phone_number(d.country, d.city, mobile=True)
                d.phone_raw = r.choice(self.phone_formats(e164, d.country))
                d.phone = e164
                return "new"
            return "blank"
        kind = weighted(r, (("format", 55), ("blank", 25), ("other", 20)))
        if kind == "format":
            formats = [f for f in self.phone_formats(o.phone, o.country) if f != o.phone_raw]
            d.phone_raw = r.choice(formats) if formats else o.phone_raw
        elif kind == "other" and d.city is not None:
            e164 = self.phone_number(d.country, d.city, mobile=not o.phone_is_mobile)
            d.phone_raw = r.choice(self.phone_formats(e164, d.country))
        else:
            d.phone_raw, kind = "", "blank"
        d.phone = normalize_phone(d.phone_raw, d.country.code) if d.phone_raw else ""
        return kind

    def duplicate(self, o: Person, created_at: dt.datetime) -> Person:
        """A second record of the same person, as another entry point would have made it."""
        r = self.rng
        d = dataclasses.replace(
            o,
            prefix="" if r.random() < 0.7 else o.prefix,
            suffix="",
            email="",
            phone="",
            phone_raw="",
            personal_email="",
            created_at=created_at,
            original=o,
            variations=[],
            contact_id=None,
            source=weighted(r, [s for s in cat.SOURCES if s[0] != o.source]),
            birthday=o.birthday if r.random() < 0.5 else None,
            job_title=o.job_title if r.random() < 0.5 else "",
            company=o.company if o.company is not None and r.random() < 0.6 else None,
        )
        if d.company is None:
            d.company_role = ""
        name = self._name_variant(d, o)
        email = self._email_variant(d, o)
        phone = self._phone_variant(d, o)
        # Tied by a contact point as the dedupe sees it (the hygiene match keys).
        linked = bool(d.phone and d.phone == o.phone) or bool(
            d.email and email_match_key(d.email) == email_match_key(o.email)
        )
        if not linked and name in ("nickname", "swapped"):
            # Without a shared email or phone, only name + address tie the two together:
            # keep the name recognisable.
            d.first_name, d.last_name, d.middle_name = o.first_name, o.last_name, o.middle_name
            name = "typo"
            if r.random() < 0.5:
                d.last_name = self._typo(o.last_name)
            else:
                d.first_name = self._typo(o.first_name)
        address = "same"
        if not linked:
            d.address_line1, d.address_line2, d.postal_code, d.city = (
                o.address_line1,
                o.address_line2,
                o.postal_code,
                o.city,
            )
        else:
            roll = r.random()
            if roll < 0.2 and o.address_line1:
                d.address_line1 = d.address_line2 = d.postal_code = ""
                address = "blank"
            elif roll < 0.4 and o.address_line1:
                for long, short in _ABBREVIATIONS:
                    if long in o.address_line1:
                        d.address_line1 = o.address_line1.replace(long, short)
                        address = "abbreviated"
                        break
        d.variations = [f"name:{name}", f"email:{email}", f"phone:{phone}", f"address:{address}"]
        return d
