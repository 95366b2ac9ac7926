"""Hygiene pages: the duplicate review queue, the side-by-side merge screen, the merge
journal with Undo, and the Data quality page with its one-click fixes.

Every view reads through scoped selectors and writes through services; a refused request
(403/404) changes nothing. POST-only for writes, CSRF-protected, no inline script/style.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.contacts.models import Contact, ContactIdentity
from patron.contacts.selectors import MASK, can_see_sensitive, contact_get, require
from patron.core.permissions import P
from patron.hygiene import quality as quality_reads
from patron.hygiene.charts import trend_charts
from patron.hygiene.forms import MergeForm, SettingsForm, StaleTagForm
from patron.hygiene.models import HygieneSettings, MergeRecord
from patron.hygiene.selectors import (
    duplicate_candidate_get,
    duplicate_queue,
    hygiene_settings_get,
    merge_get,
    merges_visible_to,
    scan_runs_visible_to,
)
from patron.hygiene.services import (
    contact_merge,
    contact_merge_undo,
    contacts_renormalize,
    contacts_stale_tag,
    duplicate_dismiss,
    hygiene_settings_update,
    survivorship_plan,
)
from patron.hygiene.services.scan_request import duplicates_scan_request
from patron.web.views._common import AuthedRequest, web_view

PAGE = 50
SENSITIVE = {"phone", "birthday"}
# (unit, label, fields shown) in the order of the merge screen.
MERGE_ROWS: list[tuple[str, str, tuple[str, ...]]] = [
    ("name", "Name", ("prefix", "first_name", "middle_name", "last_name", "suffix")),
    ("email", "Email", ("email",)),
    ("phone", "Phone", ("phone",)),
    (
        "address",
        "Address",
        ("address_line1", "address_line2", "postal_code", "city", "region", "country"),
    ),
    ("birthday", "Birthday", ("birthday",)),
    ("job_title", "Job title", ("job_title",)),
    ("lifecycle_stage", "Lifecycle stage", ("lifecycle_stage",)),
    ("owner", "Owner", ("owner",)),
    ("language", "Language", ("language",)),
    ("time_zone", "Time zone", ("time_zone",)),
    ("source", "Source", ("source",)),
    ("external_id", "External id", ("external_id",)),
]


def _require_merge(actor: Any) -> None:
    require(actor, P.CONTACT_MERGE)
    require(actor, P.CONTACT_EDIT)


def _page(request: AuthedRequest) -> int:
    raw = request.GET.get("page", "1")[:6]
    return max(1, min(int(raw), 10_000)) if raw.isdigit() else 1


# --- the review queue ----------------------------------------------------------------


@require_GET
@web_view("quality")
def queue(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    qs = duplicate_queue(actor)
    page = _page(request)
    start = (page - 1) * PAGE
    items = list(qs[start : start + PAGE + 1])
    can_merge = actor.has_perm_code(P.CONTACT_MERGE) and actor.has_perm_code(P.CONTACT_EDIT)
    runs = list(scan_runs_visible_to(actor)[:1]) if actor.has_perm_code(P.QUALITY_VIEW) else []
    return render(
        request,
        "hygiene/queue.html",
        {
            "items": items[:PAGE],
            "page": page,
            "has_next": len(items) > PAGE,
            "can_merge": can_merge,
            "last_scan": runs[0] if runs else None,
        },
    )


@require_POST
@web_view("quality")
def dismiss(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    _require_merge(actor)
    candidate = duplicate_candidate_get(actor, pk)
    duplicate_dismiss(actor=actor, candidate=candidate)
    messages.success(request, "Marked as not a duplicate.")
    return redirect("hygiene:queue")


@require_POST
@web_view("quality")
def scan_now(request: AuthedRequest) -> HttpResponse:
    duplicates_scan_request(actor=request.user)
    messages.success(request, "A whole-database scan has been queued.")
    return redirect("hygiene:queue")


# --- the merge screen ----------------------------------------------------------------


def _display(contact: Contact, field: str, sensitive_ok: bool) -> str:
    if field == "owner":
        return str(contact.owner) if contact.owner_id else ""
    value = getattr(contact, field)
    if value in (None, ""):
        return ""
    if field in SENSITIVE and not sensitive_ok:
        return MASK
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _secondaries(
    survivor: Contact, merged: Contact, plan: dict[str, str], sensitive_ok: bool
) -> dict[str, list[str]]:
    """Emails and phones the survivor keeps as secondary identities after the merge."""
    out: dict[str, list[str]] = {}
    for kind in ("email", "phone"):
        primary = getattr(merged if plan.get(kind) == "merged" else survivor, kind)
        values = [getattr(survivor, kind), getattr(merged, kind)]
        values += list(
            ContactIdentity.objects.filter(
                contact_id__in=[survivor.pk, merged.pk], kind=kind
            ).values_list("value", flat=True)[:50]
        )
        kept = [v for v in dict.fromkeys(values) if v and v != primary]
        if kind == "phone" and not sensitive_ok:
            kept = [MASK for _ in kept]
        out[kind] = kept
    return out


@require_http_methods(["GET", "POST"])
@web_view("quality")
def merge_screen(request: AuthedRequest, survivor_id: int, merged_id: int) -> HttpResponse:
    actor = request.user
    _require_merge(actor)
    if survivor_id == merged_id:
        raise Http404("A contact cannot be merged into itself.")
    survivor = contact_get(actor, survivor_id)
    merged = contact_get(actor, merged_id)
    sensitive_ok = can_see_sensitive(actor)
    data = request.POST if request.method == "POST" else request.GET
    form = MergeForm(data or None, units=[u for u, _, _ in MERGE_ROWS])
    rule = "most_complete"
    if form.is_bound and form.is_valid():
        rule = form.cleaned_data["rule"]
    if request.method == "POST" and form.is_valid():
        choices = {u: form.cleaned_data[f"pick_{u}"] for u, _, _ in MERGE_ROWS}
        choices = {u: side for u, side in choices.items() if side}
        try:
            record = contact_merge(
                actor=actor,
                survivor=survivor.pk,
                merged=merged.pk,
                rule=rule,
                field_choices=choices,
            )
        except ValidationError as exc:
            form.add_error(None, "; ".join(exc.messages))
        else:
            messages.success(
                request, f"Merged. You can undo it from the merge journal (#{record.pk})."
            )
            return redirect("web:contact_detail", pk=survivor.pk)
    plan = survivorship_plan(survivor=survivor, merged=merged, rule=rule, choices={})
    picks = {
        u: (form.cleaned_data.get(f"pick_{u}") if form.is_bound and form.is_valid() else "")
        or plan.get(u, "survivor")
        for u, _, _ in MERGE_ROWS
    }
    rows = [
        {
            "unit": unit,
            "label": label,
            "survivor": [v for f in fields if (v := _display(survivor, f, sensitive_ok))],
            "merged": [v for f in fields if (v := _display(merged, f, sensitive_ok))],
            "pick": picks[unit],
        }
        for unit, label, fields in MERGE_ROWS
    ]
    for row in rows:
        row["same"] = row["survivor"] == row["merged"]
    return render(
        request,
        "hygiene/merge.html",
        {
            "survivor": survivor,
            "merged": merged,
            "rows": rows,
            "rule": rule,
            "rules": MergeRecord.Rule.choices,
            "form": form,
            "secondary": _secondaries(survivor, merged, picks, sensitive_ok),
        },
    )


# --- the merge journal ---------------------------------------------------------------


def _label(image: dict[str, Any]) -> str:
    f = image.get("fields", {})
    name = " ".join(x for x in (f.get("first_name"), f.get("last_name")) if x)
    return name or f.get("full_name") or f.get("email") or f"Contact {image.get('pk')}"


@require_GET
@web_view("quality")
def journal(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    qs = merges_visible_to(actor)
    page = _page(request)
    start = (page - 1) * PAGE
    records = list(qs[start : start + PAGE + 1])
    entries = [
        {
            "record": r,
            "survivor_label": _label(r.survivor_after),
            "merged_label": _label(r.merged_before),
            "moved": sum(len(v) for v in r.moved.values()),
        }
        for r in records[:PAGE]
    ]
    return render(
        request,
        "hygiene/journal.html",
        {
            "entries": entries,
            "page": page,
            "has_next": len(records) > PAGE,
            "can_undo": actor.has_perm_code(P.CONTACT_EDIT),
        },
    )


@require_POST
@web_view("quality")
def undo(request: AuthedRequest, pk: int) -> HttpResponse:
    actor = request.user
    _require_merge(actor)
    record = merge_get(actor, pk)
    try:
        record = contact_merge_undo(actor=actor, merge=record)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("hygiene:journal")
    note = " Some later edits were kept." if record.undo_report else ""
    messages.success(request, f"Merge #{record.pk} undone: both contacts are back.{note}")
    return redirect("hygiene:journal")


# --- the Data quality page -----------------------------------------------------------


@require_GET
@web_view("quality")
def quality(request: AuthedRequest) -> HttpResponse:
    actor = request.user
    months_raw = request.GET.get("stale_months", "")[:3]
    months = int(months_raw) if months_raw.isdigit() else quality_reads.STALE_MONTHS
    figures = quality_reads.quality_figures(actor, stale_months=months)
    trend = quality_reads.quality_trend(actor, days=90)
    config = hygiene_settings_get()
    is_admin = actor.has_perm_code(P.SETTINGS_MANAGE) and not actor.is_restricted
    return render(
        request,
        "hygiene/quality.html",
        {
            "figures": figures,
            "charts": trend_charts(trend),
            "can_fix": actor.has_perm_code(P.CONTACT_EDIT),
            "can_tag": actor.has_perm_code(P.CONTACT_EDIT) and actor.has_perm_code(P.TAG_MANAGE),
            "can_review": actor.has_perm_code(P.CONTACT_VIEW),
            "is_admin": is_admin,
            "config": config,
            "settings_form": SettingsForm(
                initial={
                    "auto_merge_enabled": config.auto_merge_enabled,
                    "auto_merge_threshold": config.auto_merge_threshold,
                    "auto_merge_rule": config.auto_merge_rule,
                }
            ),
            "stale_form": StaleTagForm(initial={"stale_months": figures["stale_months"]}),
            "floor": HygieneSettings.AUTO_MERGE_FLOOR,
            "runs": list(scan_runs_visible_to(actor)[:5]),
        },
    )


@require_POST
@web_view("quality")
def fix_renormalize(request: AuthedRequest) -> HttpResponse:
    result = contacts_renormalize(actor=request.user)
    messages.success(
        request,
        f"Re-normalised {result.examined} flagged contacts: {result.changed} fixed, "
        f"{result.remaining} still flagged.",
    )
    return redirect("hygiene:quality")


@require_POST
@web_view("quality")
def fix_tag_stale(request: AuthedRequest) -> HttpResponse:
    for code in (P.QUALITY_VIEW, P.CONTACT_EDIT, P.TAG_MANAGE):
        require(request.user, code)
    form = StaleTagForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a number of months between 1 and 120 and a tag name.")
        return redirect("hygiene:quality")
    result = contacts_stale_tag(
        actor=request.user,
        stale_months=form.cleaned_data["stale_months"],
        tag_name=form.cleaned_data["tag"],
    )
    messages.success(
        request, f"Tagged {result.changed} stale contacts “{form.cleaned_data['tag']}”."
    )
    return redirect(reverse("hygiene:quality"))


@require_POST
@web_view("quality")
def settings_update(request: AuthedRequest) -> HttpResponse:
    require(request.user, P.SETTINGS_MANAGE)
    form = SettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect("hygiene:quality")
    try:
        hygiene_settings_update(actor=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("hygiene:quality")
    messages.success(request, "Auto-merge settings saved.")
    return redirect("hygiene:quality")
