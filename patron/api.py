"""The JSON API root: /api/v1/. Each app contributes a router from its api.py."""

from __future__ import annotations

from patron.core.api_base import build_api

api = build_api()
