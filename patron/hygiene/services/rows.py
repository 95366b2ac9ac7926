"""Exact row images for the merge journal, and the tables that hang off a contact.

A row image keeps every concrete column by attname in a JSON-safe form that round-trips
exactly (datetimes with microseconds and offset, decimals as strings), so an undo can
re-insert a deleted row with its original primary key and values.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import models

from patron.contacts.models import Contact

# Tables of this app point at contacts but are the journal and the queue themselves.
_OWN_APPS = {"hygiene"}
CHUNK = 900  # ids per IN (...) list, safe for every SQLite build


def _encode(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    return value


def row_image(obj: models.Model) -> dict[str, Any]:
    return {
        "model": obj._meta.label_lower,
        "pk": _encode(obj.pk),
        "fields": {f.attname: _encode(f.value_from_object(obj)) for f in obj._meta.concrete_fields},
    }


def _decode(field: models.Field[Any, Any], value: Any) -> Any:
    if value is None:
        return None
    if isinstance(field, models.BinaryField):
        return base64.b64decode(value)
    if isinstance(field, models.JSONField):
        return value
    if isinstance(field, models.ForeignKey):
        return field.target_field.to_python(value)
    return field.to_python(value)


def row_values(image: dict[str, Any]) -> tuple[type[models.Model], dict[str, Any]]:
    model = apps.get_model(image["model"])
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return model, {k: _decode(fields[k], v) for k, v in image["fields"].items() if k in fields}


def row_restore(image: dict[str, Any]) -> models.Model:
    """Insert the row as it was (same primary key); no auto_now, no save() overrides."""
    model, values = row_values(image)
    obj = model(**values)
    obj.save_base(raw=True, force_insert=True)
    return obj


@dataclass(frozen=True)
class ContactLink:
    """One foreign key to Contact: the rows a merge moves."""

    model: type[models.Model]
    field: models.ForeignKey[Any, Any]
    # Other columns that, with this key, must stay unique (a row of the merged contact
    # that would collide with one of the survivor's is journaled and deleted instead).
    unique_with: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field.name}"


def _unique_sets(model: type[models.Model], field: models.Field[Any, Any]) -> list[tuple[str, ...]]:
    names = {field.name, field.attname}
    sets: list[tuple[str, ...]] = []
    if field.unique:
        sets.append(())
    for together in model._meta.unique_together:
        if names & set(together):
            sets.append(tuple(n for n in together if n not in names))
    for constraint in model._meta.constraints:
        fields = getattr(constraint, "fields", ())
        if isinstance(constraint, models.UniqueConstraint) and names & set(fields):
            sets.append(tuple(n for n in fields if n not in names))
    return [tuple(getattr(model._meta.get_field(n), "attname", n) for n in s) for s in sets]


def contact_links() -> Iterator[ContactLink]:
    """Every foreign key to Contact in every installed app (new tables are picked up)."""
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label in _OWN_APPS or model is Contact:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.ForeignKey) and field.related_model is Contact:
                yield ContactLink(model, field, tuple(_unique_sets(model, field)))


def chunks(ids: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]
