"""Schemas and types shared by every app's JSON API module."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from ninja import Path, Schema
from pydantic import BeforeValidator, ConfigDict, Field

from patron.core.clean import MAX_ID


class InputSchema(Schema):
    """A request body: unknown keys are errors (``role``, ``is_staff``, ``owner`` ...)."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = Field(
        None, description="Messages per field, for validation errors (422)."
    )


#: Error responses every authenticated endpoint may give, for the OpenAPI document.
ERRORS: dict[int, type[Schema]] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
    429: ErrorOut,
}


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("Expected an id.")
    return value


def _iso_text(value: Any) -> Any:
    if value is not None and not isinstance(value, (str, dt.date)):
        raise ValueError("Expected an ISO 8601 string.")
    return value


#: A record id in a body or a query string.
Id = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_ID)]
#: A record id in the URL path.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A date given as "YYYY-MM-DD" (numbers are not dates).
IsoDate = Annotated[dt.date, BeforeValidator(_iso_text)]
#: An ISO 8601 timestamp (numbers are not timestamps).
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_iso_text)]
#: A short query-string filter.
Filter = Annotated[str, Field(max_length=200)]


class PageQuery(Schema):
    cursor: str | None = Field(
        None, max_length=500, description="The next_cursor of the previous page."
    )
    limit: int = Field(50, ge=1, le=500, description="Items per page (1-500).")


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """``{"items": [item, ...], "next_cursor": str | null}`` under a readable name."""
    return type(
        name,
        (Schema,),
        {
            "__annotations__": {"items": list[item], "next_cursor": str | None},  # type: ignore[valid-type]
            "__module__": item.__module__,
        },
    )
