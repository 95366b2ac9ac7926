"""Permission-scoped reads of the privacy app: erasure records and who may export.

The erasure log holds no personal data (counts, the former contact id, the actor), but it
is the workspace's audit trail of destructive acts, so reading it takes ``P.AUDIT_VIEW``.
The person who ran an erasure may read that one record (its result page) without it.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.contacts.selectors import require
from patron.core.permissions import P
from patron.privacy.models import Erasure

#: What an access export (GDPR Art. 15/20) needs. Sensitive data and export, as the
#: brief of the feature says, and the read permission of every section: an export that
#: silently left out orders or events would be a wrong answer to a data subject request.
EXPORT_PERMISSIONS: tuple[P, ...] = (
    P.CONTACT_VIEW,
    P.CONTACT_VIEW_SENSITIVE,
    P.EXPORT,
    P.COMPANY_VIEW,
    P.ORDER_VIEW,
    P.TICKET_VIEW,
    P.EVENT_VIEW,
    P.CONSENT_VIEW,
    P.SEGMENT_VIEW,
)


def can_export(actor: User) -> bool:
    """Whether the actor holds every permission an access export needs."""
    return bool(actor and actor.is_authenticated) and all(
        actor.has_perm_code(code) for code in EXPORT_PERMISSIONS
    )


def require_export(actor: User) -> None:
    for code in EXPORT_PERMISSIONS:
        require(actor, code)


def can_erase(actor: User) -> bool:
    return bool(actor and actor.is_authenticated) and actor.has_perm_code(P.CONTACT_DELETE)


def erasures_visible_to(actor: User) -> QuerySet[Erasure]:
    """The erasure log (``P.AUDIT_VIEW``)."""
    require(actor, P.AUDIT_VIEW)
    return Erasure.objects.select_related("actor")


def erasure_get(actor: User, erasure_id: int) -> Erasure:
    """One erasure record: for ``P.AUDIT_VIEW``, or for the user who ran it; else 404."""
    if not (actor and actor.is_authenticated):
        raise Http404("No such erasure.")
    qs = Erasure.objects.select_related("actor")
    if not actor.has_perm_code(P.AUDIT_VIEW):
        qs = qs.filter(actor_id=actor.pk)
    record = qs.filter(pk=int(erasure_id)).first()
    if record is None:
        raise Http404("No such erasure.")
    return record
