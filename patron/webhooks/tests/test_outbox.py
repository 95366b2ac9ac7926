"""Segment enter/exit: one delivery per subscribed endpoint and transition, written in
the same transaction as the membership change, in bulk (no query per contact)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from patron.contacts.models import Contact
from patron.segments.models import Segment
from patron.segments.rules import Catalogue, parse_rules, validate
from patron.segments.rules.deps import dependencies
from patron.segments.services.membership import segment_build, segments_reevaluate
from patron.webhooks.models import WebhookDelivery
from patron.webhooks.services import endpoint_set_active, endpoint_update
from patron.webhooks.services.delivery import deliveries_send_due
from patron.webhooks.signing import verify
from patron.webhooks.tests.conftest import Receiver

pytestmark = pytest.mark.django_db


def _segment(text: str, name: str = "Berliners") -> Segment:
    catalogue = Catalogue.load()
    tree = validate(parse_rules(text), catalogue)
    return Segment.objects.create(
        name=name, rules=tree, depends_on=sorted(dependencies(tree, catalogue))
    )


def _contacts(n: int, city: str = "Berlin") -> list[int]:
    Contact.objects.bulk_create(Contact(first_name=f"c{i}", city=city) for i in range(n))
    return list(Contact.objects.filter(city=city).values_list("pk", flat=True))


def test_enter_and_exit_make_one_delivery_per_endpoint(
    receiver: Receiver, make_endpoint: Any, admin_user_p: Any
) -> None:
    seg = _segment('city = "Berlin"')
    other = _segment('city = "Paris"', "Parisians")
    both, secret = make_endpoint(receiver.url("/both"))
    only_enter, _ = make_endpoint(receiver.url("/enter"), event_types=["segment.entered"])
    elsewhere, _ = make_endpoint(receiver.url("/other"), segment_ids=[other.pk])
    off, _ = make_endpoint(receiver.url("/off"))
    endpoint_set_active(actor=admin_user_p, endpoint=off, active=False)
    [cid] = _contacts(1)

    segment_build(segment_id=seg.pk)
    rows = list(WebhookDelivery.objects.values_list("endpoint_id", "event_type"))
    assert sorted(rows) == sorted(
        [(both.pk, "segment.entered"), (only_enter.pk, "segment.entered")]
    )
    Contact.objects.filter(pk=cid).update(city="Rome")
    segments_reevaluate(contact_ids=[cid], what=["profile"])
    exits = list(
        WebhookDelivery.objects.filter(event_type="segment.exited").values_list(
            "endpoint_id", flat=True
        )
    )
    assert exits == [both.pk]
    # A second evaluation with no change records nothing new
    segments_reevaluate(contact_ids=[cid], what=["profile"])
    assert WebhookDelivery.objects.count() == 3

    deliveries_send_due(max_seconds=10)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    mine = [r for r in receiver.requests if r.path == "/both"]
    assert len(mine) == 2
    for req in mine:
        verify(secret, req.headers, req.body)
    import json

    entered = json.loads(next(r.body for r in mine if b"segment.entered" in r.body))
    assert entered["type"] == "segment.entered"
    assert entered["data"]["segment"] == {"id": seg.pk, "name": "Berliners"}
    assert entered["data"]["contact"] == {"id": cid}
    assert set(entered["data"]) == {"segment", "contact", "occurred_at"}


def test_no_delivery_survives_a_rolled_back_transition(make_endpoint: Any, settings: Any) -> None:
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
    seg = _segment('city = "Berlin"')
    make_endpoint("http://127.0.0.1:9/hook")
    _contacts(3)
    with pytest.raises(RuntimeError), transaction.atomic():
        segment_build(segment_id=seg.pk)
        assert WebhookDelivery.objects.count() == 3
        raise RuntimeError("the change fails after the deliveries were written")
    assert WebhookDelivery.objects.count() == 0


def test_segment_filter_follows_edits_and_deleted_segments_match_nothing(
    make_endpoint: Any, admin_user_p: Any, settings: Any
) -> None:
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
    seg = _segment('city = "Berlin"')
    gone = _segment('city = "Oslo"', "Osloites")
    endpoint, _ = make_endpoint("http://127.0.0.1:9/hook", segment_ids=[gone.pk])
    gone.delete()
    _contacts(2)
    segment_build(segment_id=seg.pk)
    assert WebhookDelivery.objects.count() == 0
    endpoint_update(actor=admin_user_p, endpoint=endpoint, data={"segment_ids": [seg.pk]})
    Contact.objects.bulk_create([Contact(first_name="new", city="Berlin")])
    segment_build(segment_id=seg.pk)
    assert WebhookDelivery.objects.count() == 1


@pytest.mark.parametrize("n", [10, 600])
def test_queries_do_not_grow_with_the_number_of_contacts(
    make_endpoint: Any, settings: Any, n: int
) -> None:
    """The whole build (membership, activity, deliveries for 2 endpoints) costs the same
    number of queries for 10 and for 600 contacts entering at once."""
    settings.PATRON_WEBHOOKS_ALLOW_PRIVATE = True
    seg = _segment('city = "Berlin"')
    make_endpoint("http://127.0.0.1:9/a")
    make_endpoint("http://127.0.0.1:9/b")
    _contacts(n)
    with CaptureQueriesContext(connection) as queries:
        segment_build(segment_id=seg.pk)
    assert WebhookDelivery.objects.count() == 2 * n
    webhook_queries = [q for q in queries if "webhooks_" in q["sql"]]
    if connection.vendor == "postgresql":
        assert len(webhook_queries) == 2  # find the endpoints; one bulk insert
    else:
        # SQLite's variable limit splits each bulk insert into statements of ~100 rows
        assert len(webhook_queries) <= 2 + (2 * n) // 75
