"""Identity resolution: which contact an event belongs to, growing the identity graph.

The graph is ``ContactIdentity`` (user ids, anonymous ids, further emails and phones, each
with first/last seen) plus each contact's primary email and phone. ``Resolver`` holds the
part of it one processing batch needs, in memory, and writes what it learnt at the end.

Rules, per event in arrival order:
- candidates: the contact of the ``userId``; for ``identify`` those of the normalised
  ``traits.email`` / ``traits.phone``; for ``alias`` the contact of ``previousId``; last the
  contact of the ``anonymousId``.
- none found: a ``userId``, or an ``identify`` carrying an email, phone or name, creates a
  contact; otherwise the event stays anonymous until its anonymous id is identified, and
  is then attached (earlier events too).
- the first candidate wins; the event's ids are linked to it.
- another candidate is the same person when an ``alias`` says so, or when it has no user id
  of its own (an earlier anonymous or CRM-created profile): the two are merged through the
  hygiene merge service (``contacts_join``). Two contacts with different user ids are never
  merged automatically: an anonymous id shared between them (a shared device) just links to
  the newer one, and an email shared between them is recorded as a conflict for a person.
"""

from patron.events.services.identity.joins import contacts_join, merge_service
from patron.events.services.identity.points import (
    ANON_ID,
    EMAIL,
    LAST_SEEN_GRANULARITY,
    PHONE,
    USER_ID,
    SystemActor,
    email_match_key,
    normalize_email,
    normalize_phone,
    trait_contact_points,
)
from patron.events.services.identity.resolver import Resolver

__all__ = [
    "ANON_ID",
    "EMAIL",
    "LAST_SEEN_GRANULARITY",
    "PHONE",
    "USER_ID",
    "Resolver",
    "SystemActor",
    "contacts_join",
    "email_match_key",
    "merge_service",
    "normalize_email",
    "normalize_phone",
    "trait_contact_points",
]
