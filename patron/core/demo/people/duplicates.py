"""Realistic duplicates of people, made from the *raw* input a second entry point would
have seen (a nickname, a typo, swapped name order, another phone format...)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from patron.contacts.normalize import (
    email_match_key,
    normalize_email,
    normalize_phone,
)
from patron.core.demo import catalog as cat
from patron.core.demo.people.base import (
    Person,
    ascii_fold,
    weighted,
)
from patron.core.demo.people.records import PersonMaker

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


class DuplicateMaker(PersonMaker):
    """A person's look-alike: the same human, entered again with variations."""

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
