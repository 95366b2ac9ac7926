"""Fixtures of the JSON API tests (shared across apps in patron.core.tests.api_client)."""

from patron.core.tests.api_client import api_for, api_key_client, world

__all__ = ["api_for", "api_key_client", "world"]
