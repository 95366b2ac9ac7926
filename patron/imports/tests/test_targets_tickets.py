"""Importing support tickets: idempotent by external id, contact by email, rollback."""

from __future__ import annotations

from typing import Any

import pytest

from patron.contacts.models import Contact
from patron.contacts.services import contact_create
from patron.core.models import Activity
from patron.core.tests.api_client import db_state
from patron.imports.mapping import auto_map
from patron.imports.services import import_job_rollback
from patron.imports.tests.target_helpers import assert_only_import_state_changed, check, run
from patron.support.models import Ticket

pytestmark = pytest.mark.django_db

HEADER = ["Ticketnummer", "E-Mail", "Betreff", "Beschreibung", "Status", "Priorität", "Erstellt"]
ROWS = [
    HEADER,
    ["T-1", "jane@example.com", "Broken mug", "It broke", "Open", "High", "2024-02-01 10:00"],
    ["T-2", "jane@example.com", "Refund", "", "Solved", "normal", "01.02.2024"],
    ["T-3", "jane@example.com", "", "no subject", "open", "", ""],
    ["T-4", "jane@example.com", "Odd", "", "sideways", "", ""],
    ["T-5", "ghost@example.com", "Who", "", "", "", ""],
]


@pytest.fixture
def jane(admin_user_p: Any) -> Contact:
    return contact_create(actor=admin_user_p, data={"email": "jane@example.com"})


def _state() -> list[dict[str, Any]]:
    return list(Ticket.objects.order_by("pk").values())


def test_helpdesk_headers_map() -> None:
    assert auto_map(HEADER, target="tickets") == {
        "Ticketnummer": "external_id",
        "E-Mail": "email",
        "Betreff": "subject",
        "Beschreibung": "description",
        "Status": "status",
        "Priorität": "priority",
        "Erstellt": "opened_at",
    }


def test_dry_run_then_run_then_reimport_then_rollback(
    admin_user_p: Any, jane: Contact, write_csv: Any
) -> None:
    path = write_csv(ROWS)
    before_db = db_state()
    checked = check(admin_user_p, path, "tickets")
    assert checked.preview["counts"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "error": 3,
        "skipped": 0,
    }
    reasons = {i["row"]: (i["column"], i["reason"]) for i in checked.preview["issues"]}
    assert reasons[4][0] == "Betreff"
    assert reasons[5][0] == "Status" and "sideways" in reasons[5][1]
    assert reasons[6][0] == "E-Mail"
    assert_only_import_state_changed(before_db, db_state())

    _, job = run(admin_user_p, path, "tickets")
    assert job.counts == checked.preview["counts"]
    t1 = Ticket.objects.get(external_id="T-1")
    assert (t1.contact_id, t1.status, t1.priority) == (jane.pk, "open", "high")
    t2 = Ticket.objects.get(external_id="T-2")
    assert t2.status == "resolved" and t2.resolved_at is not None
    assert Activity.objects.filter(verb="ticket.created").count() == 2

    first = _state()
    _, again = run(admin_user_p, path, "tickets")
    assert again.counts["created"] == 0 and again.counts["unchanged"] == 2
    assert _state() == first

    # A later file changes one ticket; its rollback restores the previous value
    change = write_csv([["Ticket id", "Email", "Status"], ["T-1", "jane@example.com", "closed"]])
    _, update = run(admin_user_p, change, "tickets")
    assert update.counts["updated"] == 1
    assert Ticket.objects.get(external_id="T-1").status == "closed"
    import_job_rollback(actor=admin_user_p, job=update)
    assert Ticket.objects.get(external_id="T-1").status == "open"
    # And the first import's rollback removes what it created
    import_job_rollback(actor=admin_user_p, job=job)
    assert not Ticket.objects.exists()


def test_support_role_without_import_permission_is_refused(
    support_user_p: Any, jane: Contact, write_csv: Any
) -> None:
    from patron.core.permissions import PermissionDenied
    from patron.imports.services import import_job_create

    with pytest.raises(PermissionDenied):
        import_job_create(
            actor=support_user_p, path=write_csv(ROWS), file_name="t.csv", target="tickets"
        )
    assert not Ticket.objects.exists()
