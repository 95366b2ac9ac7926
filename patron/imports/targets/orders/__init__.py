"""Importing orders with their lines: one file row per line, grouped by the order id.

- Rows with the same order id must be next to each other (as every shop export writes
  them); the runner never splits such a group between chunks. An order id seen again
  later in the file finds its order already imported and is reported, not duplicated.
- An order is idempotent by its external order id: importing it again leaves it
  unchanged, or updates status, time and source (lines are never rewritten).
- The contact is found by email or contact external id (among contacts the user may
  see); money is Decimal with an ISO currency; products are found by SKU and created on
  first sight (``order_create`` does that through ``product_upsert``).

Modules: ``rows`` (the columns, and one order's group of rows read and cleaned),
``contacts`` (the customers, emails normalised once a run), ``per_order`` (each order
through the services), ``bulk`` (a chunk checked then written at once, ADR 0083; the
``OrdersTarget`` the runner uses), ``rollback``.
"""

from patron.imports.targets.orders.bulk import OrdersTarget

__all__ = ["OrdersTarget"]
