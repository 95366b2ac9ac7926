from patron.core.tests.api_client import api_for, api_key_client, world

__all__ = ["api_for", "api_key_client", "world"]
