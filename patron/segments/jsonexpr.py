"""Typed reads of one key of a JSON column, the same on SQLite and PostgreSQL.

Each expression yields the value only when it has the expected JSON type, else NULL, so a
comparison never casts text to a number (which PostgreSQL would refuse). The key is a
query parameter, never part of the SQL text (and rule validation allows only
``[A-Za-z_][A-Za-z0-9_]*`` keys anyway).
"""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, Expression, F, FloatField, TextField


class _JsonKey(Expression):
    #: (PostgreSQL SQL, SQLite SQL) with {col} and {k} (the key's placeholder)
    templates: tuple[str, str] = ("", "")

    def __init__(self, column: str, key: str) -> None:
        super().__init__(output_field=self.output_field_class())
        self.column: Any = F(column)
        self.key = key

    output_field_class: Any = TextField

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Any) -> None:
        (self.column,) = exprs

    def resolve_expression(self, *args: Any, **kwargs: Any) -> Any:
        c = self.copy()
        c.column = self.column.resolve_expression(*args, **kwargs)
        return c

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        col_sql, col_params = compiler.compile(self.column)
        if connection.vendor == "postgresql":
            template, key = self.templates[0], self.key
        else:
            template, key = self.templates[1], '$."' + self.key + '"'
        n = template.count("{k}")
        sql = template.replace("{col}", col_sql).replace("{k}", "%s")
        params: list[Any] = []
        # Parameters in order of appearance: the column's own, then each key placeholder.
        for part in template.split("{"):
            if part.startswith("col}"):
                params.extend(col_params)
            elif part.startswith("k}"):
                params.append(key)
        assert len(params) == n + template.count("{col}") * len(col_params)
        return f"({sql})", params


class JsonText(_JsonKey):
    templates = (
        "CASE WHEN jsonb_typeof({col} -> {k}) = 'string' THEN {col} ->> {k} END",
        "CASE WHEN json_type({col}, {k}) = 'text' THEN json_extract({col}, {k}) END",
    )


class JsonNumber(_JsonKey):
    output_field_class = FloatField
    templates = (
        "CASE WHEN jsonb_typeof({col} -> {k}) = 'number' "
        "THEN ({col} ->> {k})::double precision END",
        "CASE WHEN json_type({col}, {k}) IN ('integer', 'real') "
        "THEN CAST(json_extract({col}, {k}) AS REAL) END",
    )


class JsonBool(_JsonKey):
    output_field_class = BooleanField
    templates = (
        "CASE WHEN jsonb_typeof({col} -> {k}) = 'boolean' THEN ({col} ->> {k})::boolean END",
        "CASE json_type({col}, {k}) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END",
    )


class JsonPresent(_JsonKey):
    """True when the key holds a value other than JSON null."""

    output_field_class = BooleanField
    templates = (
        "COALESCE(jsonb_typeof({col} -> {k}), 'null') <> 'null'",
        "COALESCE(json_type({col}, {k}), 'null') <> 'null'",
    )
