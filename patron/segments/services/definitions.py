"""Writes of segment definitions: create, update, delete, install templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from patron.accounts.models import User
from patron.contacts.models import ContactList
from patron.core.permissions import P, PermissionDenied
from patron.core.services import activity_record, diff, snapshot
from patron.segments.models import Segment
from patron.segments.rules import Catalogue, RuleError, parse_rules, validate
from patron.segments.rules.deps import dependencies
from patron.segments.rules.tree import referenced_lists, referenced_segments

_FIELDS = ("name", "description", "kind", "rules")
MAX_NAME = 200


def _require(actor: Any, code: str) -> None:
    if actor is not None and not (
        getattr(actor, "is_authenticated", True) and actor.has_perm_code(code)
    ):
        raise PermissionDenied()


def rules_from_input(
    *,
    actor: Any,
    rules: Any = None,
    text: str | None = None,
    catalogue: Catalogue | None = None,
    segment_id: int | None = None,
) -> dict[str, Any]:
    """A validated tree from JSON rules or the text syntax (exactly one of them).

    Checks what needs the database too: referenced lists and segments exist, segments are
    not templates, and the reference graph stays free of cycles. Raises ValidationError
    ``{"rules": [...]}`` listing every problem.
    """
    if (rules is None) == (text is None):
        raise ValidationError({"rules": ["Give the rules either as JSON or as text."]})
    catalogue = catalogue or Catalogue.load()
    try:
        tree = validate(parse_rules(text) if text is not None else rules, catalogue, actor)
    except RuleError as exc:
        raise ValidationError({"rules": exc.errors}) from exc
    errors: list[str] = []
    lists = referenced_lists(tree)
    known_lists = set(ContactList.objects.filter(pk__in=lists).values_list("pk", flat=True))
    errors += [f"No such list: {pk}." for pk in sorted(lists - known_lists)]
    refs = referenced_segments(tree)
    if refs:
        found = {s.pk: s for s in Segment.objects.filter(pk__in=refs)}
        errors += [f"No such segment: {pk}." for pk in sorted(refs - set(found))]
        errors += [
            f"Segment {pk} is a template; use a segment made from it."
            for pk, s in found.items()
            if s.is_template
        ]
        cycle = _cycle(segment_id, refs)
        if cycle:
            errors.append("Segments may not refer to each other in a cycle: " + cycle + ".")
    if errors:
        raise ValidationError({"rules": errors})
    return tree


def _cycle(segment_id: int | None, refs: set[int]) -> str:
    """A cycle (as "a -> b -> a") that ``segment_id`` referring to ``refs`` would close."""
    if segment_id is None:
        return ""
    graph: dict[int, set[int]] = {}
    for pk, rules in Segment.objects.values_list("pk", "rules"):
        graph[pk] = referenced_segments(rules) if isinstance(rules, dict) else set()
    graph[segment_id] = set(refs)
    path: list[int] = []

    def visit(node: int, seen: set[int]) -> str:
        if node == segment_id and path:
            return " -> ".join(str(p) for p in [*path, node])
        if node in seen:
            return ""
        seen.add(node)
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            found = visit(nxt, seen)
            if found:
                return found
        path.pop()
        return ""

    return visit(segment_id, set())


def _clean(data: Mapping[str, Any], actor: Any, segment: Segment | None) -> dict[str, Any]:
    unknown = set(data) - {*_FIELDS, "text"}
    if unknown:
        raise ValidationError({k: ["Unknown field."] for k in sorted(unknown)})
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    if "name" in data or segment is None:
        name = str(data.get("name") or "").strip()
        if not name or len(name) > MAX_NAME:
            errors["name"] = [f"A name of 1 to {MAX_NAME} characters is required."]
        out["name"] = name
    if "description" in data:
        out["description"] = str(data["description"] or "")[:5000]
    if "kind" in data:
        if data["kind"] not in Segment.Kind.values:
            errors["kind"] = [f"Kind is one of: {', '.join(Segment.Kind.values)}."]
        elif segment is not None and data["kind"] != segment.kind:
            errors["kind"] = ["The kind of a segment cannot change; make a new segment."]
        out["kind"] = data["kind"]
    if "rules" in data or "text" in data:
        try:
            out["rules"] = rules_from_input(
                actor=actor,
                rules=data.get("rules"),
                text=data.get("text"),
                segment_id=segment.pk if segment else None,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif segment is None:
        errors["rules"] = ["Rules are required."]
    if errors:
        raise ValidationError(errors)
    return out


def _after_commit_build(segment: Segment) -> None:
    if segment.is_template:
        return
    from patron.segments.tasks import segment_build_schedule

    transaction.on_commit(lambda: segment_build_schedule(segment.pk))


@transaction.atomic
def segment_create(*, actor: User | None, data: Mapping[str, Any]) -> Segment:
    """A new segment (live by default); its membership is built after commit."""
    _require(actor, P.SEGMENT_MANAGE)
    values = _clean(data, actor, None)
    segment = Segment(**values, created_by=actor if getattr(actor, "pk", None) else None)
    segment.depends_on = sorted(dependencies(segment.rules, Catalogue.load()))
    segment.save()
    activity_record(
        actor=actor,
        verb="segment.created",
        subject=segment,
        changes={"after": snapshot(segment, _FIELDS)},
    )
    _after_commit_build(segment)
    return segment


@transaction.atomic
def segment_update(
    *, actor: User | None, segment: Segment | int, data: Mapping[str, Any]
) -> Segment:
    """Change a segment; new rules rebuild its membership (transitions recorded)."""
    _require(actor, P.SEGMENT_MANAGE)
    pk = segment.pk if isinstance(segment, Segment) else segment
    segment = Segment.objects.select_for_update().get(pk=pk)
    values = _clean(data, actor, segment)
    before = snapshot(segment, _FIELDS)
    rules_changed = "rules" in values and values["rules"] != segment.rules
    for key, value in values.items():
        setattr(segment, key, value)
    fields = [*values, "updated_at"]
    if rules_changed:
        segment.depends_on = sorted(dependencies(segment.rules, Catalogue.load()))
        segment.status = Segment.Status.PENDING
        fields += ["depends_on", "status"]
    segment.save(update_fields=fields)
    activity_record(
        actor=actor,
        verb="segment.updated",
        subject=segment,
        changes=diff(before, snapshot(segment, _FIELDS)),
    )
    if rules_changed:
        _after_commit_build(segment)
    return segment


@transaction.atomic
def segment_delete(*, actor: User | None, segment: Segment | int) -> None:
    """Delete a segment and its history; refused while another segment refers to it."""
    _require(actor, P.SEGMENT_MANAGE)
    pk = segment.pk if isinstance(segment, Segment) else segment
    segment = Segment.objects.select_for_update().get(pk=pk)
    users = [
        s.name
        for s in Segment.objects.exclude(pk=pk).only("name", "rules")
        if isinstance(s.rules, dict) and pk in referenced_segments(s.rules)
    ]
    if users:
        raise ValidationError(
            {"segment": [f"Segment is used by: {', '.join(sorted(users))}. Change those first."]}
        )
    activity_record(
        actor=actor,
        verb="segment.deleted",
        subject=segment,
        changes={"before": snapshot(segment, _FIELDS)},
    )
    segment.delete()
