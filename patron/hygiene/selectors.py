"""Permission-scoped reads: duplicate candidates, the review queue and the merge journal.

Real-time duplicate finding is index-backed blocking (email match key, E.164 phone,
secondary identities, name key, postcode + birthday) in one query, then rapidfuzz scoring
of at most ``BLOCK_LIMIT`` candidates: constant work per contact at any database size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.contacts.models import Contact, ContactCompany, ContactIdentity
from patron.contacts.selectors import contact_get, contacts_visible_to, require
from patron.core.permissions import P
from patron.hygiene.matching import POSSIBLE, Match, Profile, profile_of, score_pair
from patron.hygiene.models import DuplicateCandidate, HygieneSettings, MergeRecord, ScanRun
from patron.hygiene.normalize import email_match_key, name_key, phone_match_key

BLOCK_LIMIT = 200
PROFILE_FIELDS = (
    "pk",
    "first_name",
    "last_name",
    "email",
    "email_match_key",
    "phone",
    "birthday",
    "postal_code",
    "city",
    "country",
)


@dataclass(frozen=True)
class DuplicateMatch:
    contact: Contact
    score: float
    explanation: list[dict[str, Any]]


def profiles_load(ids: Iterable[int]) -> dict[int, Profile]:
    """Matching profiles of contacts: their fields, secondary identities and companies."""
    ids = list(ids)
    if not ids:
        return {}
    rows = Contact.objects.filter(pk__in=ids).values(*PROFILE_FIELDS)
    emails: dict[int, set[str]] = {}
    phones: dict[int, set[str]] = {}
    for cid, kind, value in ContactIdentity.objects.filter(
        contact_id__in=ids, kind__in=("email", "phone")
    ).values_list("contact_id", "kind", "value"):
        if kind == "email":
            emails.setdefault(cid, set()).add(email_match_key(value))
        else:
            phones.setdefault(cid, set()).add(value)
    companies: dict[int, set[str]] = {}
    for cid, name in ContactCompany.objects.filter(contact_id__in=ids).values_list(
        "contact_id", "company__name"
    ):
        companies.setdefault(cid, set()).add(name)
    out: dict[int, Profile] = {}
    for r in rows:
        pk = r["pk"]
        out[pk] = profile_of(
            pk,
            first_name=r["first_name"],
            last_name=r["last_name"],
            email_keys={r["email_match_key"], *emails.get(pk, ())},
            phones={r["phone"], *phones.get(pk, ())},
            birthday=r["birthday"],
            postal_code=r["postal_code"],
            city=r["city"],
            country=r["country"],
            companies=companies.get(pk, set()),
        )
    return out


def blocking_filter(contact: Contact, extra_emails: list[str], extra_phones: list[str]) -> Q:
    """Contacts sharing at least one blocking key with ``contact`` (each one index-backed)."""
    cond = Q(pk__in=[])
    keys = {contact.email_match_key, *(email_match_key(e) for e in extra_emails)} - {""}
    if keys:
        cond |= Q(email_match_key__in=sorted(keys))
    emails = {contact.email, *extra_emails} - {""}
    phones = {phone_match_key(p) for p in (contact.phone, *extra_phones)} - {""}
    if phones:
        cond |= Q(phone__in=sorted(phones))
    if emails or phones:
        # Resolved first: an IN (subquery) inside the OR would defeat the bitmap-OR plan.
        # Further emails by their match key (a plus-tag / Gmail variant is the same box).
        ident = Q(kind="email", match_key__in=sorted(keys)) if keys else Q(pk__in=[])
        if phones:
            ident |= Q(kind="phone", value__in=sorted(phones))
        owners = list(
            ContactIdentity.objects.filter(ident).values_list("contact_id", flat=True)[:BLOCK_LIMIT]
        )
        if owners:
            cond |= Q(pk__in=owners)
        if emails:
            cond |= Q(email__in=sorted(emails))
    nkeys = {contact.name_key, name_key(contact.last_name, contact.first_name)} - {""}
    if contact.name_key:
        cond |= Q(name_key__in=sorted(nkeys))
    if contact.postal_code and contact.birthday:
        cond |= Q(postal_code=contact.postal_code, birthday=contact.birthday)
    return cond


def duplicate_candidates_find(
    contact: Contact, *, within: QuerySet[Contact], min_score: float = POSSIBLE, limit: int = 20
) -> list[tuple[int, Match]]:
    """Scored candidates for one contact among ``within`` (a scoped queryset), best first."""
    extra = list(
        ContactIdentity.objects.filter(
            contact_id=contact.pk, kind__in=("email", "phone")
        ).values_list("kind", "value")[:50]
    )
    cond = blocking_filter(
        contact,
        [v for k, v in extra if k == "email"],
        [v for k, v in extra if k == "phone"],
    )
    ids = list(
        within.filter(cond)
        .exclude(pk=contact.pk)
        .order_by()
        .values_list("pk", flat=True)[:BLOCK_LIMIT]
    )
    if not ids:
        return []
    profiles = profiles_load([contact.pk, *ids])
    me = profiles.get(contact.pk)
    if me is None:
        return []
    scored = [(pk, score_pair(me, profiles[pk])) for pk in ids if pk in profiles]
    scored = [(pk, m) for pk, m in scored if m.score >= min_score]
    scored.sort(key=lambda x: (-x[1].score, x[0]))
    return scored[:limit]


def duplicates_for(
    actor: User, contact: Contact | int, *, min_score: float = POSSIBLE, limit: int = 10
) -> list[DuplicateMatch]:
    """Likely duplicates of a contact the actor may see, among contacts they may see."""
    pk = contact.pk if isinstance(contact, Contact) else contact
    target = contact_get(actor, pk)
    found = duplicate_candidates_find(
        target, within=contacts_visible_to(actor), min_score=min_score, limit=limit
    )
    others = contacts_visible_to(actor).in_bulk([pk for pk, _ in found])
    return [
        DuplicateMatch(contact=others[pk], score=m.score, explanation=m.explanation)
        for pk, m in found
        if pk in others
    ]


def duplicate_queue(actor: User, *, status: str | None = "open") -> QuerySet[DuplicateCandidate]:
    """Review-queue pairs whose two contacts the actor may both see, best first."""
    qs = DuplicateCandidate.objects.select_related("contact_a", "contact_b")
    if status:
        qs = qs.filter(status=status)
    if actor.is_restricted:
        visible = contacts_visible_to(actor).values("pk")
        qs = qs.filter(contact_a__in=visible, contact_b__in=visible)
    else:
        require(actor, P.CONTACT_VIEW)
    return qs.order_by("-score", "id")


def duplicate_candidate_get(actor: User, candidate_id: int) -> DuplicateCandidate:
    found = duplicate_queue(actor, status=None).filter(pk=candidate_id).first()
    if found is None:
        raise Http404("No such candidate.")
    return found


#: The most merged records followed from one contact (a guard, not a real-world size).
MERGED_IDS_MAX = 10_000


def merges_visible_to(actor: User) -> QuerySet[MergeRecord]:
    """The merge journal (it holds before-images): for actors who may merge, in scope."""
    require(actor, P.CONTACT_MERGE)
    qs = MergeRecord.objects.all()
    if actor.is_restricted:
        visible = contacts_visible_to(actor).values("pk")
        qs = qs.filter(Q(survivor_id__in=visible) | Q(merged_id__in=visible))
    return qs


def merge_get(actor: User, merge_id: int) -> MergeRecord:
    found = merges_visible_to(actor).filter(pk=merge_id).first()
    if found is None:
        raise Http404("No such merge.")
    return found


def merged_ids(contact_id: int) -> list[int]:
    """Ids of the records merged (and not un-merged) into this contact, through chains of
    merges, in the order found: the same person, whose history stays filed under those
    ids (the activity log is append-only, ADR 0011). No permission check: callers have
    checked the actor may see ``contact_id``."""
    seen = {contact_id}
    out: list[int] = []
    frontier = [contact_id]
    while frontier and len(out) < MERGED_IDS_MAX:
        ids = (
            MergeRecord.objects.filter(survivor_id__in=frontier, undone_at__isnull=True)
            .order_by("merged_id")
            .values_list("merged_id", flat=True)
            .distinct()
        )
        frontier = [i for i in ids if i not in seen]
        seen.update(frontier)
        out.extend(frontier)
    return out


def contact_ids_merged_into(actor: User, contact_id: int) -> list[int]:
    """Ids of contacts merged (and not un-merged) into this one, transitively, for an actor
    who may see it."""
    contact_get(actor, contact_id)
    return merged_ids(contact_id)


def contact_survivor_of(contact_id: int) -> int | None:
    """Where a merged-away contact lives now (follows chains); None if it never merged.

    For the tracking API and imports that hold an old contact id.
    """
    current, hops = contact_id, 0
    while hops < 100:
        nxt = (
            MergeRecord.objects.filter(merged_id=current, undone_at__isnull=True)
            .order_by("-id")
            .values_list("survivor_id", flat=True)
            .first()
        )
        if nxt is None:
            return current if current != contact_id else None
        current, hops = nxt, hops + 1
    return current


def hygiene_settings_get() -> HygieneSettings:
    """The workspace's hygiene settings (auto-merge off until an admin turns it on)."""
    found = HygieneSettings.objects.filter(pk=1).first()
    return found if found is not None else HygieneSettings(pk=1)


def scan_runs_visible_to(actor: User) -> QuerySet[ScanRun]:
    require(actor, P.QUALITY_VIEW)
    return ScanRun.objects.defer("model")


def duplicates_notice_for(actor: User, contact: Contact | int, *, limit: int = 3) -> dict[str, Any]:
    """What the contact profile's likely-duplicate notice shows (empty when nothing).

    Likely duplicates (score >= LIKELY) among contacts the actor may see; whether the
    actor may open the merge screen.
    """
    from patron.hygiene.matching import LIKELY

    if not actor.has_perm_code(P.CONTACT_VIEW):
        return {"matches": [], "can_merge": False}
    matches = duplicates_for(actor, contact, min_score=LIKELY, limit=limit)
    return {
        "matches": matches,
        "can_merge": actor.has_perm_code(P.CONTACT_MERGE) and actor.has_perm_code(P.CONTACT_EDIT),
    }
