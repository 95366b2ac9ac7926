"""Placeholder; replaced by the event processor."""

from __future__ import annotations


def events_process_pending(*, max_seconds: float = 60.0) -> tuple[int, bool]:
    return 0, False
