"""The resolver: one processing batch's part of the identity graph, in memory (the rules
are in the package's docstring), and what it learnt, written at the end of the batch."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from patron.contacts.models import Contact, ContactIdentity
from patron.events.models import Event
from patron.events.services._sql import (
    as_text,
    db_value,
    from_db_datetime,
    select_in,
    update_many,
    upsert_many,
)
from patron.events.services.identity.creating import contacts_create
from patron.events.services.identity.joins import contacts_join
from patron.events.services.identity.points import (
    _NAME_TRAITS,
    ANON_ID,
    EMAIL,
    LAST_SEEN_GRANULARITY,
    PHONE,
    USER_ID,
    email_match_key,
    trait_contact_points,
)


@dataclass
class Resolver:
    actor: Any
    source_labels: dict[int | None, str]
    region: str
    now: dt.datetime = field(default_factory=timezone.now)
    # (kind, value) -> contact id, or None when known to be nobody's
    cache: dict[tuple[str, str], int | None] = field(default_factory=dict)
    # existing identity rows: (contact, kind, value) -> (row id, last_seen)
    rows: dict[tuple[int, str, str], tuple[int, dt.datetime]] = field(default_factory=dict)
    primary: dict[tuple[str, str], int] = field(default_factory=dict)
    redirects: dict[int, int] = field(default_factory=dict)
    new_links: dict[tuple[int, str, str], dt.datetime] = field(default_factory=dict)
    seen: dict[tuple[int, str, str], dt.datetime] = field(default_factory=dict)
    attach: dict[str, int] = field(default_factory=dict)  # anonymous id -> contact
    anonymous: dict[str, list[Event]] = field(default_factory=lambda: defaultdict(list))
    created: set[int] = field(default_factory=set)
    # contact -> kinds (email/phone) of trait values that belong to someone else
    foreign: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    rebuild: set[int] = field(default_factory=set)
    # placeholder id -> (source label, how) of contacts to create (see ``materialize``)
    pending: dict[int, tuple[str, str]] = field(default_factory=dict)
    _user_ids: dict[int, set[str]] = field(default_factory=dict)
    _email_keys: dict[str, str] = field(default_factory=dict)
    _stored_emails: dict[tuple[int, str], str] = field(default_factory=dict)

    # --- look-ups ------------------------------------------------------------------------

    def prefetch(self, events: Iterable[Event]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for ev in events:
            if ev.user_id:
                wanted[USER_ID].add(ev.user_id)
            if ev.anonymous_id:
                wanted[ANON_ID].add(ev.anonymous_id)
            if ev.previous_id:
                wanted[USER_ID].add(ev.previous_id)
                wanted[ANON_ID].add(ev.previous_id)
            if ev.type == Event.Type.IDENTIFY:
                for kind, value in trait_contact_points(ev.traits, self.region):
                    wanted[kind].add(value)
        if not wanted:
            return
        email_keys = {self._key(EMAIL, v)[1] for v in wanted.get(EMAIL, ())}
        # Oldest contact first for durable ids; for anonymous ids the most recently seen
        # contact (a shared device belongs to whoever identified on it last).
        table = ContactIdentity._meta.db_table
        rows = []
        for kind, values in wanted.items():
            # Further emails, stored as entered, by their match key: the partial index of
            # contacts 0005 (named on SQLite, so the (kind, value) index is not taken).
            source = table
            if kind == EMAIL:
                where, params = "kind = 'email' AND match_key", []
                values = email_keys
                if connection.vendor == "sqlite":
                    source = f"{table} INDEXED BY identity_email_key_idx"
            else:
                where, params = "kind = %s AND value", [kind]
            rows += select_in(
                f"SELECT id, contact_id, kind, value, {as_text('last_seen')}, match_key "  # noqa: S608
                f"FROM {source} WHERE {where} IN",
                params,
                sorted(values),
            )
        rows.sort(key=lambda r: r[1])
        for pk, contact_id, kind, value, raw_seen, match_key in rows:
            last_seen = from_db_datetime(raw_seen)
            assert last_seen is not None
            self.rows[(contact_id, kind, value)] = (pk, last_seen)
            if kind == EMAIL:
                self._stored_emails.setdefault((contact_id, value.lower()), value)
                key = (EMAIL, match_key)
            else:
                key = (kind, value)
            current = self.cache.get(key)
            if current is None:
                self.cache[key] = contact_id
            elif kind == ANON_ID:
                prev = self.rows.get((current, kind, value))
                if prev is None or last_seen > prev[1]:
                    self.cache[key] = contact_id
        # Primary emails match by the duplicate finder's key (case, plus-tags, Gmail dots).
        contacts = Contact._meta.db_table
        for kind, column, values in (
            (EMAIL, "email_match_key", email_keys),
            (PHONE, "phone", wanted.get(PHONE, set())),
        ):
            found = select_in(
                f"SELECT id, {column}, email FROM {contacts} WHERE {column} IN",  # noqa: S608
                [],
                sorted(values),
            )
            for contact_id, value, email in sorted(found):
                self.cache.setdefault((kind, value), contact_id)
                self.primary.setdefault(
                    (kind, email.lower()) if kind == EMAIL else (kind, value), contact_id
                )
        for kind, values in wanted.items():
            for value in values:
                self.cache.setdefault(self._key(kind, value), None)
        # The user ids of the contacts the joining rules will ask about (one query per
        # 500); any other contact's are read when asked (``user_ids_of``).
        found_ids = sorted(self._joinable(events))
        for contact_id in found_ids:
            self._user_ids.setdefault(contact_id, set())
        for contact_id, value in select_in(
            f"SELECT contact_id, value FROM {table} WHERE kind = %s AND contact_id IN",  # noqa: S608
            [USER_ID],
            found_ids,
        ):
            self._user_ids[contact_id].add(value)

    def _joinable(self, events: Iterable[Event]) -> set[int]:
        """Contacts whose user ids the joining rules may read for these events, as the
        graph stands before the batch: those of an event found through more than its
        user id. The common event (a known user id, and its anonymous id linked to the
        same contact) needs none: one query of the batch's size saved
        (docs/performance.md, processing fourth pass). Links made during the batch can
        bring others; ``user_ids_of`` reads those one by one, with the same result."""
        cache, key = self.cache, self._key
        wanted: set[int] = set()
        for ev in events:
            own = cache.get((USER_ID, ev.user_id)) if ev.user_id else None
            others: list[int | None] = []
            if ev.anonymous_id:
                others.append(cache.get((ANON_ID, ev.anonymous_id)))
            if ev.previous_id:
                others += [
                    cache.get((USER_ID, ev.previous_id)),
                    cache.get((ANON_ID, ev.previous_id)),
                ]
            if ev.type == Event.Type.IDENTIFY:
                for kind, value in trait_contact_points(ev.traits, self.region):
                    others.append(cache.get(key(kind, value)))
            found = {c for c in others if c is not None and c != own}
            if found:
                wanted |= found
                if own is not None:
                    wanted.add(own)
        return wanted

    def _key(self, kind: str, value: str) -> tuple[str, str]:
        """The cache key of an identity: emails by their match key (see hygiene)."""
        if kind != EMAIL:
            return (kind, value)
        key = self._email_keys.get(value)
        if key is None:
            key = self._email_keys[value] = email_match_key(value) or value.lower()
        return (kind, key)

    def _match_key(self, kind: str, value: str) -> str:
        """``ContactIdentity.match_key`` of a new row (the cache key, memoised)."""
        return self._key(kind, value)[1] if kind == EMAIL else ""

    def _is_primary(self, contact_id: int, kind: str, value: str) -> bool:
        wanted = (kind, value.lower() if kind == EMAIL else value)
        return self.primary.get(wanted) == contact_id

    def _follow(self, contact_id: int | None) -> int | None:
        while contact_id is not None and contact_id in self.redirects:
            contact_id = self.redirects[contact_id]
        return contact_id

    def lookup(self, kind: str, value: str) -> int | None:
        key = self._key(kind, value)
        if key not in self.cache:  # not prefetched: ask the database
            column = "match_key" if kind == EMAIL else "value"
            found = ContactIdentity.objects.filter(kind=kind, **{column: key[1]})
            owners = list(found.values_list("contact_id", flat=True))
            if kind == EMAIL:
                owners += Contact.objects.filter(email_match_key=key[1]).values_list(
                    "id", flat=True
                )
            elif kind == PHONE:
                owners += Contact.objects.filter(phone=value).values_list("id", flat=True)
            self.cache[key] = min(owners) if owners else None
        return self._follow(self.cache[key])

    def user_ids_of(self, contact_id: int) -> set[str]:
        if contact_id not in self._user_ids:
            self._user_ids[contact_id] = set(
                ContactIdentity.objects.filter(contact_id=contact_id, kind=USER_ID).values_list(
                    "value", flat=True
                )
            )
        return self._user_ids[contact_id]

    # --- graph changes ---------------------------------------------------------------------

    def link(self, contact_id: int, kind: str, value: str, at: dt.datetime) -> None:
        """Record that ``value`` belongs to ``contact_id`` (seen at ``at``)."""
        if kind == EMAIL:  # a further email stored in another case is the same identity
            value = self._stored_emails.get((contact_id, value.lower()), value)
        key = (contact_id, kind, value)
        if kind in (EMAIL, PHONE) and self._is_primary(contact_id, kind, value):
            return  # it is the contact's primary email/phone, held on the contact
        if key in self.rows or key in self.new_links:
            previous = self.seen.get(key)
            if previous is None or at > previous:
                self.seen[key] = at
            if key in self.new_links and at < self.new_links[key]:
                self.new_links[key] = at
            return
        self.new_links[key] = at
        self.seen[key] = at
        if kind == USER_ID:
            self.user_ids_of(contact_id).add(value)
        owner = self._follow(self.cache.get(self._key(kind, value)))
        if owner is None or kind == ANON_ID:
            self.cache[self._key(kind, value)] = contact_id
        if kind == ANON_ID and owner != contact_id:
            self.attach[value] = contact_id
            for ev in self.anonymous.pop(value, []):
                ev.contact_id = contact_id

    def create_contact(self, event: Event) -> int:
        """A new contact for ``event``: a placeholder (negative) id until ``materialize``
        creates all of the batch's new contacts in one statement."""
        placeholder = -(len(self.pending) + 1)
        source = self.source_labels.get(event.source_id, "")
        self.pending[placeholder] = (
            f"tracking:{source}"[:120] if source else "tracking",
            f"{event.type} event",
        )
        self.created.add(placeholder)
        self._user_ids[placeholder] = set()
        return placeholder

    def materialize(self) -> None:
        """Create the contacts still held as placeholders (``creating.contacts_create``:
        reserved ids, one fast insert) and point the placeholders at them."""
        if not self.pending:
            return
        placeholders = list(self.pending)
        ids = contacts_create(actor=self.actor, new=[self.pending[p] for p in placeholders])
        for placeholder, real in zip(placeholders, ids, strict=True):
            self.redirects[placeholder] = real
            self.created.discard(placeholder)
            self.created.add(real)
            self._user_ids[real] = self._user_ids.pop(placeholder, set())
            if placeholder in self.foreign:
                self.foreign[real] = self.foreign.pop(placeholder)
        self.pending.clear()

    def _real(self, contact_id: int) -> int:
        if contact_id < 0:
            self.materialize()
        followed = self._follow(contact_id)
        assert followed is not None
        return followed

    def _join(
        self, survivor: int, other: int, kind: str, value: str, event: Event, strong: bool
    ) -> None:
        other = self._follow(other)  # type: ignore[assignment]
        survivor = self._follow(survivor)  # type: ignore[assignment]
        if other == survivor:
            return
        other_uids = self.user_ids_of(other)
        own_uids = self.user_ids_of(survivor)
        automatic = strong or not other_uids or not own_uids or bool(other_uids & own_uids)
        survivor, other = self._real(survivor), self._real(other)
        merged = contacts_join(
            actor=self.actor,
            survivor_id=survivor,
            merged_id=other,
            kind=kind,
            value=value,
            event=event,
            automatic=automatic,
        )
        if merged:
            self.redirects[other] = survivor
            self._user_ids[survivor] = own_uids | other_uids
            self.rows = {
                ((survivor if c == other else c), k, v): r for (c, k, v), r in self.rows.items()
            }
            self.rebuild.add(survivor)

    # --- the rule ------------------------------------------------------------------------------

    def resolve(self, event: Event) -> int | None:
        at = event.timestamp
        if event.type != Event.Type.IDENTIFY and event.type != Event.Type.ALIAS:
            # The common event, decided as the rule below decides it with one candidate:
            # the contact of its user id (or, without one, of its anonymous id), with the
            # anonymous id already on that same contact: nothing to join, only links.
            if event.user_id:
                own = self.lookup(USER_ID, event.user_id)
                if own is not None and (
                    not event.anonymous_id or self.lookup(ANON_ID, event.anonymous_id) == own
                ):
                    self.link(own, USER_ID, event.user_id, at)
                    if event.anonymous_id:
                        self.link(own, ANON_ID, event.anonymous_id, at)
                    return own
            elif event.anonymous_id:
                own = self.lookup(ANON_ID, event.anonymous_id)
                if own is not None:
                    self.link(own, ANON_ID, event.anonymous_id, at)
                    return own
        candidates: list[tuple[int, str, str, bool]] = []  # (contact, kind, value, strong)

        def consider(contact_id: int | None, kind: str, value: str, strong: bool) -> None:
            if contact_id is not None and all(c[0] != contact_id for c in candidates):
                candidates.append((contact_id, kind, value, strong))

        points: list[tuple[str, str]] = []
        if event.user_id:
            consider(self.lookup(USER_ID, event.user_id), USER_ID, event.user_id, True)
        if event.type == Event.Type.IDENTIFY:
            points = trait_contact_points(event.traits, self.region)
            for kind, value in points:
                consider(self.lookup(kind, value), kind, value, False)
        alias_kind = ""
        if event.type == Event.Type.ALIAS and event.previous_id:
            prev_user = self.lookup(USER_ID, event.previous_id)
            alias_kind = USER_ID if prev_user is not None else ANON_ID
            prev = prev_user if prev_user is not None else self.lookup(ANON_ID, event.previous_id)
            consider(prev, alias_kind, event.previous_id, True)
        if event.anonymous_id:
            consider(self.lookup(ANON_ID, event.anonymous_id), ANON_ID, event.anonymous_id, False)

        conflicts: list[tuple[int, str, str, bool]] = []
        if event.user_id:
            eligible = []
            for cand in candidates:
                if cand[3] or cand[1] == USER_ID:  # (user ids read only when needed)
                    eligible.append(cand)
                    continue
                other_uids = self.user_ids_of(cand[0])
                if not other_uids or event.user_id in other_uids:
                    eligible.append(cand)
                elif cand[1] != ANON_ID:
                    # an email/phone of another identified user: a person decides
                    conflicts.append(cand)
                # an anonymous id of another identified user: a shared device, no evidence
            candidates = eligible

        if not candidates:
            named = event.type == Event.Type.IDENTIFY and (
                points
                or (
                    isinstance(event.traits, dict)
                    and any(isinstance(event.traits.get(k), str) for k in _NAME_TRAITS)
                )
            )
            if not (event.user_id or named):
                if event.anonymous_id:
                    self.anonymous[event.anonymous_id].append(event)
                return None
            contact_id = self.create_contact(event)
        else:
            contact_id = candidates[0][0]
            for other, kind, value, strong in candidates[1:]:
                self._join(contact_id, other, kind, value, event, strong)
                contact_id = self._follow(contact_id)  # type: ignore[assignment]
        for other, kind, value, _ in conflicts:
            contact_id = self._real(contact_id)
            contacts_join(
                actor=self.actor,
                survivor_id=contact_id,
                merged_id=self._real(other),
                kind=kind,
                value=value,
                event=event,
                automatic=False,
            )

        if event.user_id:
            self.link(contact_id, USER_ID, event.user_id, at)
        for kind, value in points:
            owner = self.lookup(kind, value)
            if owner is None or owner == contact_id:
                self.link(contact_id, kind, value, at)
            else:
                self.foreign[contact_id].add(kind)
        if alias_kind:
            self.link(contact_id, alias_kind, event.previous_id, at)
            if alias_kind == ANON_ID:
                self.attach.setdefault(event.previous_id, contact_id)
        if event.anonymous_id:
            self.link(contact_id, ANON_ID, event.anonymous_id, at)
        return contact_id

    # --- writing what was learnt -------------------------------------------------------------

    def flush(self) -> list[int]:
        """Write new links and last-seen times; attach earlier anonymous events.

        Returns the ids of earlier (already processed) events that were attached to a
        contact now, so the caller can apply their commerce effects.
        """
        self.materialize()
        if self.new_links:
            # New identities, first/last seen from the events (not the processing time);
            # one upsert per 500, keeping the earlier first and later last seen of a row
            # another processor (or an earlier batch) wrote meanwhile.
            links: dict[tuple[int, str, str], list[dt.datetime]] = {}
            for (c, k, v), first in self.new_links.items():
                key = (self._follow(c) or c, k, v)
                last = max(self.seen.get((c, k, v), first), first)
                span = links.get(key)
                if span is None:
                    links[key] = [first, last]
                else:
                    span[0], span[1] = min(span[0], first), max(span[1], last)
            upsert_many(
                ContactIdentity,
                ("contact_id", "kind", "value", "match_key", "label", "first_seen", "last_seen"),
                [
                    (c, k, v, self._match_key(k, v), "", db_value(f), db_value(la))
                    for (c, k, v), (f, la) in links.items()
                ],
                conflict=("contact_id", "kind", "value"),
                update={"first_seen": "min", "last_seen": "max"},
            )
        stale: list[tuple[dt.datetime, int]] = []
        for key, at in self.seen.items():
            known = self.rows.get(key)
            if known is not None and at - known[1] > LAST_SEEN_GRANULARITY:
                stale.append((at, known[0]))
        update_many(ContactIdentity, ["last_seen"], stale)
        # Earlier anonymous events (already processed, so not this batch's: those are
        # still unprocessed here) of the anonymous ids identified now: one query per 500.
        attached: list[int] = []
        moves: list[tuple[int, int]] = []
        anonymous_ids = list(self.attach)
        for i in range(0, len(anonymous_ids), 500):
            for pk, anonymous_id in Event.objects.filter(
                anonymous_id__in=anonymous_ids[i : i + 500], contact__isnull=True, processed=True
            ).values_list("pk", "anonymous_id"):
                contact_id = self._follow(self.attach[anonymous_id])
                assert contact_id is not None
                moves.append((contact_id, pk))
                attached.append(pk)
                self.rebuild.add(contact_id)
        update_many(Event, ["contact"], moves)
        return attached
