"""Generated people and companies: places, phone numbers, emails, companies, people.

Everything goes through the entry-point normalisers (``patron.contacts.normalize``), as
real input would: raw phones in mixed national formats become E.164, emails get a
lower-cased domain."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import phonenumbers

from patron.contacts.normalize import (
    clean_text,
    normalize_email,
    normalize_phone,
)
from patron.core.demo import catalog as cat
from patron.core.demo.catalog import City, Country
from patron.core.demo.people.base import (
    CompanySpec,
    PeopleBase,
    Person,
    _email_word,
    ascii_fold,
    email_key,
    weighted,
)


class PersonMaker(PeopleBase):
    """Places, numbers, emails, companies and people, all unique where real ones are."""

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
