"""Tracking API routes, mounted at /v1/ by patron.urls (Segment's paths)."""

from django.urls import path

from patron.events.tracking import SINGLE_TYPES, tracking_view

app_name = "tracking"

urlpatterns = [
    path(f"{kind}", tracking_view, {"kind": kind}, name=kind) for kind in (*SINGLE_TYPES, "batch")
]
