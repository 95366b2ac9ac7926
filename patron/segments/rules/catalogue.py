"""The allowlist: every field a rule may name, its type, and the operators of each type.

Nothing outside this catalogue can reach a query: the compiler reads column names from
these specs, never from the rule. Custom fields are added from their definitions (by id),
predicted scores through ``register_score_fields`` once a scoring app provides them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from patron.core.permissions import P

# Field types and the operators each allows.
TEXT, CHOICE, NUMBER, DATE, DATETIME, BOOLEAN, REF, MULTI = (
    "text",
    "choice",
    "number",
    "date",
    "datetime",
    "boolean",
    "ref",
    "multi",
)
SET_OPS = ("is_set", "not_set")
RELATIVE_OPS = ("in_last_days", "in_next_days", "older_than_days")
OPS_BY_TYPE: dict[str, tuple[str, ...]] = {
    TEXT: ("eq", "neq", "contains", "starts_with", "ends_with", "in", *SET_OPS),
    CHOICE: ("eq", "neq", "in", *SET_OPS),
    NUMBER: ("eq", "neq", "gt", "gte", "lt", "lte", "between", *SET_OPS),
    DATE: (
        "eq",
        "before",
        "after",
        "between",
        *RELATIVE_OPS,
        "anniversary_within_days",
        *SET_OPS,
    ),
    DATETIME: ("before", "after", "between", *RELATIVE_OPS, *SET_OPS),
    BOOLEAN: ("eq", *SET_OPS),
    REF: ("eq", "neq", "in", *SET_OPS),
    MULTI: ("eq", "neq", "in", *SET_OPS),
}
COMPARE_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "between")
#: Operators on event properties (values are JSON: strings, numbers or booleans).
PROPERTY_OPS = ("eq", "neq", "gt", "gte", "lt", "lte", "contains", "in", *SET_OPS)

CONSENT_PURPOSES = (
    "email_marketing",
    "sms_marketing",
    "phone_marketing",
    "profiling",
    "analytics",
    "sale_share",
)
CONSENT_CHANNELS = ("email", "sms", "phone", "post", "web", "any")


@dataclass(frozen=True)
class FieldSpec:
    """One field a rule may name. ``source`` says where the compiler finds it:

    - ``contact``: a column of Contact (``column``); ``nullable`` if it holds NULLs;
    - ``owner_team``: the team of the contact's owner;
    - ``company``: a column of any company the contact is linked to;
    - ``custom``: a CustomFieldValue of field ``custom_field_id`` (typed column by type);
    - ``summary``: a column of the contact's ContactEventSummary (counts default to 0);
    - ``score``: a column of a per-contact score model (``score_model``), see below.
    """

    key: str
    label: str
    type: str
    source: str
    column: str = ""
    group: str = "Contact"
    choices: tuple[tuple[str, str], ...] = ()
    sensitive: bool = False
    nullable: bool = False
    permission: str = P.CONTACT_VIEW
    custom_field_id: int | None = None
    score_model: Any = None
    #: An integer column: fractional values are rounded to the equivalent whole bound.
    integer: bool = False

    @property
    def ops(self) -> tuple[str, ...]:
        return OPS_BY_TYPE[self.type]


def _contact(key: str, label: str, type_: str, **kw: Any) -> FieldSpec:
    return FieldSpec(key=key, label=label, type=type_, source="contact", column=key, **kw)


CONTACT_FIELDS: tuple[FieldSpec, ...] = (
    _contact("full_name", "Full name", TEXT),
    _contact("first_name", "First name", TEXT),
    _contact("last_name", "Last name", TEXT),
    _contact("email", "Email", TEXT),
    _contact("phone", "Phone", TEXT, sensitive=True),
    _contact("job_title", "Job title", TEXT),
    _contact("address_line1", "Address", TEXT),
    _contact("city", "City", TEXT),
    _contact("region", "Region", TEXT),
    _contact("postal_code", "Postal code", TEXT),
    _contact("country", "Country", TEXT),
    _contact("language", "Language", TEXT),
    _contact("time_zone", "Time zone", TEXT),
    _contact("source", "Source", TEXT),
    _contact("external_id", "External id", TEXT, nullable=True),
    _contact("birthday", "Birthday", DATE, sensitive=True, nullable=True),
    _contact("created_at", "Created", DATETIME),
    _contact("updated_at", "Updated", DATETIME),
    FieldSpec("owner", "Owner", REF, source="contact", column="owner_id", nullable=True),
    FieldSpec("team", "Team", REF, source="owner_team", column="owner__team_id", nullable=True),
)

COMPANY_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        f"company.{col}",
        label,
        type_,
        source="company",
        column=col,
        group="Company",
        permission=P.COMPANY_VIEW,
        nullable=type_ == NUMBER,
        integer=col == "employees",
    )
    for col, label, type_ in (
        ("name", "Company name", TEXT),
        ("domain", "Company domain", TEXT),
        ("industry", "Industry", TEXT),
        ("size", "Company size", TEXT),
        ("country", "Company country", TEXT),
        ("city", "Company city", TEXT),
        ("employees", "Employees", NUMBER),
        ("annual_revenue", "Annual revenue", NUMBER),
    )
)

SUMMARY_FIELDS: tuple[FieldSpec, ...] = tuple(
    FieldSpec(
        f"events.{key}",
        label,
        type_,
        source="summary",
        column=col,
        group="Activity",
        permission=P.EVENT_VIEW,
        nullable=type_ == DATETIME,
        integer=type_ == NUMBER,
    )
    for key, col, label, type_ in (
        ("count", "event_count", "Events (all time)", NUMBER),
        ("page_views", "page_views", "Page views", NUMBER),
        ("sessions", "sessions", "Sessions", NUMBER),
        ("first_seen", "first_seen", "First seen", DATETIME),
        ("last_seen", "last_seen", "Last seen", DATETIME),
    )
)

_CUSTOM_TYPES = {
    "text": TEXT,
    "url": TEXT,
    "choice": CHOICE,
    "multi_choice": MULTI,
    "number": NUMBER,
    "date": DATE,
    "boolean": BOOLEAN,
}

# --- Predicted and RFM scores (hook) -------------------------------------------------

#: Callables returning FieldSpecs with source="score": a model with a ``contact`` FK (one
#: row per contact) and a numeric or text column. The prediction app registers one.
_SCORE_PROVIDERS: list[Callable[[], Iterable[FieldSpec]]] = []


def register_score_fields(provider: Callable[[], Iterable[FieldSpec]]) -> None:
    """Make predicted/RFM scores usable in rules as ``score.<name>`` fields."""
    if provider not in _SCORE_PROVIDERS:
        _SCORE_PROVIDERS.append(provider)


@dataclass
class Catalogue:
    """The fields of this workspace: built-in ones, custom fields, scores."""

    fields: dict[str, FieldSpec] = field(default_factory=dict)
    lifecycle_stages: tuple[tuple[str, str], ...] = ()

    @classmethod
    def build(
        cls,
        custom: Iterable[tuple[int, str, str, str, list[Any], bool]] = (),
        stages: Iterable[tuple[str, str]] = (),
        scores: Iterable[FieldSpec] = (),
    ) -> Catalogue:
        """From custom field rows ``(id, key, label, type, choices, sensitive)``."""
        stages = tuple(stages)
        specs: list[FieldSpec] = [
            *CONTACT_FIELDS,
            FieldSpec(
                "lifecycle_stage",
                "Lifecycle stage",
                CHOICE,
                source="contact",
                column="lifecycle_stage",
                choices=stages,
            ),
            *COMPANY_FIELDS,
            *SUMMARY_FIELDS,
        ]
        for pk, key, label, ftype, choices, sensitive in custom:
            specs.append(
                FieldSpec(
                    f"custom.{key}",
                    label,
                    _CUSTOM_TYPES.get(ftype, TEXT),
                    source="custom",
                    group="Custom fields",
                    custom_field_id=pk,
                    sensitive=sensitive,
                    nullable=True,
                    choices=tuple((str(c), str(c)) for c in choices or ()),
                )
            )
        specs.extend(s for s in scores if s.key.startswith("score."))
        return cls(fields={s.key: s for s in specs}, lifecycle_stages=stages)

    @classmethod
    def load(cls) -> Catalogue:
        """This workspace's catalogue, from the database."""
        from patron.contacts.models import CustomField
        from patron.contacts.selectors import lifecycle_stages

        custom = CustomField.objects.filter(entity=CustomField.Entity.CONTACT).values_list(
            "id", "key", "label", "type", "choices", "sensitive"
        )
        stages = [(s["key"], s.get("label", s["key"])) for s in lifecycle_stages()]
        scores = [spec for provider in _SCORE_PROVIDERS for spec in provider()]
        return cls.build(custom=list(custom), stages=stages, scores=scores)

    def get(self, key: str) -> FieldSpec | None:
        return self.fields.get(key)

    def describe(self) -> list[dict[str, Any]]:
        """The field picker's data: key, label, group, type, operators, choices."""
        return [
            {
                "key": s.key,
                "label": s.label,
                "group": s.group,
                "type": s.type,
                "ops": list(s.ops),
                "choices": [list(c) for c in s.choices],
                "sensitive": s.sensitive,
            }
            for s in self.fields.values()
        ]
