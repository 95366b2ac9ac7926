"""The compiler itself: rule structure (AND / OR / NOT) and profile conditions (fields,
custom fields, company, tags, lists, other segments, consent); behaviour conditions come
from ``behaviour``, shared primitives from ``base``."""

from __future__ import annotations

import datetime as dt
import operator
from functools import reduce
from typing import Any

from django.db.models import (
    Exists,
    OuterRef,
    Q,
    QuerySet,
)

from patron.contacts.models import Contact, ContactCompany, ContactListMember, CustomFieldValue
from patron.events.models import (
    ContactEventSummary,
)
from patron.privacy.models import Consent
from patron.segments.compiler.base import (
    _CUSTOM_COLUMN,
    FALSE,
    TRUE,
)
from patron.segments.compiler.behaviour import BehaviourConditions
from patron.segments.rules.catalogue import BOOLEAN, DATE, DATETIME, NUMBER, Catalogue


class Compiler(BehaviourConditions):
    def queryset(self, tree: dict[str, Any], base: QuerySet[Contact] | None = None) -> QuerySet:
        qs = Contact.objects.all() if base is None else base
        return qs.filter(self.q(tree))

    # --- structure -----------------------------------------------------------------------

    def q(self, node: dict[str, Any]) -> Q:
        if "and" in node:
            parts = [self.q(c) for c in node["and"]]
            return reduce(operator.and_, parts) if parts else TRUE
        if "or" in node:
            parts = [self.q(c) for c in node["or"]]
            return reduce(operator.or_, parts) if parts else FALSE
        if "not" in node:
            return ~self.q(node["not"])
        return getattr(self, f"_c_{node['kind']}")(node)

    # --- conditions ----------------------------------------------------------------------

    def _c_field(self, c: dict[str, Any]) -> Q:
        spec = self.catalogue.fields[c["field"]]
        typ, src = spec.type, spec.source
        text_blank = typ not in (NUMBER, DATE, DATETIME, BOOLEAN, "ref")

        if src in ("contact", "owner_team"):
            return self._field_q(
                spec,
                c["op"],
                c.get("value"),
                lambda op, v: self.predicate(
                    spec.column, typ, op, v, text_blank=text_blank, integer=spec.integer
                ),
            )
        if src == "company":

            def company(op: str, v: Any) -> Q:
                pred = self.predicate(
                    f"company__{spec.column}",
                    typ,
                    op,
                    v,
                    text_blank=text_blank,
                    integer=spec.integer,
                )
                return Q(Exists(ContactCompany.objects.filter(pred, contact_id=OuterRef("pk"))))

            return self._field_q(spec, c["op"], c.get("value"), company)
        if src == "custom":
            column = _CUSTOM_COLUMN[typ]

            def custom(op: str, v: Any) -> Q:
                pred = self.predicate(column, typ, op, v, text_blank=column == "value_text")
                rows = CustomFieldValue.objects.filter(
                    pred, field_id=spec.custom_field_id, contact_id=OuterRef("pk")
                )
                return Q(Exists(rows))

            return self._field_q(spec, c["op"], c.get("value"), custom)
        if src == "summary":
            rows = ContactEventSummary.objects.filter(contact_id=OuterRef("pk"))
            if typ == NUMBER:  # counts: a contact without a summary has 0

                def counted(op: str, v: Any) -> Q:
                    if op == "is_set":
                        return TRUE
                    pred = self.predicate(spec.column, typ, op, v, text_blank=False, integer=True)
                    if self._zero_ok(op, v):
                        return ~Q(Exists(rows.filter(~pred)))
                    return Q(Exists(rows.filter(pred)))

                return self._field_q(spec, c["op"], c.get("value"), counted)

            def summary(op: str, v: Any) -> Q:
                pred = self.predicate(spec.column, typ, op, v, text_blank=False)
                return Q(Exists(rows.filter(pred)))

            return self._field_q(spec, c["op"], c.get("value"), summary)
        if src == "score":
            model = spec.score_model

            def score(op: str, v: Any) -> Q:
                pred = self.predicate(spec.column, typ, op, v, text_blank=text_blank)
                return Q(Exists(model.objects.filter(pred, contact_id=OuterRef("pk"))))

            return self._field_q(spec, c["op"], c.get("value"), score)
        raise AssertionError(src)

    def _c_tag(self, c: dict[str, Any]) -> Q:
        rows = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag__name=c["tag"])
        return Q(Exists(rows))

    def _c_list(self, c: dict[str, Any]) -> Q:
        rows = ContactListMember.objects.filter(
            contact_id=OuterRef("pk"), contact_list_id=c["list"]
        )
        return Q(Exists(rows))

    def _c_segment(self, c: dict[str, Any]) -> Q:
        from patron.segments.models import SegmentMembership

        rows = SegmentMembership.objects.filter(
            segment_id=c["segment"], contact_id=OuterRef("pk"), exited_at__isnull=True
        )
        return Q(Exists(rows))

    def _c_consent(self, c: dict[str, Any]) -> Q:
        newer = Consent.objects.filter(
            contact_id=OuterRef("contact_id"), purpose=c["purpose"], channel=c["channel"]
        ).filter(
            Q(recorded_at__gt=OuterRef("recorded_at"))
            | Q(recorded_at=OuterRef("recorded_at"), id__gt=OuterRef("id"))
        )
        latest_granted = Consent.objects.filter(
            ~Exists(newer),
            contact_id=OuterRef("pk"),
            purpose=c["purpose"],
            channel=c["channel"],
            status=Consent.Status.GRANTED,
        )
        return Q(Exists(latest_granted))


def compile_rules(
    tree: dict[str, Any],
    catalogue: Catalogue,
    *,
    now: dt.datetime | None = None,
    scoped: bool = False,
) -> Q:
    return Compiler(catalogue, now=now, scoped=scoped).q(tree)
