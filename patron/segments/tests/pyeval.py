"""A straightforward Python evaluation of rule trees: the reference the compiled SQL is
checked against. Loads every row it needs with plain queries and applies each rule's
documented meaning directly, with no cleverness (and no code shared with the compiler
beyond the time-zone helper and NULL-comparison rule, which are part of the semantics).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.utils import timezone

from patron.commerce.models import Order, OrderLine
from patron.contacts.models import Contact, ContactCompany, ContactListMember, CustomFieldValue
from patron.events.models import Event
from patron.privacy.models import Consent
from patron.segments.models import SegmentMembership
from patron.segments.rules.catalogue import Catalogue
from patron.support.models import SurveyResponse, Ticket

COUNTED = {"completed", "partially_refunded"}


def _ilike_fold(s: str) -> str:
    return s.lower()


class Data:
    """Everything about every contact, in dicts and lists."""

    def __init__(self) -> None:
        self.contacts = {c.pk: c for c in Contact.objects.select_related("owner")}
        self.tags: dict[int, set[str]] = defaultdict(set)
        for cid, name in Contact.tags.through.objects.values_list("contact_id", "tag__name"):
            self.tags[cid].add(name)
        self.lists: dict[int, set[int]] = defaultdict(set)
        for cid, lid in ContactListMember.objects.values_list("contact_id", "contact_list_id"):
            self.lists[cid].add(lid)
        self.custom: dict[tuple[int, int], list[CustomFieldValue]] = defaultdict(list)
        for v in CustomFieldValue.objects.filter(contact__isnull=False):
            self.custom[(v.contact_id, v.field_id)].append(v)  # type: ignore[index]
        self.companies: dict[int, list[Any]] = defaultdict(list)
        for link in ContactCompany.objects.select_related("company"):
            self.companies[link.contact_id].append(link.company)
        self.events: dict[int, list[Event]] = defaultdict(list)
        for e in Event.objects.filter(processed=True, type="track"):
            self.events[e.contact_id].append(e)  # type: ignore[index]
        self.orders: dict[int, list[Order]] = defaultdict(list)
        for o in Order.objects.all():
            self.orders[o.contact_id].append(o)
        self.lines: dict[int, list[OrderLine]] = defaultdict(list)
        for line in OrderLine.objects.select_related("order"):
            self.lines[line.contact_id].append(line)
        self.tickets: dict[int, list[Ticket]] = defaultdict(list)
        for t in Ticket.objects.all():
            self.tickets[t.contact_id].append(t)
        self.surveys: dict[int, list[SurveyResponse]] = defaultdict(list)
        for s in SurveyResponse.objects.all():
            self.surveys[s.contact_id].append(s)
        self.consents: dict[int, list[Consent]] = defaultdict(list)
        for c in Consent.objects.all():
            self.consents[c.contact_id].append(c)
        self.segments: dict[int, set[int]] = defaultdict(set)
        for cid, sid in SegmentMembership.objects.filter(exited_at__isnull=True).values_list(
            "contact_id", "segment_id"
        ):
            self.segments[cid].add(sid)


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _cmp(op: str, left: Any, value: Any) -> bool:
    if left is None:
        return False
    if op == "eq":
        return left == value
    if op == "gt":
        return left > value
    if op == "gte":
        return left >= value
    if op == "lt":
        return left < value
    if op == "lte":
        return left <= value
    if op == "between":
        return value[0] <= left <= value[1]
    raise AssertionError(op)


class PyEval:
    def __init__(self, catalogue: Catalogue, now: dt.datetime, data: Data | None = None) -> None:
        self.catalogue = catalogue
        self.now = now
        self.today = timezone.localdate(now)
        self.data = data or Data()

    def members(self, tree: dict[str, Any]) -> set[int]:
        return {cid for cid in self.data.contacts if self.ev(tree, cid)}

    def ev(self, node: dict[str, Any], cid: int) -> bool:
        if "and" in node:
            return all(self.ev(c, cid) for c in node["and"])
        if "or" in node:
            return any(self.ev(c, cid) for c in node["or"])
        if "not" in node:
            return not self.ev(node["not"], cid)
        return bool(getattr(self, f"k_{node['kind']}")(node, cid))

    # --- fields ----------------------------------------------------------------------

    def value_test(self, typ: str, op: str, v: Any, value: Any) -> bool:
        """Does one stored value ``v`` satisfy a positive operator?"""
        if op == "is_set":
            return v is not None and v != ""
        if v is None or v == "":
            return False
        if op == "contains":
            return _ilike_fold(value) in _ilike_fold(v)
        if op == "starts_with":
            return _ilike_fold(v).startswith(_ilike_fold(value))
        if op == "ends_with":
            return _ilike_fold(v).endswith(_ilike_fold(value))
        if op == "in":
            return any(self.value_test(typ, "eq", v, x) for x in value)
        if typ in ("date", "datetime"):
            return self.date_test(typ, op, v, value)
        if typ == "number":
            v = Decimal(str(v))
            value = (
                [Decimal(str(x)) for x in value] if isinstance(value, list) else Decimal(str(value))
            )
        return _cmp(op, v, value)

    def date_test(self, typ: str, op: str, v: Any, value: Any) -> bool:
        if typ == "date":
            today = self.today
            if op == "eq":
                return v == dt.date.fromisoformat(value)
            if op == "before":
                return v < dt.date.fromisoformat(value)
            if op == "after":
                return v > dt.date.fromisoformat(value)
            if op == "between":
                lo, hi = (dt.date.fromisoformat(x) for x in value)
                return lo <= v <= hi
            if op == "in_last_days":
                return today - dt.timedelta(days=value) <= v <= today
            if op == "in_next_days":
                return today <= v <= today + dt.timedelta(days=value)
            if op == "older_than_days":
                return v < today - dt.timedelta(days=value)
            if op == "anniversary_within_days":
                if value >= 365:
                    return True
                md = v.month * 100 + v.day
                end = today + dt.timedelta(days=value)
                lo, hi = today.month * 100 + today.day, end.month * 100 + end.day
                return lo <= md <= hi if lo <= hi else (md >= lo or md <= hi)
        now = self.now
        if op == "before":
            return v < _midnight(dt.date.fromisoformat(value))
        if op == "after":
            return v >= _midnight(dt.date.fromisoformat(value) + dt.timedelta(days=1))
        if op == "between":
            lo = _midnight(dt.date.fromisoformat(value[0]))
            hi = _midnight(dt.date.fromisoformat(value[1]) + dt.timedelta(days=1))
            return lo <= v < hi
        if op == "in_last_days":
            return now - dt.timedelta(days=value) <= v <= now
        if op == "in_next_days":
            return now <= v <= now + dt.timedelta(days=value)
        if op == "older_than_days":
            return v < now - dt.timedelta(days=value)
        raise AssertionError(op)

    def values_of(self, spec: Any, cid: int) -> list[Any]:
        contact = self.data.contacts[cid]
        if spec.source == "contact":
            return [getattr(contact, spec.column)]
        if spec.source == "owner_team":
            return [contact.owner.team_id if contact.owner else None]
        if spec.source == "company":
            return [getattr(co, spec.column) for co in self.data.companies[cid]]
        if spec.source == "custom":
            rows = self.data.custom[(cid, spec.custom_field_id)]
            col = {"number": "value_number", "date": "value_date", "boolean": "value_bool"}
            return [getattr(r, col.get(spec.type, "value_text")) for r in rows]
        if spec.source == "summary":
            events = self.data.events_all(cid) if hasattr(self.data, "events_all") else None
            return [self._summary(cid, spec.column, events)]
        raise AssertionError(spec.source)

    def _summary(self, cid: int, column: str, _: Any) -> Any:
        from patron.events.models import ContactEventSummary

        row = ContactEventSummary.objects.filter(contact_id=cid).first()
        if row is None:
            return 0 if column in ("event_count", "page_views", "sessions") else None
        return getattr(row, column)

    def k_field(self, c: dict[str, Any], cid: int) -> bool:
        spec = self.catalogue.fields[c["field"]]
        op, value = c["op"], c.get("value")
        negate = op in ("neq", "not_set")
        if negate:
            op = "eq" if op == "neq" else "is_set"
        values = self.values_of(spec, cid)
        if spec.source == "summary" and spec.type == "number" and op == "is_set":
            hit = True
        else:
            hit = any(self.value_test(spec.type, op, v, value) for v in values)
        return hit != negate

    # --- everything else -----------------------------------------------------------------

    def k_tag(self, c: dict[str, Any], cid: int) -> bool:
        return c["tag"] in self.data.tags[cid]

    def k_list(self, c: dict[str, Any], cid: int) -> bool:
        return c["list"] in self.data.lists[cid]

    def k_segment(self, c: dict[str, Any], cid: int) -> bool:
        return c["segment"] in self.data.segments[cid]

    def k_consent(self, c: dict[str, Any], cid: int) -> bool:
        rows = [
            r
            for r in self.data.consents[cid]
            if r.purpose == c["purpose"] and r.channel == c["channel"]
        ]
        if not rows:
            return False
        latest = max(rows, key=lambda r: (r.recorded_at, r.pk))
        return latest.status == "granted"

    def _in_window(self, at: dt.datetime, days: int | None) -> bool:
        return days is None or self.now - dt.timedelta(days=days) <= at <= self.now

    def _prop(self, w: dict[str, Any], props: dict[str, Any]) -> bool:
        name, op, value = w["property"], w["op"], w.get("value")
        present = name in props and props[name] is not None
        if op == "is_set":
            return present
        if op == "not_set":
            return not present
        if op == "neq":
            return not self._prop({**w, "op": "eq"}, props)
        v = props.get(name)
        is_num = isinstance(v, (int, float)) and not isinstance(v, bool)
        if op in ("gt", "gte", "lt", "lte"):
            return is_num and _cmp(op, float(v), float(value))
        if op == "contains":
            return isinstance(v, str) and value.lower() in v.lower()
        sample = value[0] if isinstance(value, list) else value
        options = value if op == "in" else [value]
        if isinstance(sample, bool):
            return isinstance(v, bool) and v in options
        if isinstance(sample, (int, float)):
            return is_num and float(v) in [float(x) for x in options]
        return isinstance(v, str) and v in options

    def k_event(self, c: dict[str, Any], cid: int) -> bool:
        n = sum(
            1
            for e in self.data.events[cid]
            if e.event == c["event"]
            and self._in_window(e.timestamp, c["within_days"])
            and all(self._prop(w, e.properties) for w in c["where"])
        )
        return {
            "at_least": n >= c["count"],
            "at_most": n <= c["count"],
            "exactly": n == c["count"],
        }[c["op"]]

    def k_event_time(self, c: dict[str, Any], cid: int) -> bool:
        times = [e.timestamp for e in self.data.events[cid] if e.event == c["event"]]
        if not times:
            return False
        at = min(times) if c["which"] == "first" else max(times)
        return self.date_test("datetime", c["op"], at, c["value"])

    def k_orders(self, c: dict[str, Any], cid: int) -> bool:
        orders = [
            o
            for o in self.data.orders[cid]
            if o.status in COUNTED and self._in_window(o.placed_at, c["within_days"])
        ]
        nets = [o.total - o.refunded_amount for o in orders]
        if c["measure"] == "count":
            v: Any = len(orders)
        elif c["measure"] == "total":
            v = sum(nets, Decimal(0))
        else:
            v = sum(nets, Decimal(0)) / len(nets) if nets else None
        value = c["value"]
        value = [Decimal(str(x)) for x in value] if isinstance(value, list) else Decimal(str(value))
        if c["op"] == "neq":
            return not _cmp("eq", v, value)
        return _cmp(c["op"], v, value)

    def k_bought(self, c: dict[str, Any], cid: int) -> bool:
        for line in self.data.lines[cid]:
            if line.order.status not in COUNTED:
                continue
            if not self._in_window(line.order.placed_at, c["within_days"]):
                continue
            if (line.sku if c["by"] == "product" else line.category) == c["value"]:
                return True
        return False

    def k_tickets(self, c: dict[str, Any], cid: int) -> bool:
        n = sum(1 for t in self.data.tickets[cid] if t.status in ("open", "pending"))
        if c["op"] == "neq":
            return n != c["value"]
        return _cmp(c["op"], n, c["value"])

    def k_survey(self, c: dict[str, Any], cid: int) -> bool:
        rows = [s for s in self.data.surveys[cid] if s.kind == c["survey"]]
        latest = max(rows, key=lambda s: (s.responded_at, s.pk)).score if rows else None
        op = c["op"]
        if op == "is_set":
            return latest is not None
        if op == "not_set":
            return latest is None
        if op == "neq":
            return not _cmp("eq", latest, c["value"])
        return _cmp(op, latest, c["value"])
