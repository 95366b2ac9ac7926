"""Deliveries carry the contact they are about (webhooks 0004), which erasure uses."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from patron.webhooks.models import WebhookDelivery, WebhookEndpoint
from patron.webhooks.services import endpoint_send_test
from patron.webhooks.services.outbox import (
    contact_of,
    deliveries_erase,
    enqueue_segment_changes,
)
from patron.webhooks.vault import encrypt

pytestmark = pytest.mark.django_db


def _endpoint() -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        name="r", url="https://hooks.example.com/in", secret_encrypted=encrypt("whsec_x"),
        event_types=["segment.entered", "segment.exited"],
    )  # fmt: skip


def test_segment_deliveries_carry_the_contact_test_events_none(admin_user_p: Any) -> None:
    endpoint = _endpoint()
    enqueue_segment_changes(
        segment_id=1, segment_name="S", entered=[7, 8], exited=[9], occurred_at=timezone.now()
    )
    rows = sorted(WebhookDelivery.objects.values_list("contact_id", "payload"))
    assert [r[0] for r in rows] == [7, 8, 9]
    assert all(r[1]["data"]["contact"]["id"] == r[0] for r in rows)
    test = endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    assert WebhookDelivery.objects.get(pk=test.pk).contact_id is None


def test_contact_of_reads_only_an_integer_id() -> None:
    assert contact_of({"data": {"contact": {"id": 5}}}) == 5
    for payload in (
        {},
        {"data": []},
        {"data": {"contact": {"id": "5"}}},
        {"data": {"contact": {"id": True}}},
        {"data": {"endpoint": {"id": 5}}},
    ):
        assert contact_of(payload) is None


def test_deliveries_erase_removes_only_that_contacts_rows() -> None:
    _endpoint()
    enqueue_segment_changes(
        segment_id=1, segment_name="S", entered=[7, 8], exited=[7], occurred_at=timezone.now()
    )
    assert deliveries_erase([7]) == 2
    assert deliveries_erase([]) == 0
    assert list(WebhookDelivery.objects.values_list("contact_id", flat=True)) == [8]


class _Editor:
    """What the migration's RunPython uses of a schema editor."""

    def __init__(self) -> None:
        self.connection = connection

    def execute(self, sql: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(sql)


def test_the_migration_fills_contact_id_from_existing_payloads(admin_user_p: Any) -> None:
    migration = importlib.import_module("patron.webhooks.migrations.0004_delivery_contact_id")
    endpoint = _endpoint()
    enqueue_segment_changes(
        segment_id=1, segment_name="S", entered=[41], exited=[], occurred_at=timezone.now()
    )
    endpoint_send_test(actor=admin_user_p, endpoint=endpoint)
    odd = WebhookDelivery.objects.create(
        endpoint=endpoint, event_id="msg_odd", event_type="segment.entered",
        payload={"data": {"contact": {"id": "not a number"}}},
    )  # fmt: skip
    WebhookDelivery.objects.update(contact_id=None)  # as rows written before the column
    migration.backfill(None, _Editor())
    got = dict(WebhookDelivery.objects.values_list("event_type", "contact_id").exclude(pk=odd.pk))
    assert got == {"segment.entered": 41, "webhook.test": None}
    assert WebhookDelivery.objects.get(pk=odd.pk).contact_id is None
