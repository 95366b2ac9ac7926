"""Pairwise duplicate scoring with rapidfuzz: a match probability and its explanation.

Fellegi-Sunter style: each compared field adds a log2 Bayes factor (agreement is evidence
for a match, disagreement against), the sum plus a prior gives the probability. Weights
are set by hand and checked against the labelled benchmark (benchmarks/dedupe_accuracy.py).
Explanations name fields and verdicts only, never the values (they may be sensitive).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import JaroWinkler, Levenshtein

from patron.hygiene.normalize import fold, given_name_key, phone_match_key

PRIOR = -8.0  # log2 odds that two records sharing a blocking key are the same person
LIKELY = 0.8  # shown as "likely duplicate"
POSSIBLE = 0.5  # kept in the review queue


@dataclass(frozen=True)
class Profile:
    pk: int
    first: str = ""
    last: str = ""
    email_keys: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    birthday: dt.date | None = None
    postal_code: str = ""
    city: str = ""
    country: str = ""
    companies: frozenset[str] = frozenset()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def profile_of(
    pk: int,
    *,
    first_name: str = "",
    last_name: str = "",
    email_keys: set[str] | frozenset[str] = frozenset(),
    phones: set[str] | frozenset[str] = frozenset(),
    birthday: dt.date | None = None,
    postal_code: str = "",
    city: str = "",
    country: str = "",
    companies: set[str] | frozenset[str] = frozenset(),
) -> Profile:
    return Profile(
        pk=pk,
        first=fold(first_name),
        last=fold(last_name),
        email_keys=frozenset(k for k in email_keys if k),
        phones=frozenset(phone_match_key(p) for p in phones if p),
        birthday=birthday,
        postal_code=fold(postal_code),
        city=fold(city),
        country=(country or "").upper(),
        companies=frozenset(fold(c) for c in companies if c),
    )


@dataclass(frozen=True)
class Match:
    score: float
    weight: float
    explanation: list[dict[str, Any]]


def _jw(a: str, b: str) -> float:
    return float(JaroWinkler.normalized_similarity(a, b))


def _name_weight(a: str, b: str, *, given: bool) -> tuple[float, str, float]:
    if not a or not b:
        return 0.0, "missing", 0.0
    if a == b or (given and given_name_key(a) == given_name_key(b)):
        return (3.5 if given else 4.5), "agree", 1.0
    sim = _jw(a, b)
    if sim >= 0.92 or Levenshtein.distance(a, b) <= 1:
        return (2.0 if given else 3.0), "similar", sim
    if sim >= 0.85:
        return 0.5, "similar", sim
    if given and (a.startswith(b) or b.startswith(a)) and min(len(a), len(b)) >= 1:
        return 0.5, "initial", sim
    return (-3.0 if given else -4.0), "disagree", sim


def _set_weight(
    a: frozenset[str], b: frozenset[str], agree: float, disagree: float
) -> tuple[float, str]:
    if not a or not b:
        return 0.0, "missing"
    if a & b:
        return agree, "agree"
    return disagree, "disagree"


def score_pair(a: Profile, b: Profile) -> Match:
    parts: list[dict[str, Any]] = []

    def add(name: str, weight: float, verdict: str, similarity: float | None = None) -> None:
        item: dict[str, Any] = {"field": name, "verdict": verdict, "weight": round(weight, 2)}
        if similarity is not None:
            item["similarity"] = round(similarity, 3)
        parts.append(item)

    w, v = _set_weight(a.email_keys, b.email_keys, 9.0, -2.0)
    add("email", w, v)
    w, v = _set_weight(a.phones, b.phones, 8.0, -1.5)
    add("phone", w, v)

    fw, fv, fs = _name_weight(a.first, b.first, given=True)
    lw, lv, ls = _name_weight(a.last, b.last, given=False)
    sw1, _, _ = _name_weight(a.first, b.last, given=False)
    sw2, _, _ = _name_weight(a.last, b.first, given=False)
    if fw + lw < 0 and sw1 > 0 and sw2 > 0:
        add("name", 7.5, "swapped", min(_jw(a.first, b.last), _jw(a.last, b.first)))
    else:
        add("first_name", fw, fv, fs)
        add("last_name", lw, lv, ls)

    if a.birthday and b.birthday:
        if a.birthday == b.birthday:
            add("birthday", 6.0, "agree")
        elif (a.birthday.year, a.birthday.month, a.birthday.day) == (
            b.birthday.year,
            b.birthday.day,
            b.birthday.month,
        ):
            add("birthday", 3.0, "day_month_swapped")
        elif Levenshtein.distance(a.birthday.isoformat(), b.birthday.isoformat()) == 1:
            add("birthday", 2.0, "similar")
        else:
            add("birthday", -5.0, "disagree")
    else:
        add("birthday", 0.0, "missing")

    if a.postal_code and b.postal_code:
        add(
            "postal_code",
            *((3.0, "agree") if a.postal_code == b.postal_code else (-1.0, "disagree")),
        )
    else:
        add("postal_code", 0.0, "missing")
    if a.city and b.city:
        sim = _jw(a.city, b.city)
        add("city", 1.5 if sim >= 0.92 else -0.5, "agree" if sim >= 0.92 else "disagree", sim)
    if a.country and b.country and a.country != b.country:
        add("country", -2.0, "disagree")
    w, v = _set_weight(a.companies, b.companies, 2.0, 0.0)
    if v != "missing":
        add("company", w, v)

    total = PRIOR + sum(p["weight"] for p in parts)
    probability = 1.0 / (1.0 + math.pow(2.0, -total))
    return Match(score=round(probability, 4), weight=round(total, 2), explanation=parts)
