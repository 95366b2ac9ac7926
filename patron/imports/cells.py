"""Spreadsheet formula escaping (exports) and its inverse (re-imports of exports)."""

from __future__ import annotations

from typing import Any

# Characters that make a spreadsheet evaluate a cell, ASCII and full-width forms.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def escape_cell(value: Any) -> Any:
    """A text value that starts like a formula gets a leading apostrophe (shown as text)."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def unescape_cell(value: str) -> str:
    """The inverse, so an exported file imports back to the same values."""
    if value.startswith("'") and value[1:].startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value
