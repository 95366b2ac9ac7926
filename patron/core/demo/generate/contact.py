"""The demo generator, one contact: what happens to them (plan), and their history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from patron.contacts.models import (
    Contact,
    ContactCompany,
    ContactIdentity,
    ContactList,
    ContactListMember,
    CustomFieldValue,
)
from patron.contacts.normalize import (
    contact_input_normalize,
    contact_keys_refresh,
    normalize_email,
    search_text_for,
)
from patron.contacts.services._common import CONTACT_FIELDS
from patron.core.demo import catalog as cat
from patron.core.demo.generate.base import (
    ACTOR_LABEL,
    CUSTOMER_SHARE,
    GeneratorBase,
)
from patron.core.demo.history import Rows
from patron.core.demo.people import Person, weighted
from patron.core.models import Activity
from patron.core.services import _jsonable


class ContactGenerator(GeneratorBase):
    # --- one contact -------------------------------------------------------------------

    def _plan(self, p: Person) -> dict[str, Any]:
        r = self.rng
        if p.source == "shop checkout":
            customer = True
        else:
            shop_share = dict(cat.SOURCES)["shop checkout"] / sum(w for _, w in cat.SOURCES)
            rate = (CUSTOMER_SHARE - shop_share) / (1 - shop_share)
            customer = r.random() < (rate * 0.7 if p.original else rate)
        times = self.history.plan_orders(p, customer)
        if times:
            if self.now - times[-1] > dt.timedelta(days=270) and r.random() < 0.7:
                stage = "churned"
            elif len(times) >= 4 and r.random() < 0.25:
                stage = "evangelist"
            else:
                stage = "customer"
        else:
            stage = weighted(r, cat.LIFECYCLE_PROSPECT)
        if (stage == "subscriber" and r.random() < 0.6) or r.random() < 0.08:
            owner = None
        else:
            owner = r.choice(self.users.reps[p.country.code])
        external_id = None
        if customer and r.random() < 0.6:
            alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
            external_id = "cus_" + "".join(r.choice(alphabet) for _ in range(14))
        city = p.city
        # The one entry-point normaliser, as contact_create runs it on form/API input.
        norm = contact_input_normalize(
            {
                "prefix": p.prefix,
                "first_name": p.first_name,
                "middle_name": p.middle_name,
                "last_name": p.last_name,
                "suffix": p.suffix,
                "email": p.email,
                "phone": p.phone_raw,
                "country": p.country.code,
                "postal_code": p.postal_code,
                "birthday": p.birthday,
            },
            default_region=p.country.code,
        )
        if norm.errors:  # pragma: no cover - the generator only makes valid input
            raise ValueError(f"Demo generated invalid input: {norm.errors}")
        v = norm.values
        contact = Contact(
            full_name=" ".join(x for x in (v["first_name"], v["middle_name"], v["last_name"]) if x),
            prefix=v["prefix"],
            first_name=v["first_name"],
            middle_name=v["middle_name"],
            last_name=v["last_name"],
            suffix=v["suffix"],
            email=v["email"],
            phone=v["phone"],
            address_line1=p.address_line1,
            address_line2=p.address_line2,
            city=city.name if city else "",
            region=city.region if city else "",
            postal_code=v["postal_code"],
            country=v["country"],
            language=p.language,
            time_zone=p.time_zone,
            birthday=v["birthday"],
            job_title=p.job_title[:200],
            lifecycle_stage=stage,
            owner=owner,
            source=p.source,
            external_id=external_id,
            created_at=p.created_at,
            updated_at=max([p.created_at, *times]),
        )
        # Same fields as patron.contacts.services._common._refresh_search_text.
        contact.search_text = search_text_for(
            contact.first_name,
            contact.middle_name,
            contact.last_name,
            contact.full_name,
            contact.email,
            contact.phone,
            contact.external_id or "",
        )
        contact_keys_refresh(contact)
        plan, seats = "", 0
        if customer and p.company is not None:
            emp = p.company.employees
            plan = (
                "Starter"
                if emp <= 10
                else "Team"
                if emp <= 50
                else "Business"
                if emp <= 500
                else "Enterprise"
            )
            seats = max(1, min(emp, int(emp * r.uniform(0.3, 1.0))))
        return {
            "contact": contact,
            "customer": customer,
            "times": times,
            "owner": owner,
            "plan": plan,
            "seats": seats,
            "account": customer or (p.source in cat.WEB_SOURCES and r.random() < 0.7),
        }

    def _history(self, p: Person, plan: dict[str, Any], rows: Rows) -> None:
        r = self.rng
        h = self.history
        c: Contact = plan["contact"]
        cid = c.pk
        if p.company is not None and p.company.obj is not None:
            rows.add(
                ContactCompany(
                    contact_id=cid,
                    company_id=p.company.obj.pk,
                    role=p.company_role,
                    is_primary=True,
                    created_at=p.created_at,
                )
            )
        uid = f"usr_{r.getrandbits(48):012x}" if plan["account"] else ""
        web = plan["account"] or p.source in cat.WEB_SOURCES
        devices = h.devices(p, bool(uid)) if web or plan["times"] else []

        def identity(kind: str, value: str, label: str) -> None:
            seen = h.between(p.created_at, self.now)
            rows.add(
                ContactIdentity(
                    contact_id=cid,
                    kind=kind,
                    value=value,
                    match_key=ContactIdentity.match_key_for(kind, value),
                    label=label,
                    first_seen=p.created_at,
                    last_seen=seen,
                )
            )

        if p.personal_email and p.personal_email != p.email:
            identity("email", normalize_email(p.personal_email), "personal")
        if uid:
            identity("user_id", uid, "app")
        for d in devices:
            identity("anonymous_id", d.anonymous_id, d.kind)

        orders = h.orders(p, plan["times"], rows)
        if devices:
            factor = 1.3 if plan["customer"] else 0.8
            target = round(r.gammavariate(1.6, 20 / 1.6) * factor)
            h.events(p, rows, uid=uid, devices=devices, orders=orders, target=target)
        h.tickets(p, orders, plan["customer"], rows)
        h.nps(p, plan["customer"], rows)
        first_order = orders[0].placed_at if orders else None
        newsletter = h.consents(p, plan["owner"], plan["customer"], first_order, rows, web)
        h.notes(p, plan["owner"], plan["plan"], plan["seats"], rows)

        # Tags follow from what we know about the person.
        tags = []
        if newsletter:
            tags.append("newsletter")
        if len(orders) >= 5:
            tags.append("vip")
        if p.source == "trade show":
            tags.append("trade-show")
        if p.source == "webinar":
            tags.append("webinar-2025")
        if p.company is not None and p.company.industry == "Hospitality":
            tags.append("wholesale")
        if any(ln.category == "Gifts" for o in orders for ln in o.demo_lines):  # type: ignore[attr-defined]
            tags.append("gift-buyer")
        if c.lifecycle_stage == "churned" and r.random() < 0.5:
            tags.append("churn-risk")
        if r.random() < 0.04:
            tags.append("beta-tester")
        if r.random() < 0.03:
            tags.append("barista")
        through = Contact.tags.through
        for name in tags:
            rows.add(through(contact_id=cid, tag_id=self.tags[name].pk))

        custom: dict[str, Any] = {}
        fields = self.fields

        def value(key: str, **typed: Any) -> None:
            f = fields.get(key)
            if f is not None:
                rows.add(CustomFieldValue(field=f, contact_id=cid, **typed))
                custom[key] = _jsonable(next(iter(typed.values())))

        if plan["plan"]:
            value("plan", value_text=plan["plan"])
            value("seats", value_number=Decimal(plan["seats"]).quantize(Decimal("0.000001")))
            renewal = (orders[0].placed_at if orders else p.created_at).date()
            while renewal <= self.now.date():
                renewal = renewal.replace(year=renewal.year + 1)
            value("renewal_date", value_date=renewal)
        if c.email:
            value("newsletter", value_bool=newsletter)

        lists = self.lists
        if p.source == "trade show":
            rows.add(self._member(lists[0], cid, p.created_at))
        if "beta-tester" in tags:
            rows.add(self._member(lists[1], cid, p.created_at))
        if newsletter and (p.country.code == "DE" or p.language == "de"):
            rows.add(self._member(lists[2], cid, p.created_at))

        after = {f: getattr(c, f) for f in CONTACT_FIELDS}
        after["owner"] = c.owner_id
        after = {k: v for k, v in _jsonable(after).items() if v not in ("", None)}
        if tags:
            after["tags"] = sorted(tags)
        if custom:
            after["custom"] = custom
        rows.add(
            Activity(
                actor_label=ACTOR_LABEL,
                verb="contact.created",
                subject_type="contact",
                subject_id=cid,
                subject_label=c.display_name[:300],
                contact_id=cid,
                changes={"after": after},
                created_at=p.created_at,
            )
        )

    def _member(self, lst: ContactList, cid: int, at: dt.datetime) -> ContactListMember:
        return ContactListMember(contact_list=lst, contact_id=cid, added_at=at)
