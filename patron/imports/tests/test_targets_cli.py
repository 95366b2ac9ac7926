"""``patron import companies|orders|tickets|events FILE [--dry-run]``."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from patron.commerce.models import Order
from patron.contacts.models import Company
from patron.contacts.services import contact_create
from patron.events.models import Event
from patron.support.models import Ticket

pytestmark = pytest.mark.django_db


def _call(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("import", *args, "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_companies_dry_run_then_import(admin_user_p: Any, write_csv: Any) -> None:
    path = write_csv([["Company", "Website", "Country"], ["Acme", "www.acme.io", "Germany"]])
    dry = _call("companies", path, "--dry-run")
    assert dry["counts"]["created"] == 1 and not Company.objects.exists()
    done = _call("companies", path)
    assert done["counts"]["created"] == 1
    assert Company.objects.get().domain == "acme.io"
    assert _call("companies", path)["counts"]["unchanged"] == 1


def test_orders_tickets_and_events(admin_user_p: Any, write_csv: Any) -> None:
    contact_create(actor=admin_user_p, data={"email": "jane@example.com"})
    orders = write_csv([["Order id", "Email", "SKU", "Qty", "Price"],
                        ["O-1", "jane@example.com", "S1", "2", "3.50"],
                        ["O-1", "jane@example.com", "S2", "1", "1.00"]])  # fmt: skip
    assert _call("orders", orders)["counts"]["created"] == 1
    assert Order.objects.get().lines.count() == 2
    tickets = write_csv([["Ticket id", "Email", "Subject"], ["T-1", "jane@example.com", "Hi"]])
    assert _call("tickets", tickets)["counts"]["created"] == 1
    assert Ticket.objects.get().subject == "Hi"
    events = write_csv([["type", "event", "userId", "timestamp"],
                        ["track", "Signed Up", "u1", "2022-05-01T00:00:00Z"]])  # fmt: skip
    assert _call("events", events, "--dry-run")["counts"]["created"] == 1
    assert not Event.objects.exists()
    assert _call("events", events)["counts"]["created"] == 1
    assert Event.objects.get().event == "Signed Up"


def test_bad_key_and_unreadable_file_are_clear_errors(admin_user_p: Any, tmp_path: Any) -> None:
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10)
    with pytest.raises(CommandError, match="file"):
        _call("companies", str(binary))
    with pytest.raises(CommandError):
        call_command("import", "orders", str(binary), "--key", "email")
    assert not Company.objects.exists() and not Order.objects.exists()
