"""Writes of the privacy app: the consent ledger, erasure (right to be forgotten) and the
access export (which records itself in the audit trail)."""

from patron.privacy.services.consent import consent_record
from patron.privacy.services.erasure import contact_erase, erased_match, match_hashes
from patron.privacy.services.export import ExportResult, contact_export

__all__ = [
    "ExportResult",
    "consent_record",
    "contact_erase",
    "contact_export",
    "erased_match",
    "match_hashes",
]
