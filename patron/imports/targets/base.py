"""What every import target other than contacts provides, and the pieces they share.

A target turns file rows into calls of its app's own write services (companies,
orders, tickets) or its ingest service (events), so permissions, normalisation, activity
entries and the segment hooks are exactly those of the rest of Patron. The generic
runner (``targets.runner``) reads the file, calls the target chunk by chunk, and keeps
the job's journal, checkpoint and counts.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.models import Contact
from patron.contacts.selectors import contacts_visible_to
from patron.core.clean import clean_datetime
from patron.core.permissions import PermissionDenied
from patron.hygiene.normalize.dates import normalize_date
from patron.hygiene.normalize.email import email_match_key, normalize_email
from patron.hygiene.normalize.text import NormalizationError
from patron.imports.erased import ERASED_REASON, ErasedPeople
from patron.imports.options import ImportOptions

# (row number, {target field: cell text}) after the mapping is applied.
Row = tuple[int, dict[str, Any]]


@dataclass
class Outcome:
    """What one row (or one group of rows, e.g. an order's lines) did or would do."""

    row: int
    action: str  # created | updated | unchanged | error | skipped
    object_id: int | None = None
    contact_id: int | None = None
    field: str = ""  # the target field at fault (turned into the file's column)
    reason: str = ""
    before: dict[str, Any] = dataclasses.field(default_factory=dict)
    after: dict[str, Any] = dataclasses.field(default_factory=dict)
    rows: int = 1  # file rows this outcome stands for
    message_id: str = ""  # events: the stored message id (for rollback)
    key: str = ""  # the upsert key's value (spots repeats across dry-run chunks)
    created_other: dict[str, list[int]] = dataclasses.field(default_factory=dict)


class RowError(Exception):
    """A row cannot be imported: ``field`` says which target field, ``reason`` why."""

    def __init__(self, field: str, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason
        self.row = row  # the file row at fault, when a group of rows is written together


class RowSkipped(Exception):
    """A row is left out on purpose and reported (not an error: "stop" does not trip)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def error_of(exc: Exception) -> tuple[str, str]:
    """(field, reason) of a service's refusal, for the report."""
    if isinstance(exc, RowError):
        return exc.field, exc.reason
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            name, errors = next(iter(exc.message_dict.items()))
            return name.split(".")[0] if name != "__all__" else "", " ".join(errors)
        return "", " ".join(exc.messages)
    if isinstance(exc, (PermissionDenied, Contact.DoesNotExist)):
        return "", str(exc) or "Not allowed."
    return "", str(exc)


def unit_outcome(unit: list[Row], step: Callable[[], Outcome]) -> Outcome:
    """``step``'s outcome for a unit, or the unit's outcome when a row of it is refused
    (``RowSkipped``) or invalid (the error and its field, on the row that raised it)."""
    try:
        return step()
    except RowSkipped as exc:
        return Outcome(
            row=unit[0][0], action="skipped", field=exc.field, reason=exc.reason, rows=len(unit)
        )
    except (ValidationError, RowError, PermissionDenied, Contact.DoesNotExist) as exc:
        name, reason = error_of(exc)
        row = getattr(exc, "row", None) or unit[0][0]
        return Outcome(row=row, action="error", field=name, reason=reason, rows=len(unit))


@dataclass
class Context:
    actor: User
    options: ImportOptions
    job_id: int
    dry_run: bool
    # Memoised contact look-ups within one run (email / external id -> id or None).
    contacts: dict[tuple[str, str], int | None] = dataclasses.field(default_factory=dict)
    # Erasure hashes (reloaded per chunk when someone was erased); None when nobody was.
    erased: ErasedPeople | None = None


class Target:
    """Subclasses set the class attributes and implement ``process``."""

    name: ClassVar[str]
    label: ClassVar[str]
    #: {field: label}; the importable fields, in display order.
    fields: ClassVar[dict[str, str]]
    #: {field: synonyms} in several languages (folded when matched).
    synonyms: ClassVar[dict[str, tuple[str, ...]]]
    #: Upsert keys a user may choose; the first is the default.
    keys: ClassVar[tuple[str, ...]]
    #: Custom field entity whose fields may be mapped ("company"), or None.
    custom_entity: ClassVar[str | None] = None
    #: Fields that must be mapped for an import to start.
    required: ClassVar[tuple[str, ...]] = ()

    def permissions(self, options: ImportOptions) -> list[str]:
        raise NotImplementedError

    def rollback_permissions(self) -> list[str]:
        raise NotImplementedError

    def units(self, rows: list[Row]) -> Iterator[list[Row]]:
        """Groups of rows written together (one row each, unless a target groups)."""
        for row in rows:
            yield [row]

    def process_chunk(self, ctx: Context, rows: list[Row]) -> list[Outcome]:
        """Every unit in its own savepoint: a refused row leaves nothing behind."""
        self.prefetch(ctx, rows)
        out: list[Outcome] = []
        for unit in self.units(rows):

            def step(unit: list[Row] = unit) -> Outcome:
                with transaction.atomic():
                    return self.process(ctx, unit)

            out.append(unit_outcome(unit, step))
        return out

    def prefetch(self, ctx: Context, rows: list[Row]) -> None:
        """Look up in bulk what the chunk's rows will need (optional)."""

    def process(self, ctx: Context, unit: list[Row]) -> Outcome:
        raise NotImplementedError

    def rollback(self, *, actor: User, job: Any, report: dict[str, Any]) -> None:
        raise NotImplementedError


# --- shared helpers -------------------------------------------------------------------------


def text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def parse_when(raw: Any, name: str) -> dt.datetime:
    """An aware datetime from ISO 8601 or a date in a common format (day-first or
    month-first as hygiene reads it); RowError otherwise."""
    if isinstance(raw, dt.datetime):
        return clean_datetime(raw, name)
    if isinstance(raw, dt.date):
        return clean_datetime(dt.datetime.combine(raw, dt.time()), name)
    value = str(raw or "").strip()
    try:
        return clean_datetime(value, name)
    except ValidationError:
        pass
    try:
        day = normalize_date(value)
    except Exception as exc:  # hygiene's own NormalizationError or a parser's ValueError
        raise RowError(name, f"Not a date or date-time: {value[:40]!r}.") from exc
    if day is None:
        raise RowError(name, f"Not a date or date-time: {value[:40]!r}.")
    return clean_datetime(dt.datetime.combine(day, dt.time()), name)


def email_address_and_key(raw: str) -> tuple[str, str]:
    """A contact email cell's normalised address and match key (NormalizationError)."""
    address = normalize_email(raw)
    return address, email_match_key(address)


def find_contact(
    ctx: Context,
    values: Mapping[str, Any],
    *,
    email: str,
    external_id: str,
    address_of: Callable[[str], tuple[str, str]] = email_address_and_key,
) -> int:
    """The id of the visible contact named by a row's email or contact external id
    (``address_of``: ``email_address_and_key``, or a memo of it)."""
    ext = text(values, external_id)
    raw_email = text(values, email)
    if not ext and not raw_email:
        raise RowError(email, "No contact email or contact external id in this row.")
    if ext:
        key = ("ext", ext)
        if key not in ctx.contacts:
            ctx.contacts[key] = (
                contacts_visible_to(ctx.actor)
                .filter(external_id=ext)
                .values_list("pk", flat=True)
                .first()
            )
        if ctx.contacts[key] is not None:
            return ctx.contacts[key]  # type: ignore[return-value]
        if ctx.erased is not None and ctx.erased.match("external_id", ext):
            raise RowSkipped(external_id, ERASED_REASON)
        if not raw_email:
            raise RowError(external_id, f"No contact with external id {ext[:60]!r}.")
    try:
        address, match = address_of(raw_email)
    except NormalizationError as exc:
        raise RowError(email, f"Not a valid email address: {raw_email[:60]!r}.") from exc
    key = ("email", match)
    if key not in ctx.contacts:
        ctx.contacts[key] = (
            contacts_visible_to(ctx.actor)
            .filter(email_match_key=key[1])
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
    found = ctx.contacts[key]
    if found is None:
        if ctx.erased is not None and ctx.erased.match("email", key[1]):
            raise RowSkipped(email, ERASED_REASON)  # their history is not imported either
        raise RowError(email, f"No contact with email {address[:80]!r}.")
    return found


def prefetch_contacts(
    ctx: Context,
    rows: list[Row],
    *,
    email: str,
    external_id: str,
    address_of: Callable[[str], tuple[str, str]] = email_address_and_key,
    keep_known: bool = False,
) -> None:
    """Fill ``ctx.contacts`` for a chunk's rows with two queries instead of one per row;
    ``find_contact`` (with the same ``address_of``) then answers from it exactly as its
    own queries would. ``keep_known``: values already in ``ctx.contacts`` are not
    looked up again."""
    keys: set[str] = set()
    exts: set[str] = set()
    for _, values in rows:
        if text(values, external_id):
            exts.add(text(values, external_id))
        raw = text(values, email)
        if raw:
            with contextlib.suppress(NormalizationError):  # find_contact reports it
                keys.add(address_of(raw)[1])
    visible = contacts_visible_to(ctx.actor)
    for kind, field_name, wanted in (
        ("ext", "external_id", exts),
        ("email", "email_match_key", keys),
    ):
        found: dict[str, int] = {}
        if keep_known:
            wanted = wanted - {v for k, v in ctx.contacts if k == kind}
        items = sorted(wanted)
        for i in range(0, len(items), 500):
            batch = items[i : i + 500]
            pairs = visible.filter(**{f"{field_name}__in": batch}).values_list(field_name, "pk")
            for value, pk in pairs:
                found[value] = min(pk, found.get(value, pk))
        for value in items:
            ctx.contacts[(kind, value)] = found.get(value)


def jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)
