"""Importing companies: mapping, dry run, run, idempotence, rollback, report, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from patron.contacts.models import Company, CustomField, CustomFieldValue
from patron.contacts.services import company_create
from patron.core.models import Activity
from patron.core.permissions import PermissionDenied
from patron.core.tests.api_client import db_state
from patron.imports.mapping import auto_map
from patron.imports.selectors import import_report_rows
from patron.imports.services import import_job_create, import_job_rollback
from patron.imports.targets.companies import normalize_domain
from patron.imports.tests.target_helpers import assert_only_import_state_changed, check, run

pytestmark = pytest.mark.django_db

HEADER = ["Firmenname", "Website", "Land", "Mitarbeiter", "Branche", "Tags"]
ROWS = [
    HEADER,
    ["Acme GmbH", "https://WWW.Acme.de/about", "Deutschland", "120", "Tools", "key, de"],
    ["Globex", "globex.com", "USA", "5,000", "Energy", ""],
    ["Initech", "not a domain", "France", "", "", ""],  # bad website: no domain
    ["Umbrella", "umbrella.example", "Narnia", "", "", ""],  # bad country
]


def _companies() -> list[dict[str, Any]]:
    out = []
    for c in Company.objects.order_by("pk").values():
        c["tags"] = sorted(Company.objects.get(pk=c["id"]).tags.values_list("name", flat=True))
        out.append(c)
    return out


def test_headers_in_several_languages_map_to_company_fields() -> None:
    got = auto_map(
        ["Firmenname", "Site web", "Pays", "Effectif", "Chiffre d'affaires", "Domain"],
        target="companies",
    )
    assert got == {
        "Firmenname": "name",
        "Site web": "website",
        "Pays": "country",
        "Effectif": "employees",
        "Chiffre d'affaires": "annual_revenue",
        "Domain": "domain",
    }


@pytest.mark.parametrize(
    ("raw", "domain"),
    [
        ("https://WWW.Example.com:443/about?x=1", "example.com"),
        ("example.co.uk.", "example.co.uk"),
        ("münchen.de", "xn--mnchen-3ya.de"),
    ],
)
def test_domains_are_normalised(raw: str, domain: str) -> None:
    assert normalize_domain(raw) == domain


def test_dry_run_counts_and_writes_nothing(admin_user_p: Any, write_csv: Any) -> None:
    # Given a file with two good and two bad companies
    path = write_csv(ROWS)
    before = db_state()
    # When it is checked
    job = check(admin_user_p, path, "companies")
    # Then the counts and the errors (row, column, reason) are shown and no company exists
    assert job.preview["counts"] == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "error": 2,
        "skipped": 0,
    }
    issues = {i["row"]: i for i in job.preview["issues"]}
    assert issues[4]["column"] == "Website" or "domain" in issues[4]["reason"].lower()
    assert issues[5]["column"] == "Land"
    assert Company.objects.count() == 0
    assert_only_import_state_changed(before, db_state())


def test_run_creates_then_reimport_is_a_no_op_then_rollback_restores(
    admin_user_p: Any, write_csv: Any
) -> None:
    # Given an existing company that the file updates (matched by its domain)
    existing = company_create(
        actor=admin_user_p, data={"name": "Globex Corp", "domain": "globex.com", "industry": ""}
    )
    state_before = _companies()
    path = write_csv(ROWS)
    # When the file is imported
    checked, job = run(admin_user_p, path, "companies")
    # Then the dry run predicted exactly what the run did
    assert job.status == "done"
    assert job.counts == checked.preview["counts"]
    assert job.counts["created"] == 1 and job.counts["updated"] == 1 and job.counts["error"] == 2
    acme = Company.objects.get(domain="acme.de")
    assert acme.country == "DE" and acme.employees == 120 and acme.website.startswith("https://")
    assert sorted(acme.tags.values_list("name", flat=True)) == ["de", "key"]
    existing.refresh_from_db()
    assert (existing.name, existing.employees, existing.industry) == ("Globex", 5000, "Energy")
    assert Activity.objects.filter(verb="company.created", subject_id=acme.pk).exists()
    # And the report lists the update with before/after and the errors
    report = list(import_report_rows(admin_user_p, job.pk))
    actions = {line[0]: line[1] for line in report}
    assert actions == {2: "created", 3: "updated", 4: "error", 5: "error"}
    # When the same file is imported again, nothing changes
    after_first = _companies()
    _, again = run(admin_user_p, path, "companies")
    assert again.counts["created"] == 0 and again.counts["updated"] == 0
    assert again.counts["unchanged"] == 2
    assert _companies() == after_first
    # When the first import is rolled back, the exact previous state returns
    rolled = import_job_rollback(actor=admin_user_p, job=job)
    assert rolled.status == "rolled_back"
    assert rolled.rollback_report["removed"] == 1 and rolled.rollback_report["restored"] == 1
    assert [{k: v for k, v in c.items() if k != "updated_at"} for c in _companies()] == [
        {k: v for k, v in c.items() if k != "updated_at"} for c in state_before
    ]


def test_custom_fields_of_companies_are_imported_and_rolled_back(
    admin_user_p: Any, write_csv: Any
) -> None:
    CustomField.objects.create(entity="company", key="tier", label="Tier", type="text")
    path = write_csv([["Company", "Domain", "Tier"], ["Acme", "acme.io", "Gold"]])
    checked, job = run(admin_user_p, path, "companies")
    assert checked.mapping["Tier"] == "custom:tier"
    acme = Company.objects.get(domain="acme.io")
    assert [str(v.value) for v in CustomFieldValue.objects.filter(company=acme)] == ["Gold"]
    import_job_rollback(actor=admin_user_p, job=job)
    assert not Company.objects.exists()
    assert not CustomFieldValue.objects.exists()


def test_without_permission_nothing_is_written(
    readonly_user_p: Any, sales_user_p: Any, admin_user_p: Any, write_csv: Any
) -> None:
    path = write_csv(ROWS)
    with pytest.raises(PermissionDenied):
        import_job_create(actor=readonly_user_p, path=path, file_name="c.csv", target="companies")
    assert Company.objects.count() == 0


def test_unknown_target_and_unknown_key_are_refused(admin_user_p: Any, write_csv: Any) -> None:
    path = write_csv(ROWS)
    with pytest.raises(ValidationError) as exc:
        import_job_create(actor=admin_user_p, path=path, file_name="c.csv", target="planets")
    assert "target" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        check(admin_user_p, path, "companies", key="phone")
    assert "key" in exc.value.message_dict
