"""Permission-scoped reads of orders and products.

Orders hang off contacts: an actor sees an order exactly when they see its contact.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from patron.accounts.models import User
from patron.commerce.models import Order, OrderLine, Product
from patron.contacts.selectors import related_visible_to, require
from patron.core.clean import pk_or_404
from patron.core.permissions import P


def orders_visible_to(actor: User) -> QuerySet[Order]:
    return related_visible_to(actor, Order, P.ORDER_VIEW)


def order_get(actor: User, order_id: int | str) -> Order:
    """An order the actor may see, else Http404 (out-of-scope records do not exist)."""
    order = orders_visible_to(actor).filter(pk=pk_or_404(order_id)).first()
    if order is None:
        raise Http404("No such order.")
    return order


def orders_filter(
    actor: User,
    *,
    contact_id: int | None = None,
    status: str = "",
    external_id: str = "",
) -> QuerySet[Order]:
    qs = orders_visible_to(actor)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if status:
        qs = qs.filter(status=status)
    if external_id:
        qs = qs.filter(external_id=external_id)
    return qs


def order_lines_of(actor: User, order: Order) -> QuerySet[OrderLine]:
    order_get(actor, order.pk)
    return order.lines.order_by("id")


def products_visible_to(actor: User) -> QuerySet[Product]:
    """The product catalogue: anyone who may see orders may see it."""
    require(actor, P.ORDER_VIEW)
    return Product.objects.all()
