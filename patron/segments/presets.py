"""Ready-made segments, installed as editable templates (``Segment.is_template``).

RFM and lifecycle groups are written over purchases directly (recency = an order in the
last N days, frequency = order count, monetary = total spend), with thresholds a business
edits to fit; when predicted RFM scores exist (``score.*`` fields) they can use those.
"""

from __future__ import annotations

from typing import Any

from patron.contacts.models import DEFAULT_LIFECYCLE_STAGES
from patron.segments.rules import Catalogue, parse_rules, validate

# (key, group, name, description, rules as text)
PRESETS: list[tuple[str, str, str, str, str]] = [
    ("rfm-champions", "RFM", "Champions", "Bought recently, buy often and spend the most.",
     "orders count >= 1 in last 30 days and orders count >= 5 and orders total >= 1000"),
    ("rfm-loyal", "RFM", "Loyal customers", "Buy regularly and recently.",
     "orders count >= 4 and orders count >= 1 in last 90 days"),
    ("rfm-potential-loyalists", "RFM", "Potential loyalists",
     "Recent customers with a second or third order.",
     "orders count between 2 and 3 and orders count >= 1 in last 60 days"),
    ("rfm-new", "RFM", "New customers", "First order in the last 30 days.",
     "orders count = 1 and orders count >= 1 in last 30 days"),
    ("rfm-at-risk", "RFM", "At risk", "Used to buy often, nothing for 90 days.",
     "orders count >= 3 and orders count = 0 in last 90 days"
     " and orders count >= 1 in last 365 days"),
    ("rfm-cant-lose", "RFM", "Can't lose them", "Big spenders gone quiet for six months.",
     "orders total >= 1000 and orders count = 0 in last 180 days"),
    ("rfm-hibernating", "RFM", "Hibernating", "Few, small, old orders.",
     "orders count between 1 and 2 and orders count = 0 in last 180 days"),
    ("life-new-leads", "Lifecycle", "New leads", "Leads created in the last 30 days.",
     'lifecycle_stage = "lead" and created_at in last 30 days'),
    ("life-active", "Lifecycle", "Active customers", "An order in the last 90 days.",
     "orders count >= 1 in last 90 days"),
    ("life-lapsed", "Lifecycle", "Lapsed customers", "Customers with no order for 180 days.",
     "orders count >= 1 and orders count = 0 in last 180 days"),
    ("life-first-time", "Lifecycle", "First-time buyers", "Exactly one order.",
     "orders count = 1"),
    ("life-repeat", "Lifecycle", "Repeat buyers", "Two orders or more.", "orders count >= 2"),
    ("eng-engaged", "Engagement", "Engaged subscribers",
     "Email marketing consent and active in the last 30 days.",
     "consent email_marketing via email and events.last_seen in last 30 days"),
    ("eng-dormant", "Engagement", "Dormant subscribers",
     "Email marketing consent, not seen for 90 days.",
     "consent email_marketing via email and not events.last_seen in last 90 days"),
]  # fmt: skip


def preset_trees() -> list[dict[str, Any]]:
    """The presets as rows: key, group, name, description, rules (a validated tree)."""
    catalogue = Catalogue.build(stages=[(s["key"], s["label"]) for s in DEFAULT_LIFECYCLE_STAGES])
    return [
        {
            "template_key": key,
            "group": group,
            "name": name,
            "description": description,
            "rules": validate(parse_rules(text), catalogue),
        }
        for key, group, name, description, text in PRESETS
    ]
