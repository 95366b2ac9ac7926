"""API and pages for import targets, saved mappings and the encoding override."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from patron.contacts.models import Company
from patron.core.tests.api_client import db_state
from patron.imports.models import ImportJob, ImportMapping

pytestmark = pytest.mark.django_db

COMPANIES = b"Firma,Website,Land\nM\xfcller AG,mueller.de,Deutschland\n"  # Latin-1 bytes


def _upload(client: Any, url: str, data: dict[str, Any]) -> Any:
    return client.post(url, {"file": SimpleUploadedFile("co.csv", COMPANIES), **data})


def test_api_upload_with_target_and_encoding_then_run(admin_user_p: Any, api_for: Any) -> None:
    api = api_for(admin_user_p)
    created = _upload(api.client, "/api/v1/imports", {"target": "companies", "encoding": "cp1252"})
    assert created.status_code == 201, created.content
    job = created.json()
    assert job["target"] == "companies" and job["encoding"] == "cp1252"
    assert job["mapping"] == {"Firma": "name", "Website": "website", "Land": "country"}
    pk = job["id"]
    checked = api.client.post(f"/api/v1/imports/{pk}/preview")
    assert checked.status_code == 200 and checked.json()["preview"]["counts"]["created"] == 1
    assert api.client.post(f"/api/v1/imports/{pk}/run").status_code == 202
    from patron.imports.services import import_job_run

    import_job_run(job_id=pk)
    assert Company.objects.get().name == "Müller AG"


def test_api_refuses_unknown_target_and_encoding(admin_user_p: Any, api_for: Any) -> None:
    api = api_for(admin_user_p)
    before = db_state()
    bad_target = _upload(api.client, "/api/v1/imports", {"target": "planets"})
    assert bad_target.status_code in (400, 422)
    bad_encoding = _upload(api.client, "/api/v1/imports", {"encoding": "rot13"})
    assert bad_encoding.status_code in (400, 422)
    assert "encoding" in bad_encoding.content.decode()
    assert db_state() == before


def test_saved_mappings_list_create_delete(
    admin_user_p: Any, marketing_user_p: Any, api_for: Any
) -> None:
    admin = api_for(admin_user_p)
    made = admin.client.post(
        "/api/v1/imports/mappings",
        {"name": "Shop export", "target": "orders", "columns": {"Order #": "order_id"}},
        content_type="application/json",
    )
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["columns"] == {"Order #": "order_id"} and body["target"] == "orders"
    listed = admin.client.get("/api/v1/imports/mappings", {"target": "orders"})
    assert [m["name"] for m in listed.json()] == ["Shop export"]
    assert admin.client.get("/api/v1/imports/mappings", {"target": "tickets"}).json() == []
    # An unknown field is refused and nothing is saved
    bad = admin.client.post(
        "/api/v1/imports/mappings",
        {"name": "Bad", "target": "orders", "columns": {"X": "password"}},
        content_type="application/json",
    )
    assert bad.status_code in (400, 422)
    assert ImportMapping.objects.count() == 1
    # Someone else who may import cannot delete it; nothing changes
    before = db_state()
    other = api_for(marketing_user_p).client.delete(f"/api/v1/imports/mappings/{body['id']}")
    assert other.status_code == 403
    assert db_state() == before
    # Its creator can
    assert admin.client.delete(f"/api/v1/imports/mappings/{body['id']}").status_code == 204
    assert not ImportMapping.objects.exists()


def test_saved_mappings_refused_without_import_permission(
    admin_user_p: Any, readonly_user_p: Any, api_for: Any
) -> None:
    ImportMapping.objects.create(name="m", target="contacts", columns={"Email": "email"})
    before = db_state()
    api = api_for(readonly_user_p)
    assert api.client.get("/api/v1/imports/mappings").status_code == 403
    made = api.client.post(
        "/api/v1/imports/mappings",
        {"name": "x", "columns": {"Email": "email"}},
        content_type="application/json",
    )
    assert made.status_code == 403
    mid = ImportMapping.objects.get().pk
    assert api.client.delete(f"/api/v1/imports/mappings/{mid}").status_code == 403
    assert db_state() == before


def test_upload_page_offers_targets_and_encoding(admin_user_p: Any, client_for: Any) -> None:
    client = client_for(admin_user_p)
    page = client.get("/imports/new/")
    assert b'name="target"' in page.content and b'name="encoding"' in page.content
    response = _upload(client, "/imports/new/", {"target": "companies", "encoding": "latin-1"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert job.target == "companies" and job.headers == ["Firma", "Website", "Land"]
    mapping_page = client.get(f"/imports/{job.pk}/mapping/")
    assert (
        b"Company name" in mapping_page.content and b"Likely duplicates" not in mapping_page.content
    )


def test_upload_page_refuses_without_permission(readonly_user_p: Any, client_for: Any) -> None:
    before = db_state()
    response = _upload(client_for(readonly_user_p), "/imports/new/", {"target": "companies"})
    assert response.status_code in (302, 403)
    assert not ImportJob.objects.exists()
    assert db_state() == before


def test_report_of_a_target_names_its_records(
    admin_user_p: Any, api_for: Any, write_csv: Any
) -> None:
    from patron.imports.tests.target_helpers import run

    path = write_csv([["Company", "Domain"], ["Acme", "acme.io"], ["Bad", "not a domain"]])
    _, job = run(admin_user_p, path, "companies")
    response = api_for(admin_user_p).client.get(f"/api/v1/imports/{job.pk}/report")
    text = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0] == "row,action,company_id,column,reason,before,after"
    acme = Company.objects.get(domain="acme.io")
    assert text[1].startswith(f"2,created,{acme.pk},")
    assert text[2].startswith("3,error,,Domain,")
