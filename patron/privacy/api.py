"""/api/v1: erasure (GDPR Art. 17) and the access export (Art. 15/20) of one contact, and
the erasure log.

- ``POST /contacts/{id}/erase``: ``contact.delete`` and the contact in the caller's scope
  (404 otherwise, as everywhere: out-of-scope records do not exist); returns the erasure
  record (counts, no personal data).
- ``GET /contacts/{id}/privacy-export``: everything held about the contact, as one JSON
  document streamed page by page (``patron.privacy.selectors.EXPORT_PERMISSIONS``).
- ``GET /privacy/erasures`` and ``/privacy/erasures/{id}``: the log (``audit.view``; the
  user who ran an erasure may read that record).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from patron.contacts.selectors import contact_get
from patron.core.api_base import actor_of, keyset_page
from patron.core.api_schemas import ERRORS, PageQuery, PathId, page_schema
from patron.privacy.selectors import erasure_get, erasures_visible_to
from patron.privacy.services import contact_erase, contact_export

contacts = Router(tags=["privacy"])
router = Router(tags=["privacy"])


class ErasureOut(Schema):
    id: int
    contact_id: int = Field(description="The id the erased contact had (ids are not reused).")
    erased_at: dt.datetime
    actor: str = Field(description="Who erased (the user's name at the time).")
    removed: dict[str, int] = Field(description="How many rows went, by kind.")


ErasurePage = page_schema(ErasureOut, "ErasurePage")


def erasure_out(record: Any) -> dict[str, Any]:
    """An ``Erasure`` as the API shows it."""
    return {
        "id": record.pk,
        "contact_id": record.contact_id,
        "erased_at": record.erased_at,
        "actor": record.actor_label,
        "removed": {str(k): int(v) for k, v in (record.removed or {}).items()},
    }


@contacts.post(
    "/{contact_id}/erase", response={200: ErasureOut, **ERRORS}, summary="Erase a contact"
)
def erase_contact(request: HttpRequest, contact_id: PathId) -> dict[str, Any]:
    """Delete the person everywhere (GDPR Art. 17) and keep only keyed hashes of their
    identifiers, so they are not imported or tracked again. Cannot be undone."""
    actor = actor_of(request)
    contact = contact_get(actor, contact_id)
    return erasure_out(contact_erase(actor=actor, contact=contact))


@contacts.get(
    "/{contact_id}/privacy-export",
    response={200: None, **ERRORS},
    summary="Export everything held about a contact",
)
def export_contact(request: HttpRequest, contact_id: PathId) -> StreamingHttpResponse:
    """One JSON document (GDPR Art. 15 and 20): profile, custom fields, identities,
    companies, tags, lists, notes, the consent ledger, orders with lines, tickets, survey
    answers, every event, segment memberships, activity, import report rows, merges and
    webhook deliveries. Each export is recorded in the audit trail (counts only)."""
    result = contact_export(actor=actor_of(request), contact=contact_id)
    response = StreamingHttpResponse(result.body, content_type=result.content_type)
    response["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response["Cache-Control"] = "no-store"
    return response


@router.get("/erasures", response={200: ErasurePage, **ERRORS}, summary="List erasures")
def list_erasures(request: HttpRequest, filters: Query[PageQuery]) -> dict[str, Any]:
    """The erasure log, newest first (``audit.view``). Holds no personal data."""
    return keyset_page(
        erasures_visible_to(actor_of(request)),
        cursor=filters.cursor,
        limit=filters.limit,
        order="-id",
        serialize=erasure_out,
    )


@router.get("/erasures/{erasure_id}", response={200: ErasureOut, **ERRORS}, summary="An erasure")
def get_erasure(request: HttpRequest, erasure_id: PathId) -> dict[str, Any]:
    return erasure_out(erasure_get(actor_of(request), erasure_id))


ROUTERS = [("/contacts", contacts), ("/privacy", router)]
