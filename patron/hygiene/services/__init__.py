"""Write services of the hygiene app: merges and undo, the duplicate queue, quality."""

from patron.hygiene.services.automerge import duplicates_auto_merge, hygiene_settings_update
from patron.hygiene.services.duplicates import (
    candidate_upsert,
    duplicate_candidates_refresh,
    duplicate_dismiss,
)
from patron.hygiene.services.fixes import contacts_renormalize, contacts_stale_tag
from patron.hygiene.services.merge import contact_merge, survivorship_plan
from patron.hygiene.services.quality import quality_snapshot_take
from patron.hygiene.services.undo import contact_merge_undo

__all__ = [
    "candidate_upsert",
    "contact_merge",
    "contact_merge_undo",
    "contacts_renormalize",
    "contacts_stale_tag",
    "duplicate_candidates_refresh",
    "duplicate_dismiss",
    "duplicates_auto_merge",
    "hygiene_settings_update",
    "quality_snapshot_take",
    "survivorship_plan",
]
