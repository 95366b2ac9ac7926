"""Rule trees: catalogue (allowlist), validation, text syntax, JSON Schema, dependencies."""

from patron.segments.rules.catalogue import Catalogue, FieldSpec, register_score_fields
from patron.segments.rules.text import parse_rules, print_rules
from patron.segments.rules.tree import RuleError, conditions, validate

__all__ = [
    "Catalogue",
    "FieldSpec",
    "RuleError",
    "conditions",
    "parse_rules",
    "print_rules",
    "register_score_fields",
    "validate",
]
