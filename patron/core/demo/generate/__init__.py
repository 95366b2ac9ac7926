"""Orchestration of the demo generator: set-up, batches of contacts, bulk inserts.

Speed comes from building unsaved rows in Python (normalised through the same
functions the services use) and inserting them with ``bulk_create``, one transaction
per batch of contacts. The per-row write services are deliberately not called; the
generator writes the same ``contact.created`` activity entries they would.

A package (the module passed 500 lines): ``base`` (settings, set-up), ``contact`` (one
contact's plan and history), ``run`` (the main loop and ``demo_generate``).
"""

from patron.core.demo.generate.base import DemoRefused, DemoResult
from patron.core.demo.generate.run import demo_generate

__all__ = ["DemoRefused", "DemoResult", "demo_generate"]
