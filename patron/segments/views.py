"""Segment pages: list, visual builder (text syntax beside it, live count, dry run),
detail (members, export, size over time). Every read goes through the scoped selectors;
writes through the services."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from patron.contacts.models import ContactList
from patron.contacts.selectors import require
from patron.core.permissions import P, PermissionDenied
from patron.segments.rules import Catalogue, print_rules
from patron.segments.rules.catalogue import CONSENT_CHANNELS, CONSENT_PURPOSES
from patron.segments.selectors import (
    segment_get,
    segment_history,
    segment_members,
    segment_preview,
    segment_sizes,
    segments_visible_to,
)
from patron.segments.services.definitions import (
    rules_from_input,
    segment_create,
    segment_delete,
    segment_update,
)
from patron.segments.services.membership import segment_dry_run

PAGE = 50


def _guard(request: HttpRequest, code: str) -> Any:
    try:
        require(request.user, code)  # type: ignore[arg-type]
    except PermissionDenied:
        return render(request, "segments/denied.html", status=403)
    return None


@login_required
def segment_list(request: HttpRequest) -> HttpResponse:
    if (denied := _guard(request, P.SEGMENT_VIEW)) is not None:
        return denied
    qs = segments_visible_to(request.user)  # type: ignore[arg-type]
    return render(
        request,
        "segments/list.html",
        {
            "segments": qs.filter(is_template=False).order_by("name"),
            "templates": qs.filter(is_template=True).order_by("description", "name"),
            "can_manage": request.user.has_perm_code(P.SEGMENT_MANAGE),  # type: ignore[union-attr]
        },
    )


def _builder_context(request: HttpRequest, segment: Any, rules: dict[str, Any]) -> dict[str, Any]:
    catalogue = Catalogue.load()
    others = segments_visible_to(request.user).filter(is_template=False)  # type: ignore[arg-type]
    if segment is not None and not segment.is_template:
        others = others.exclude(pk=segment.pk)
    return {
        "segment": segment,
        "rules_json": rules,
        "rules_text": print_rules(rules),
        "builder_data": {
            "fields": catalogue.describe(),
            "lists": [[pk, name] for pk, name in ContactList.objects.values_list("pk", "name")],
            "segments": [[s.pk, s.name] for s in others.only("pk", "name")],
            "purposes": list(CONSENT_PURPOSES),
            "channels": list(CONSENT_CHANNELS),
        },
    }


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    if (denied := _guard(request, P.SEGMENT_MANAGE)) is not None:
        return denied
    actor = request.user
    segment = segment_get(actor, pk) if pk else None  # type: ignore[arg-type]
    rules: dict[str, Any] = segment.rules if segment else {"and": []}
    if segment is None and request.GET.get("template"):
        template = segment_get(actor, request.GET["template"])  # type: ignore[arg-type]
        rules = template.rules
    errors: dict[str, list[str]] = {}
    values = {
        "name": segment.name if segment else "",
        "description": segment.description if segment else "",
        "kind": segment.kind if segment else "dynamic",
    }
    if request.method == "POST":
        values = {k: request.POST.get(k, v) for k, v in values.items()}
        data: dict[str, Any] = {"name": values["name"], "description": values["description"]}
        if request.POST.get("source") == "text":
            data["text"] = request.POST.get("rules_text", "")
        else:
            try:
                data["rules"] = json.loads(request.POST.get("rules_json") or "{}")
            except ValueError:
                data["rules"] = None
        try:
            if segment is None:
                data["kind"] = values["kind"]
                segment = segment_create(actor=actor, data=data)  # type: ignore[arg-type]
            else:
                segment_update(actor=actor, segment=segment, data=data)  # type: ignore[arg-type]
            return redirect("segments:detail", pk=segment.pk)
        except ValidationError as exc:
            errors = exc.message_dict
            raw = data.get("rules")
            rules = raw if isinstance(raw, dict) and "rules" not in errors else rules
    ctx = _builder_context(request, segment, rules)
    ctx.update(
        values=values, errors=errors, rules_text=request.POST.get("rules_text") or ctx["rules_text"]
    )
    return render(request, "segments/edit.html", ctx)


@login_required
@require_POST
def segment_preview_fragment(request: HttpRequest) -> HttpResponse:
    """The live count (htmx): count, sample, canonical text and, when editing, a dry run."""
    if (denied := _guard(request, P.SEGMENT_VIEW)) is not None:
        return denied
    actor = request.user
    ctx: dict[str, Any] = {}
    try:
        if request.POST.get("source") == "text":
            tree = rules_from_input(actor=actor, text=request.POST.get("rules_text", ""))
        else:
            tree = rules_from_input(
                actor=actor, rules=json.loads(request.POST.get("rules_json") or "{}")
            )
        ctx["preview"] = segment_preview(actor, tree, sample=8)  # type: ignore[arg-type]
        ctx["text"] = print_rules(tree)
        ctx["rules_str"] = json.dumps(tree)
        seg_id = request.POST.get("segment_id")
        if seg_id and actor.has_perm_code(P.SEGMENT_MANAGE):  # type: ignore[union-attr]
            segment = segment_get(actor, seg_id)  # type: ignore[arg-type]
            if not segment.is_template:
                ctx["dry_run"] = segment_dry_run(actor=actor, segment=segment, tree=tree)
    except ValidationError as exc:
        ctx["errors"] = [m for msgs in exc.message_dict.values() for m in msgs]
    except ValueError:
        ctx["errors"] = ["The rules are not valid JSON."]
    return render(request, "segments/_preview.html", ctx)


def _chart(points: list[tuple[Any, int]], width: int = 640, height: int = 160) -> dict[str, Any]:
    """Coordinates of a server-rendered SVG line chart of segment size per day."""
    if not points:
        return {}
    top = max(size for _, size in points) or 1
    n = max(len(points) - 1, 1)
    coords = [
        (round(20 + i * (width - 40) / n, 1), round(height - 20 - size * (height - 40) / top, 1))
        for i, (_, size) in enumerate(points)
    ]
    return {
        "width": width,
        "height": height,
        "points": " ".join(f"{x},{y}" for x, y in coords),
        "dots": [(x, y, day, size) for (x, y), (day, size) in zip(coords, points, strict=True)],
        "top": top,
        "first": points[0][0],
        "last": points[-1][0],
    }


@login_required
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if (denied := _guard(request, P.SEGMENT_VIEW)) is not None:
        return denied
    actor = request.user
    segment = segment_get(actor, pk)  # type: ignore[arg-type]
    members = segment_members(actor, segment).order_by("id")  # type: ignore[arg-type]
    after = request.GET.get("after", "")
    if after.isdigit():
        members = members.filter(id__gt=int(after))
    page = list(members[: PAGE + 1])
    more = page[PAGE].pk if len(page) > PAGE else None
    history = (
        segment_history(actor, segment)  # type: ignore[arg-type]
        .select_related("contact")
        .order_by("-id")[:15]
    )
    return render(
        request,
        "segments/detail.html",
        {
            "segment": segment,
            "text": print_rules(segment.rules),
            "members": page[:PAGE],
            "next_after": page[PAGE - 1].pk if more else None,
            "history": history,
            "chart": _chart(segment_sizes(actor, segment)),  # type: ignore[arg-type]
            "can_manage": actor.has_perm_code(P.SEGMENT_MANAGE),  # type: ignore[union-attr]
            "can_export": actor.has_perm_code(P.EXPORT),  # type: ignore[union-attr]
        },
    )


@login_required
def segment_export(request: HttpRequest, pk: int) -> HttpResponse | StreamingHttpResponse:
    """CSV of the members the actor may see (formula-escaped cells)."""
    if (denied := _guard(request, P.EXPORT)) is not None:
        return denied
    from patron.core.services import activity_record
    from patron.imports.cells import escape_cell
    from patron.imports.services.exports import csv_stream

    actor = request.user
    segment = segment_get(actor, pk)  # type: ignore[arg-type]
    qs = segment_members(actor, segment).order_by("id")  # type: ignore[arg-type]
    activity_record(actor=actor, verb="segment.exported", subject=segment)
    header = ["id", "first_name", "last_name", "email", "country", "lifecycle_stage"]
    rows = (
        [escape_cell(v) for v in row] for row in qs.values_list(*header).iterator(chunk_size=2000)
    )
    response = StreamingHttpResponse(csv_stream(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response


@login_required
@require_POST
def segment_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    if (denied := _guard(request, P.SEGMENT_MANAGE)) is not None:
        return denied
    segment = segment_get(request.user, pk)  # type: ignore[arg-type]
    try:
        segment_delete(actor=request.user, segment=segment)  # type: ignore[arg-type]
    except ValidationError as exc:
        from django.contrib import messages

        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect("segments:detail", pk=pk)
    return redirect(reverse("segments:list"))


@login_required
@require_POST
def segment_rebuild_view(request: HttpRequest, pk: int) -> HttpResponse:
    if (denied := _guard(request, P.SEGMENT_MANAGE)) is not None:
        return denied
    segment = segment_get(request.user, pk)  # type: ignore[arg-type]
    if segment.is_template:
        raise Http404
    from patron.segments.tasks import segment_build_schedule

    segment_build_schedule(segment.pk)
    return redirect("segments:detail", pk=pk)
