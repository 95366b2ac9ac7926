"""The choices a person makes before an import runs (stored on the job as JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from patron.hygiene.normalize import NormalizationError, clean_text

KEYS = ("email", "external_id", "phone")
ON_NEW = ("create", "skip")
ON_EXISTING = ("update", "fill_empty", "skip")
ON_ERROR = ("skip", "stop")
ON_DUPLICATE = ("skip", "create")


@dataclass(frozen=True)
class ImportOptions:
    #: Upsert key: email, external_id, phone, or custom:<key> of a unique custom field.
    key: str = "email"
    #: Rows whose key matches no contact: create them, or skip them.
    on_new: str = "create"
    #: Rows whose key matches a contact: update changed values, fill only empty ones, skip.
    on_existing: str = "update"
    #: Rows with errors: skip and report them, or stop before anything is written.
    on_error: str = "skip"
    #: New rows that hygiene scores as a likely duplicate of another contact.
    on_duplicate: str = "skip"
    #: Tags added to every contact the import creates or updates.
    tags: tuple[str, ...] = field(default_factory=tuple)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        return data


def options_clean(
    raw: Mapping[str, Any] | None, *, unique_custom_keys: set[str], target: str = "contacts"
) -> ImportOptions:
    """Options from user input, checked against allowlists; ValidationError otherwise.

    Targets other than contacts have their own upsert keys (``Target.keys``)."""
    raw = dict(raw or {})
    keys: tuple[str, ...] = KEYS
    if target != "contacts":
        from patron.imports.targets import target_for

        keys = target_for(target).keys
        if not raw.get("key") or (raw.get("key") == "email" and "email" not in keys):
            raw["key"] = keys[0]
    errors: dict[str, list[str]] = {}
    unknown = set(raw) - {"key", "on_new", "on_existing", "on_error", "on_duplicate", "tags"}
    for name in sorted(unknown):
        errors[str(name)[:60]] = ["Unknown option."]
    values: dict[str, Any] = {}
    key = str(raw.get("key") or keys[0])
    if target != "contacts" and key not in keys:
        errors["key"] = [f"Choose one of: {', '.join(keys)}."]
    elif key not in keys and not (key.startswith("custom:") and key[7:] in unique_custom_keys):
        errors["key"] = [
            "Choose email, external_id, phone or a unique custom field (custom:<key>)."
        ]
    values["key"] = key
    for name, allowed in (
        ("on_new", ON_NEW),
        ("on_existing", ON_EXISTING),
        ("on_error", ON_ERROR),
        ("on_duplicate", ON_DUPLICATE),
    ):
        value = str(raw.get(name) or allowed[0])
        if value not in allowed:
            errors[name] = [f"Choose one of: {', '.join(allowed)}."]
        values[name] = value
    tags_raw = raw.get("tags") or []
    if isinstance(tags_raw, str):
        tags_raw = tags_raw.split(",")
    tags: list[str] = []
    if not isinstance(tags_raw, (list, tuple)):
        errors["tags"] = ["Expected a list of tag names."]
        tags_raw = []
    for item in tags_raw[:20]:
        try:
            name = clean_text(str(item), max_length=80)
        except NormalizationError:
            errors["tags"] = ["A tag name may have at most 80 characters."]
            continue
        if name and name not in tags:
            tags.append(name)
    if errors:
        raise ValidationError(errors)
    return ImportOptions(**values, tags=tuple(tags))


def options_of(job: Any) -> ImportOptions:
    data = dict(job.options or {})
    data["tags"] = tuple(data.get("tags") or ())
    return ImportOptions(**data)
