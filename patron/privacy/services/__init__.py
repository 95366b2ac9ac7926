"""Writes of the privacy app: the consent ledger and erasure (right to be forgotten)."""

from patron.privacy.services.consent import consent_record
from patron.privacy.services.erasure import contact_erase, erased_match, match_hashes

__all__ = ["consent_record", "contact_erase", "erased_match", "match_hashes"]
