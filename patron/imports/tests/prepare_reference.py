"""The slow path row preparation is compared with: one hygiene call per row, no memo, no
fast path (``contact_input_normalize`` on the row's hygiene fields), and otherwise the
row logic of ``prepare_row`` as it was before its shortcuts (kept verbatim)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from patron.contacts.normalize import search_text_for
from patron.hygiene.normalize import (
    clean_text,
    contact_input_normalize,
    email_match_key,
    name_key,
    phone_match_key,
)
from patron.imports.cells import unescape_cell
from patron.imports.prepare import (
    _MAX_LENGTH,
    COMPANY_MAX,
    HYGIENE_FIELDS,
    Plan,
    Prepared,
    _custom_value,
    _header_of,
    _key_label,
    _split_tags,
    _stage,
)
from patron.imports.seen import fingerprint


def reference_prepare_row(
    plan: Plan, row: int, cells: Sequence[Any], problem: str = ""
) -> Prepared:
    p = Prepared(row=row)
    if problem:
        p.errors.append(("", problem))
        return p
    data: dict[str, Any] = {}
    plain: dict[str, Any] = {}
    custom_raw: dict[str, Any] = {}
    headers = plan.headers
    for index, target in plan.columns:
        raw = cells[index]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        if isinstance(raw, str) and raw[:1] == "'":
            raw = unescape_cell(raw)
        if target in HYGIENE_FIELDS:
            data[target] = raw
        elif target.startswith("custom:"):
            custom_raw[target[7:]] = (raw, headers[index])
        else:
            plain[target] = (raw, headers[index])
    norm = contact_input_normalize(data, default_region=plan.region, on_invalid="flag")
    fast_key = None
    values = dict(norm.values)
    invalid = dict(norm.invalid)
    touched = set(norm.touched)
    for target, (raw, _header) in plain.items():
        text = clean_text(str(raw)) if isinstance(raw, str) else clean_text(raw)
        if target == "tags":
            p.tags = tuple(_split_tags(text))
            continue
        if target == "company":
            if len(text) > COMPANY_MAX:
                invalid["company"] = {"value": text[:1000], "reason": "Company name too long."}
            else:
                p.company = text
            continue
        touched.add(target)
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
    if not any(values.get(k) for k in ("first_name", "last_name", "full_name", "email", "phone")):
        p.errors.append(("", "A contact needs at least a name, an email or a phone."))
        return p
    parts = ("first_name", "last_name", "middle_name")
    if any(values.get(k) for k in parts) and not values.get("full_name"):
        values["full_name"] = " ".join(
            values[k] for k in ("first_name", "middle_name", "last_name") if values.get(k)
        )
    p.values = values
    p.invalid = invalid
    p.touched = tuple(sorted(touched))
    p.tags = tuple(dict.fromkeys((*p.tags, *plan.tags)))
    email = values.get("email") or ""
    p.email_key = (fast_key if fast_key is not None else email_match_key(email)) if email else ""
    p.name_key = name_key(values.get("first_name", ""), values.get("last_name", ""))
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
