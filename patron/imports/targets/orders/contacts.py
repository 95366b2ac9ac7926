"""The contacts of an orders file, with each distinct email cell normalised once a run.

A customer's email is on every line of every order of theirs, and validating an address
costs ~0.1 ms: the bulk path (``bulk``) remembers each cell's address and match key for
the whole run. Its answers and errors are ``find_contact`` / ``prefetch_contacts``'s.
"""

from __future__ import annotations

from patron.hygiene.normalize.text import NormalizationError
from patron.imports.targets.base import (
    Context,
    Row,
    email_address_and_key,
    find_contact,
    prefetch_contacts,
)

EMAIL_MEMO = 200_000  # distinct email cells remembered a run


class OrderContacts:
    """``prefetch_contacts`` and ``find_contact`` for the orders import, memoising emails."""

    def __init__(self) -> None:
        # Email cell -> (address, match key) or its error, for the whole run
        self._emails: dict[str, tuple[str, str] | NormalizationError] = {}

    def email(self, raw: str) -> tuple[str, str] | NormalizationError:
        """(address, match key) of an email cell as ``find_contact`` computes them, or
        its NormalizationError."""
        memo = self._emails
        hit = memo.get(raw)
        if hit is None:
            try:
                hit = email_address_and_key(raw)
            except NormalizationError as exc:
                hit = exc
            if len(memo) >= EMAIL_MEMO:
                memo.clear()
            memo[raw] = hit
        return hit

    def prefetch(self, ctx: Context, rows: list[Row]) -> None:
        """The chunk's contacts not known yet, by external id and by email match key,
        among those the actor may see (``prefetch_contacts`` with this run's memo)."""
        prefetch_contacts(
            ctx,
            rows,
            email="email",
            external_id="contact_external_id",
            address_of=self.address,
            keep_known=True,
        )

    def address(self, raw: str) -> tuple[str, str]:
        """``email``, raising its NormalizationError (``find_contact``'s ``address_of``)."""
        hit = self.email(raw)
        if isinstance(hit, NormalizationError):
            raise hit.with_traceback(None)  # a memoised error: no frames piled up on it
        return hit

    def find(self, ctx: Context, head: dict[str, str]) -> int:
        """The contact of an order's values: ``find_contact``, with this run's memo of
        normalised emails."""
        return find_contact(
            ctx, head, email="email", external_id="contact_external_id", address_of=self.address
        )
