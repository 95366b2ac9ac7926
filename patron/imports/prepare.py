"""Row preparation: cells -> normalised contact values, with no database access.

Pure functions of a row and a ``Plan`` (mapping, custom-field definitions, region), so
they run in worker processes. Every contact value goes through the hygiene normaliser
(``contact_input_normalize`` in keep-and-flag mode): values that cannot be normalised are
kept as entered in ``invalid`` (-> ``Contact.invalid_fields``) and the rest of the row is
imported. Only what makes a row unusable is an error: the upsert key missing or invalid,
nothing to identify the person by, or a row the reader could not read.

Speed: the normaliser is called per *group* of fields that depend only on each other
(names; country; postal code; email; phone and birthday with the row's region), and the
groups whose values repeat across rows (names, countries, cities, birthdays, ...) are
memoised; phones and uncached emails go through hygiene's one-field step. Every shortcut
is exact (ADR 0077): ``tests/test_prepare_equivalence.py`` compares ``prepare_row`` with
the slow path kept in ``tests/prepare_reference.py`` (one hygiene call per row).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from patron.contacts.custom_fields import _one as custom_typed_value
from patron.contacts.models import Contact, CustomField
from patron.contacts.normalize import search_text_for
from patron.hygiene.normalize import (
    NormalizationError,
    Normalized,
    clean_text,
    contact_input_normalize,
    email_match_key,
    name_key,
    normalize_date,
    normalize_email,
    normalize_phone,
    phone_match_key,
)
from patron.hygiene.normalize.dates import date_order
from patron.hygiene.normalize.record import normalize_birthday, normalize_field
from patron.imports.cells import unescape_cell
from patron.imports.fastpath import email_fast
from patron.imports.seen import fingerprint

NAME_FIELDS = ("full_name", "prefix", "first_name", "middle_name", "last_name", "suffix")
HYGIENE_FIELDS = (*NAME_FIELDS, "email", "phone", "country", "birthday", "postal_code")
_HYGIENE_SET = frozenset(HYGIENE_FIELDS)
PLAIN_FIELDS = (
    "address_line1",
    "address_line2",
    "city",
    "region",
    "language",
    "time_zone",
    "job_title",
    "source",
)
_MAX_LENGTH = {
    f.name: f.max_length
    for f in Contact._meta.concrete_fields
    if getattr(f, "max_length", None) and f.name in (*PLAIN_FIELDS, "external_id")
}
TAG_MAX = 80
COMPANY_MAX = 200
CACHE = 20_000  # entries per memo (bounded: memory stays flat as files grow)
DATE_CACHE = 131_072  # birthdays: (text, date order) -> a date, ~250 bytes an entry


@dataclass(frozen=True)
class CustomDef:
    key: str
    label: str
    type: str
    choices: tuple[str, ...] = ()
    max_length: int = 500

    def field(self) -> CustomField:
        return CustomField(
            key=self.key,
            label=self.label,
            type=self.type,
            choices=list(self.choices),
            max_length=self.max_length,
        )


@dataclass(frozen=True)
class Plan:
    """What a worker needs to prepare rows: plain data, picklable."""

    headers: tuple[str, ...]
    columns: tuple[tuple[int, str], ...]  # (cell index, target) of mapped columns
    key: str
    region: str
    stages: tuple[tuple[str, str], ...]  # (key, label) of lifecycle stages
    custom: tuple[CustomDef, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass
class Prepared:
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    invalid: dict[str, Any] = field(default_factory=dict)
    touched: tuple[str, ...] = ()
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    custom: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    company: str = ""
    key: str = ""
    email_key: str = ""
    name_key: str = ""
    search_text: str = ""
    # Computed here (in the worker) so the writing process only looks them up:
    phone_key: str = ""  # E.164 without extension, what duplicate checks compare
    key_fp: int = 0  # fingerprint("key", key)
    email_fp: int = 0  # fingerprint("email_key", email_key), 0 without an email

    @property
    def ok(self) -> bool:
        return not self.errors

    def invalid_after(self, current: dict[str, Any] | None) -> dict[str, Any]:
        """``invalid_fields`` of a contact once this row is applied (hygiene's rule)."""
        norm = Normalized(invalid=dict(self.invalid), touched=set(self.touched))
        return norm.invalid_fields_after(current)


# --- memoised hygiene groups ---------------------------------------------------------------


def _norm(data: tuple[tuple[str, Any], ...], country: str, region: str) -> Normalized:
    return contact_input_normalize(
        dict(data), existing_country=country, default_region=region, on_invalid="flag"
    )


_norm_cached = lru_cache(maxsize=CACHE)(_norm)


@lru_cache(maxsize=CACHE)
def _clean_cached(value: str) -> str:
    return clean_text(value)


@lru_cache(maxsize=CACHE)
def _name_key_cached(first: str, last: str) -> str:
    return name_key(first, last)


def _phone_in(region: str) -> Callable[[Any], str]:
    fn = _PHONE_FNS.get(region)
    if fn is None:
        fn = _PHONE_FNS[region] = functools.partial(normalize_phone, region=region)
    return fn


_PHONE_FNS: dict[str, Callable[[Any], str]] = {}


@lru_cache(maxsize=DATE_CACHE)
def _birthday_by_order(value: Any, order: str, region: str) -> tuple[bool, Any]:
    """(valid, the value or its invalid entry): hygiene's birthday step for one value.
    Called as ``_birthday_cached``, memoised by (value, date order): the region only
    decides how an ambiguous date reads (``date_order``), so one region of each order
    stands for all (a million-row file can hold ~60,000 distinct birthdays)."""
    out = Normalized()
    normalize_field({"birthday": value}, "birthday", _BIRTHDAY_FNS[region], out, "flag")
    if "birthday" in out.invalid:
        return False, out.invalid["birthday"]
    return True, out.values["birthday"]


class _BirthdayFns(dict[str, Callable[[Any], Any]]):
    def __missing__(self, region: str) -> Callable[[Any], Any]:
        fn = self[region] = functools.partial(normalize_birthday, region=region)
        return fn


_BIRTHDAY_FNS = _BirthdayFns()


def _birthday_cached(value: Any, region: str) -> tuple[bool, Any]:
    order = date_order(region)
    # The first region seen of an order computes the memo entry for every region of it.
    return _birthday_by_order(value, order, _ORDER_REGION.setdefault(order, region))


_ORDER_REGION: dict[str, str] = {}


def _hygiene(data: dict[str, Any], region: str) -> tuple[Normalized, str | None]:
    """contact_input_normalize(data) in flag mode, one group at a time (see module doc).

    The groups are merged in the order ``contact_input_normalize`` writes them (names,
    email, country, postal code, phone, birthday) into one ``Normalized``; the uncached
    fields (email when not on the fast path, phone) go through hygiene's own one-field
    step (``normalize_field``) straight into it."""
    out = Normalized()
    values, invalid = out.values, out.invalid
    out.touched.update(data)
    if "full_name" in data:
        names = tuple((k, data[k]) for k in NAME_FIELDS if k in data)
        got = _norm_cached(names, "", region)
        values.update(got.values)
        invalid.update(got.invalid)
    else:
        # Given parts are normalised each on its own (hygiene's rule): cache per part.
        for key in NAME_FIELDS:
            if key in data:
                got = _norm_cached(((key, data[key]),), "", region)
                values.update(got.values)
                invalid.update(got.invalid)
    fast_key = None
    if "email" in data:
        fast = email_fast(data["email"])
        if fast is not None:
            values["email"], fast_key = fast
        else:
            normalize_field(data, "email", normalize_email, out, "flag")
    country = ""
    if "country" in data:
        got = _norm_cached((("country", data["country"]),), "", region)
        values.update(got.values)
        invalid.update(got.invalid)
        country = got.values.get("country", "")
    if "postal_code" in data:
        got = _norm_cached((("postal_code", data["postal_code"]),), "", region)
        values.update(got.values)
        invalid.update(got.invalid)
    here = country or region
    if "phone" in data:
        normalize_field(data, "phone", _phone_in(here), out, "flag")
    if "birthday" in data:
        value = data["birthday"]
        if isinstance(value, (str, dt.date)):
            ok, got_value = _birthday_cached(value, here)
            (values if ok else invalid)["birthday"] = got_value
        else:
            got = _norm((("birthday", value),), country, region)
            values.update(got.values)
            invalid.update(got.invalid)
    return out, fast_key


# --- one row --------------------------------------------------------------------------------


def _custom_value(defn: CustomDef, raw: Any, region: str) -> list[dict[str, Any]]:
    fld = defn.field()
    if defn.type == CustomField.Type.DATE and not isinstance(raw, dt.date):
        try:
            raw = normalize_date(raw, region=region)
        except NormalizationError as exc:
            raise ValueError(str(exc)) from exc
        if raw is None:
            return []
    if defn.type == CustomField.Type.MULTI_CHOICE:
        items = (
            [p.strip() for p in str(raw).split(",") if p.strip()] if isinstance(raw, str) else [raw]
        )
        return [custom_typed_value(fld, v) for v in dict.fromkeys(items)]
    return [custom_typed_value(fld, raw)]


def _split_tags(raw: str) -> list[str]:
    out: list[str] = []
    for part in str(raw).replace(";", ",").split(","):
        name = _clean_cached(part)
        if name and len(name) <= TAG_MAX and name not in out:
            out.append(name)
    return out


def _touched(hygiene: tuple[str, ...], plain: tuple[str, ...]) -> tuple[str, ...]:
    """The fields a row touches, sorted: its hygiene fields and its plain fields but tags
    and company (memoised: a file has few combinations of non-empty columns)."""
    got = _TOUCHED.get((hygiene, plain))
    if got is None:
        fields = {*hygiene, *(t for t in plain if t not in ("tags", "company"))}
        got = tuple(sorted(fields))
        if len(_TOUCHED) < 4096:
            _TOUCHED[(hygiene, plain)] = got
    return got


_TOUCHED: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}


_HYGIENE, _CUSTOM, _PLAIN = 0, 1, 2


def _routes(plan: Plan) -> tuple[tuple[int, str, int], ...]:
    """(cell index, target, kind) of the plan's columns, worked out once per plan."""
    got = _ROUTES.get(id(plan))
    if got is None or got[0] is not plan:
        if len(_ROUTES) > 64:
            _ROUTES.clear()
        routes = tuple((i, t, _kind(t)) for i, t in plan.columns)
        got = _ROUTES[id(plan)] = (plan, routes)
    return got[1]


def _kind(target: str) -> int:
    if target in _HYGIENE_SET:
        return _HYGIENE
    return _CUSTOM if target.startswith("custom:") else _PLAIN


_ROUTES: dict[int, tuple[Plan, tuple[tuple[int, str, int], ...]]] = {}


def prepare_row(plan: Plan, row: int, cells: Sequence[Any], problem: str = "") -> Prepared:
    p = Prepared(row=row)
    if problem:
        p.errors.append(("", problem))
        return p
    data: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    custom_raw: dict[str, Any] = {}
    headers = plan.headers
    for index, target, kind in _routes(plan):
        raw = cells[index]
        if isinstance(raw, str):
            if not raw or raw.isspace():  # what ``not raw.strip()`` says, without a copy
                continue
            if raw[0] == "'":
                raw = unescape_cell(raw)
        elif raw is None:
            continue
        if kind == _HYGIENE:
            data[target] = raw
        elif kind == _CUSTOM:
            custom_raw[target[7:]] = (raw, headers[index])
        else:
            plain[target] = (raw, headers[index])
    norm, fast_key = _hygiene(data, plan.region)
    values = norm.values  # a new Normalized per row: its dicts are this row's own
    invalid = norm.invalid
    for target, (raw, _header) in plain.items():
        text = _clean_cached(raw) if isinstance(raw, str) else clean_text(raw)
        if target == "tags":
            p.tags = tuple(_split_tags(text))
            continue
        if target == "company":
            if len(text) > COMPANY_MAX:
                invalid["company"] = {"value": text[:1000], "reason": "Company name too long."}
            else:
                p.company = text
            continue
        limit = _MAX_LENGTH.get(target)
        if limit and len(text) > limit:
            invalid[target] = {
                "value": text[:1000],
                "reason": f"Ensure this value has at most {limit} characters.",
            }
            continue
        if target == "lifecycle_stage":
            stage = _stage(plan, text)
            if stage is None:
                invalid[target] = {"value": text[:1000], "reason": "Unknown lifecycle stage."}
                continue
            text = stage
        values[target] = text if target != "external_id" else (text or None)
    for key, (raw, _header) in custom_raw.items():
        defn = next((d for d in plan.custom if d.key == key), None)
        if defn is None:
            continue
        try:
            p.custom[key] = _custom_value(defn, raw, values.get("country") or plan.region)
        except ValueError as exc:
            invalid[f"custom.{key}"] = {"value": str(raw)[:1000], "reason": str(exc)}
    # The key: it must be present and valid, it is what makes re-imports safe.
    key_field = plan.key
    if key_field.startswith("custom:"):
        typed = p.custom.get(key_field[7:]) or []
        p.key = str(next(iter(typed[0].values()))) if typed else ""
    else:
        p.key = str(values.get(key_field) or "")
    if not p.key:
        column = _header_of(plan, key_field)
        flagged = invalid.get(
            key_field if not key_field.startswith("custom:") else f"custom.{key_field[7:]}"
        )
        if flagged:
            p.errors.append((column, f"{flagged['reason']} (it is the import key)"))
        else:
            p.errors.append((column, f"The import key ({_key_label(key_field)}) is empty."))
        return p
    if key_field == "email":
        p.key = p.key.lower()
    get = values.get
    first, middle, last = get("first_name"), get("middle_name"), get("last_name")
    if not (first or last or get("full_name") or get("email") or get("phone")):
        p.errors.append(("", "A contact needs at least a name, an email or a phone."))
        return p
    if (first or last or middle) and not get("full_name"):
        values["full_name"] = " ".join(v for v in (first, middle, last) if v)
    p.values = values
    p.invalid = invalid
    p.touched = _touched(tuple(data), tuple(plain))
    if plan.tags:
        p.tags = tuple(dict.fromkeys((*p.tags, *plan.tags)))
    elif len(p.tags) > 1:
        p.tags = tuple(dict.fromkeys(p.tags))
    email = values.get("email") or ""
    p.email_key = (fast_key if fast_key is not None else email_match_key(email)) if email else ""
    p.name_key = _name_key_cached(values.get("first_name", ""), values.get("last_name", ""))
    p.phone_key = phone_match_key(values.get("phone") or "")
    p.key_fp = fingerprint("key", p.key)
    p.email_fp = fingerprint("email_key", p.email_key) if p.email_key else 0
    p.search_text = search_text_for(
        values.get("first_name", ""),
        values.get("middle_name", ""),
        values.get("last_name", ""),
        values.get("full_name", ""),
        email,
        values.get("phone", ""),
        values.get("external_id") or "",
    )
    return p


def _stage(plan: Plan, text: str) -> str | None:
    folded = text.casefold()
    for key, label in plan.stages:
        if folded in (key.casefold(), label.casefold()):
            return key
    return None


def _header_of(plan: Plan, target: str) -> str:
    for index, t in plan.columns:
        if t == target:
            return plan.headers[index]
    return ""


def _key_label(key: str) -> str:
    return key[7:] if key.startswith("custom:") else key


def phone_key(p: Prepared) -> str:
    return p.phone_key


def prepare_rows(plan: Plan, rows: Iterable[tuple[int, list[Any], str]]) -> list[Prepared]:
    return PreparedChunk(prepare_row(plan, r, cells, problem) for r, cells, problem in rows)


_FIELDS = tuple(f.name for f in fields(Prepared))
_field_values = operator.attrgetter(*_FIELDS)


def _unpack(rows: list[tuple[Any, ...]]) -> list[Prepared]:
    return [Prepared(*values) for values in rows]


class PreparedChunk(list[Prepared]):
    """A worker's prepared chunk: it travels to the writing process as one list of plain
    tuples (no per-row object header and state dict to pickle and unpickle: ~1 µs a row
    less on each side) and arrives as a plain list of ``Prepared``."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpack, ([_field_values(p) for p in self],))


PrepareFn = Callable[[Plan, list[tuple[int, list[Any], str]]], list[Prepared]]
