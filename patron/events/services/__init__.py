"""Write services of the events app: sources, ingest, processing (see the modules)."""

from patron.events.services.sources import (
    source_authenticate,
    source_create,
    source_rotate_key,
    source_set_active,
)

__all__ = [
    "source_authenticate",
    "source_create",
    "source_rotate_key",
    "source_set_active",
]
