"""The published JSON Schema of rule trees (served at /api/v1/segments/schema and kept in
docs/segments-rules.schema.json; a test checks the two agree).

The schema describes the shape; ``tree.validate`` adds what a schema cannot say: which
fields exist in this workspace, which operators apply to each field's type, limits.
"""

from __future__ import annotations

from typing import Any

from patron.segments.rules.catalogue import (
    COMPARE_OPS,
    CONSENT_CHANNELS,
    CONSENT_PURPOSES,
    OPS_BY_TYPE,
    PROPERTY_OPS,
    SET_OPS,
)
from patron.segments.rules.tree import (
    EVENT_COUNT_OPS,
    EVENT_TIME_OPS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_LIST,
    MAX_TEXT,
    MAX_WHERE,
    ORDER_MEASURES,
    SURVEY_KINDS,
)

_FIELD_OPS = sorted({op for ops in OPS_BY_TYPE.values() for op in ops})
_TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
_DAYS = {"type": "integer", "minimum": 1, "maximum": MAX_DAYS}
_WINDOW = {"oneOf": [_DAYS, {"type": "null"}], "description": "Only the last N days."}
_SCALAR = {"type": ["string", "number", "boolean"]}
_ID = {"type": "integer", "minimum": 1}


def _cond(kind: str, props: dict[str, Any], required: list[str], doc: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": doc,
        "properties": {"kind": {"const": kind}, **props},
        "required": ["kind", *required],
        "additionalProperties": False,
    }


def json_schema() -> dict[str, Any]:
    value = {
        "description": "Scalar, [low, high] for between, a list for in; absent for is_set.",
        "oneOf": [
            _SCALAR,
            {"type": "array", "items": _SCALAR, "minItems": 1, "maxItems": MAX_LIST},
        ],
    }
    compare = {"enum": list(COMPARE_OPS)}
    defs: dict[str, Any] = {
        "node": {
            "oneOf": [
                {"$ref": "#/$defs/and"},
                {"$ref": "#/$defs/or"},
                {"$ref": "#/$defs/not"},
                {"$ref": "#/$defs/condition"},
            ]
        },
        "and": {
            "type": "object",
            "properties": {"and": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["and"],
            "additionalProperties": False,
        },
        "or": {
            "type": "object",
            "properties": {"or": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["or"],
            "additionalProperties": False,
        },
        "not": {
            "type": "object",
            "properties": {"not": {"$ref": "#/$defs/node"}},
            "required": ["not"],
            "additionalProperties": False,
        },
        "condition": {
            "oneOf": [
                _cond(
                    "field",
                    {
                        "field": {
                            "type": "string",
                            "description": "A contact field, company.<field>, "
                            "custom.<key>, events.<aggregate> or score.<name>.",
                        },
                        "op": {"enum": _FIELD_OPS},
                        "value": value,
                    },
                    ["field", "op"],
                    "A contact field, custom field or company field.",
                ),
                _cond("tag", {"tag": _TEXT}, ["tag"], "Has the tag."),
                _cond("list", {"list": _ID}, ["list"], "Is on the static list."),
                _cond(
                    "segment",
                    {"segment": _ID},
                    ["segment"],
                    "Is a member of another segment (cycles are rejected).",
                ),
                _cond(
                    "consent",
                    {
                        "purpose": {"enum": list(CONSENT_PURPOSES)},
                        "channel": {"enum": list(CONSENT_CHANNELS)},
                    },
                    ["purpose", "channel"],
                    "The latest consent ledger entry for the purpose and channel is granted.",
                ),
                _cond(
                    "event",
                    {
                        "event": _TEXT,
                        "op": {"enum": list(EVENT_COUNT_OPS), "default": "at_least"},
                        "count": {"type": "integer", "minimum": 0, "default": 1},
                        "within_days": _WINDOW,
                        "where": {
                            "type": "array",
                            "maxItems": MAX_WHERE,
                            "items": {
                                "type": "object",
                                "properties": {
                                    "property": {
                                        "type": "string",
                                        "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$",
                                    },
                                    "op": {"enum": list(PROPERTY_OPS)},
                                    "value": value,
                                },
                                "required": ["property", "op"],
                                "additionalProperties": False,
                            },
                        },
                    },
                    ["event"],
                    "Performed a (track) event a number of times, optionally recently and "
                    "with property filters.",
                ),
                _cond(
                    "event_time",
                    {
                        "event": _TEXT,
                        "which": {"enum": ["first", "last"]},
                        "op": {"enum": list(EVENT_TIME_OPS)},
                        "value": {"type": ["string", "integer"]},
                    },
                    ["event", "which", "op", "value"],
                    "When an event was first or last performed.",
                ),
                _cond(
                    "orders",
                    {
                        "measure": {"enum": list(ORDER_MEASURES)},
                        "op": compare,
                        "value": value,
                        "within_days": _WINDOW,
                    },
                    ["measure", "op", "value"],
                    "Order count, total or average spend (completed and partially refunded "
                    "orders; spend net of refunds).",
                ),
                _cond(
                    "bought",
                    {
                        "by": {"enum": ["product", "category"]},
                        "value": _TEXT,
                        "within_days": _WINDOW,
                    },
                    ["by", "value"],
                    "Bought a product (by SKU) or from a category.",
                ),
                _cond(
                    "tickets",
                    {"op": compare, "value": value},
                    ["op", "value"],
                    "Number of open (open or pending) support tickets.",
                ),
                _cond(
                    "survey",
                    {
                        "survey": {"enum": list(SURVEY_KINDS)},
                        "op": {"enum": [*COMPARE_OPS, *SET_OPS]},
                        "value": value,
                    },
                    ["survey", "op"],
                    "The latest NPS (0-10) or CSAT (1-5) score.",
                ),
            ]
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://patron.example/schemas/segment-rules.json",
        "title": "Patron segment rules",
        "description": f"A rule tree: groups nest at most {MAX_DEPTH} levels deep.",
        "$ref": "#/$defs/node",
        "$defs": defs,
    }
