"""Trend charts of the Data quality page, drawn on the server as SVG coordinates.

No script and no inline style (CSP): the template writes a <polyline> from these points
and CSS classes colour it.
"""

from __future__ import annotations

from typing import Any

WIDTH, HEIGHT, PAD = 320, 80, 6
SERIES: list[tuple[str, str, str]] = [
    # (key in the snapshot's figures, label, "share" or "count")
    ("email", "Contacts with an email", "share"),
    ("phone", "Contacts with a phone", "share"),
    ("invalid_email", "Invalid emails", "share"),
    ("incomplete", "Incomplete profiles", "share"),
    ("stale", "Stale contacts", "share"),
    ("duplicate_pairs", "Open duplicate pairs", "count"),
]


def _value(day: dict[str, Any], key: str, kind: str) -> float | None:
    value = (day.get("shares") or {}).get(key) if kind == "share" else day.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def trend_chart(trend: list[dict[str, Any]], key: str, label: str, kind: str) -> dict[str, Any]:
    """Points of one series over the snapshot days (oldest left), scaled to the box."""
    values: list[tuple[str, float]] = []
    for d in trend:
        v = _value(d, key, kind)
        if v is not None:
            values.append((d["day"], v))
    chart: dict[str, Any] = {
        "key": key,
        "label": label,
        "kind": kind,
        "width": WIDTH,
        "height": HEIGHT,
        "points": "",
        "dots": [],
        "first": None,
        "last": None,
        "days": len(values),
    }
    if not values:
        return chart
    nums = [v for _, v in values]
    low, high = min(nums), max(nums)
    if kind == "share":
        low, high = min(low, 0.0), max(high, 0.0001)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(values) - 1)
    coords = []
    for i, (day, v) in enumerate(values):
        x = PAD + i * step if len(values) > 1 else WIDTH / 2
        y = HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD)
        coords.append((round(x, 1), round(y, 1), day, v))
    chart["points"] = " ".join(f"{x},{y}" for x, y, _, _ in coords)
    chart["dots"] = [{"x": x, "y": y, "day": day, "value": v} for x, y, day, v in coords[-1:]]
    chart["first"], chart["last"] = nums[0], nums[-1]
    return chart


def trend_charts(trend: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [trend_chart(trend, key, label, kind) for key, label, kind in SERIES]
