"""The event processor: an erased person is not brought back by tracking."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.contacts.models import Contact, ContactIdentity
from patron.events.models import Event, RejectedMessage
from patron.events.services.identity.erased import erasure_digests
from patron.events.tests.processing_helpers import at, identities, run, send
from patron.privacy.models import ErasureMatch
from patron.privacy.services import contact_erase, match_hashes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_processing")]

ADA_EMAIL = "Ada.Lovelace+crm@gmail.com"


def _erase_ada(admin: Any, source: Any) -> None:
    """Ada tracked as user "ada-1" with her email and phone, then erased."""
    send(
        source,
        {
            "type": "identify",
            "userId": "ada-1",
            "anonymousId": "dev-ada",
            "traits": {"email": ADA_EMAIL, "phone": "+44 20 7946 0018", "name": "Ada L"},
            "timestamp": at(0),
        },
    )
    run()
    ada = Contact.objects.get()
    contact_erase(actor=admin, contact=ada)
    assert not Contact.objects.exists()
    assert ErasureMatch.objects.count() >= 3


def _no_personal_value(texts: list[str]) -> None:
    for text in texts:
        for value in ("ada", "Ada", "7946", "lovelace"):
            assert value not in text, text


@pytest.mark.parametrize(
    "message",
    [
        {"type": "identify", "userId": "ada-1", "traits": {"plan": "pro"}},
        {"type": "track", "userId": "ada-1", "event": "Signed In"},
        # her email in another spelling of the same mailbox, a new user id
        {"type": "identify", "userId": "new-9", "traits": {"email": "adalovelace@gmail.com"}},
        {"type": "identify", "anonymousId": "dev-2", "traits": {"phone": "+442079460018"}},
        {"type": "alias", "userId": "new-7", "previousId": "ada-1"},
    ],
    ids=["identify-user-id", "track-user-id", "identify-email", "identify-phone", "alias"],
)
def test_an_erased_person_is_not_recreated(source_key, admin_user_p, message):
    # Given Ada was tracked, then erased
    source, _ = source_key
    _erase_ada(admin_user_p, source)
    # When an event with one of her identifiers arrives, next to an unrelated person's
    send(
        source,
        {**message, "timestamp": at(10)},
        {"type": "identify", "userId": "bob-1", "traits": {"email": "bob@example.com"}},
        {"type": "track", "userId": "bob-1", "event": "Signed In", "timestamp": at(11)},
    )
    assert run() == 3
    # Then nobody but Bob exists, and nothing of Ada's is stored
    bob = Contact.objects.get()
    assert bob.email == "bob@example.com"
    assert identities(bob) == {("user_id", "bob-1")}
    assert not ContactIdentity.objects.exclude(contact=bob).exists()
    events = list(Event.objects.order_by("id").values_list("user_id", "processed", "contact_id"))
    assert events == [("bob-1", True, bob.pk), ("bob-1", True, bob.pk)]
    # And the refusal is in the debugger, without her values
    rejected = list(RejectedMessage.objects.filter(source=source))
    assert [r.stage for r in rejected] == ["processing"]
    assert "erased person" in rejected[0].reason
    assert rejected[0].type == message["type"]
    _no_personal_value([rejected[0].reason, rejected[0].payload])
    source.refresh_from_db()
    assert source.rejected_count == 1


def test_anonymous_events_of_the_same_device_go_with_the_refused_one(source_key, admin_user_p):
    # Given Ada was erased
    source, _ = source_key
    _erase_ada(admin_user_p, source)
    # When a new device's anonymous page views and then her identify arrive in one batch
    send(
        source,
        {"type": "page", "anonymousId": "dev-3", "name": "Home", "timestamp": at(20)},
        {"type": "track", "anonymousId": "dev-3", "event": "Viewed", "timestamp": at(21)},
        {"type": "identify", "userId": "ada-1", "anonymousId": "dev-3", "timestamp": at(22)},
        {"type": "page", "anonymousId": "dev-other", "name": "Home", "timestamp": at(23)},
    )
    assert run() == 4
    # Then the device's events are gone too; another anonymous visitor's page is kept
    assert not Contact.objects.exists()
    assert list(Event.objects.values_list("anonymous_id", "processed")) == [("dev-other", True)]
    reasons = sorted(RejectedMessage.objects.values_list("reason", flat=True))
    assert len(reasons) == 3
    assert sum("same batch" in r for r in reasons) == 2


def test_a_batch_of_only_refused_events_does_not_stop_the_run(source_key, admin_user_p):
    source, _ = source_key
    _erase_ada(admin_user_p, source)
    send(source, *[{"type": "track", "userId": "ada-1", "event": f"E{i}"} for i in range(3)])
    send(source, {"type": "track", "userId": "bob-1", "event": "Later"})
    from patron.events.services.processing import events_process_pending

    assert events_process_pending(batch_size=3) == (4, False)
    assert list(Contact.objects.values_list("identities__value", flat=True)) == ["bob-1"]


def test_without_erasures_the_check_is_one_query(source_key):
    source, _ = source_key
    send(source, {"type": "identify", "userId": "u1", "traits": {"email": "x@example.com"}})
    with CaptureQueriesContext(connection) as queries:
        run()
    touching = [q["sql"] for q in queries.captured_queries if "erasurematch" in q["sql"].lower()]
    assert len(touching) == 1
    assert Contact.objects.count() == 1


def test_digests_are_the_erasure_services(settings):
    settings.PATRON_SECRETS_KEY = "k" * 40 + "," + "j" * 40  # two keys: both hashed
    pairs = [("email", "Ada.Lovelace+x@googlemail.com"), ("user_id", " u-1 "), ("phone", "+1555")]
    assert set(erasure_digests(pairs)) == match_hashes(pairs, every_key=True)
