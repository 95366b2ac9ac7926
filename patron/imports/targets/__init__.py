"""Import targets other than contacts: companies, orders (with lines), tickets, events.

Contacts have their own fast path (``patron.imports.engine``); every other target is a
``Target`` (``targets.base``) run by the generic ``targets.runner``. In the journal of
such a job, ``ImportChunk.created`` holds ``[row, object id]`` and ``ImportRow.contact_id``
the id of the target's object (company, order, ticket).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from patron.imports.targets.base import Target

TARGETS = ("contacts", "companies", "orders", "tickets", "events")
LABELS = {
    "contacts": "Contacts",
    "companies": "Companies",
    "orders": "Orders with lines",
    "tickets": "Support tickets",
    "events": "Events (historical backfill)",
}


def target_for(name: str) -> Target:
    """The Target object of a non-contact target; ValueError for an unknown name."""
    if name == "companies":
        from patron.imports.targets.companies import CompaniesTarget

        return CompaniesTarget()
    if name == "orders":
        from patron.imports.targets.orders import OrdersTarget

        return OrdersTarget()
    if name == "tickets":
        from patron.imports.targets.tickets import TicketsTarget

        return TicketsTarget()
    if name == "events":
        from patron.imports.targets.events import EventsTarget

        return EventsTarget()
    raise ValueError(f"Unknown import target {name!r}.")
