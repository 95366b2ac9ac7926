"""The messy contact CSV of the import benchmarks (``import_contacts.py``, ``import_worker.py``
and the worker's equivalence test): deterministic for a seed, with mixed phone formats,
case and whitespace mess, 3% duplicates and 1% bad rows (see ``import_contacts``)."""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path

HEADERS = [
    "First Name",
    "Last Name",
    "Email",
    "Phone",
    "Company",
    "Job Title",
    "City",
    "Country",
    "Birthday",
]
FIRST = [
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Nancy",
    "Daniel",
    "Lisa",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Dorothy",
    "Kevin",
    "Carol",
    "Brian",
    "Amanda",
    "George",
    "Melissa",
    "Lukas",
    "Anna",
    "Jonas",
    "Lea",
    "Felix",
    "Marie",
    "Léa",
    "Chloé",
    "Hugo",
    "Manon",
    "José",
    "María",
    "Lucía",
    "Pablo",
    "Sofía",
    "Giulia",
    "Marco",
    "Noah",
    "Emma",
    "Liam",
    "Olivia",
    "Søren",
    "Åsa",
    "Zoë",
    "François",
    "Renée",
    "Björn",
    "Jürgen",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Dubois",
    "Durand",
    "Lefèvre",
    "Moreau",
    "Fernández",
    "López",
    "Martín",
    "Rossi",
    "Russo",
    "Ferrari",
    "Jansen",
    "de",
    "Vries",
    "van",
    "den",
    "Berg",
    "O'Brien",
    "McDonald",
    "MacLeod",
    "Nguyen",
    "Kowalski",
    "Novak",
]
JOBS = ["CEO", "CTO", "Sales Manager", "Engineer", "Marketing Lead", "Buyer", "Consultant", ""]
CITIES = ["New York", "Berlin", "Paris", "Madrid", "London", "Rome", "Amsterdam", "Chicago"]
COUNTRIES = [
    ("US", ["US", "USA", "United States", "us"]),
    ("DE", ["DE", "Germany", "Deutschland"]),
    ("FR", ["FR", "France"]),
    ("GB", ["UK", "United Kingdom", "GB"]),
    ("ES", ["Spain", "España", "ES"]),
]
DOMAINS = ["example.com", "mail.example.org", "gmail.com", "corp.example.net", "web.example.de"]


def _phone(rng: random.Random, country: str, n: int) -> str:
    sub = f"{n % 10_000_000:07d}"
    if country == "US":
        area = 201 + (n // 10_000_000) % 700
        local = f"{area}{sub}"
        fmt = rng.randrange(4)
        if fmt == 0:
            return f"({local[:3]}) {local[3:6]}-{local[6:]}"
        if fmt == 1:
            return f"+1 {local[:3]} {local[3:6]} {local[6:]}"
        if fmt == 2:
            return f"{local[:3]}.{local[3:6]}.{local[6:]}"
        return f"1-{local[:3]}-{local[3:6]}-{local[6:]}"
    if country == "DE":
        return rng.choice([f"+49 30 {sub}", f"030 {sub}", f"0049 30 {sub}", f"+49 (0)30 {sub}"])
    if country == "FR":
        return rng.choice([f"+33 1 {sub[:2]} {sub[2:4]} {sub[4:6]} 0{sub[6]}", f"01{sub}0"])
    if country == "GB":
        return rng.choice([f"+44 20 7{sub}", f"020 7{sub}"])
    return rng.choice([f"+34 91 {sub}", f"91 {sub}"])


def _mess(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.15:
        text = text.upper()
    elif r < 0.3:
        text = text.lower()
    if rng.random() < 0.2:
        text = f"  {text} "
    return text


def generate(path: Path, rows: int, seed: int = 42) -> dict[str, int]:
    """Write the messy CSV; returns how many duplicate and bad rows it planted."""
    rng = random.Random(seed)
    planted = {"duplicates": 0, "bad": 0}
    people: list[list[str]] = []
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADERS)
        for i in range(rows):
            r = rng.random()
            if r < 0.03 and people:
                base = list(rng.choice(people[-5000:]))
                base[0] = _mess(rng, base[0].strip())
                base[2] = base[2].strip().upper() if rng.random() < 0.5 else f" {base[2].strip()}"
                w.writerow(base)
                planted["duplicates"] += 1
                continue
            first, last = rng.choice(FIRST), rng.choice(LAST)
            code, names = rng.choice(COUNTRIES)
            local = re.sub(r"[^a-z]", "", f"{first}.{last}".lower()) or "x"
            email = f"{local}{i}@{rng.choice(DOMAINS)}"
            born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
            birthday = rng.choice(
                [born.isoformat(), born.strftime("%d.%m.%Y"), born.strftime("%B %d, %Y")]
            )
            row = [
                _mess(rng, first),
                _mess(rng, last),
                email if rng.random() > 0.1 else email.replace(local, local.capitalize()),
                _phone(rng, code, i),
                f"Company {rng.randrange(5000)}",
                rng.choice(JOBS),
                rng.choice(CITIES),
                rng.choice(names),
                birthday,
            ]
            if r > 0.99:
                kind = rng.randrange(5)
                if kind == 0:
                    row[2] = email.replace("@", " at ")
                elif kind == 1:
                    row[2] = ""
                elif kind == 2:
                    row = row[:3]
                elif kind == 3:
                    row[3] = "call me maybe"
                else:
                    row[8] = "32/13/1999"
                planted["bad"] += 1
            else:
                people.append(row)
                if len(people) > 20000:
                    del people[:10000]
            w.writerow(row)
    return planted
