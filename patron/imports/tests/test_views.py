"""Pages and JSON API: the whole flow, and refusal (with nothing changed) for everyone
who may not import, export or see the job."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.urls import reverse

from patron.contacts.models import Contact
from patron.core.tests.api_client import db_state
from patron.imports.models import ImportJob
from patron.imports.services import import_job_run

pytestmark = pytest.mark.django_db

CSV = b"Vorname,Nachname,E-Mail,Mobile\nJane,Doe,jane@example.com,555-123-4567\nbad,row,nope,\n"


def _upload(client: Any) -> Any:
    f = io.BytesIO(CSV)
    f.name = "people.csv"
    return client.post(reverse("imports:upload"), {"file": f})


def test_upload_map_check_run_report_rollback(admin_user_p: Any, client_for: Any) -> None:
    client = client_for(admin_user_p)
    response = _upload(client)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/{job.pk}/mapping/")
    page = client.get(reverse("imports:mapping", args=[job.pk]))
    assert page.status_code == 200 and b"Vorname" in page.content
    form = {f"map-{i}": t for i, t in enumerate(["first_name", "last_name", "email", "phone"])}
    form.update(key="email", on_new="create", on_existing="update", on_error="skip",
                on_duplicate="skip", tags="fair", save_as="Trade fair")  # fmt: skip
    assert client.post(reverse("imports:mapping", args=[job.pk]), form).status_code == 302
    client.post(reverse("imports:preview", args=[job.pk]))
    page = client.get(reverse("imports:detail", args=[job.pk]))
    assert b"Dry run: 2 rows" in page.content and b"valid email" in page.content
    client.post(reverse("imports:run", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "queued"
    progress = client.get(reverse("imports:progress", args=[job.pk]))
    assert b'hx-trigger="every 1s"' in progress.content
    import_job_run(job_id=job.pk, workers=0)  # what the worker does
    progress = client.get(reverse("imports:progress", args=[job.pk]))
    assert b"hx-trigger" not in progress.content and b"Roll back" in progress.content
    report = client.get(reverse("imports:report", args=[job.pk]))
    text = b"".join(report.streaming_content).decode("utf-8-sig")
    assert "2,created" in text and "3,error" in text
    assert Contact.objects.get().phone == "+15551234567"
    client.post(reverse("imports:rollback", args=[job.pk]))
    assert Contact.objects.count() == 0


def test_pages_refuse_users_without_the_permission(
    support_user_p: Any, admin_user_p: Any, client_for: Any
) -> None:
    owner = client_for(admin_user_p)
    _upload(owner)
    job = ImportJob.objects.get()
    client = client_for(support_user_p)
    before = db_state()
    assert client.get(reverse("imports:list")).status_code == 403
    assert _upload(client).status_code == 403
    for name in ("preview", "run", "rollback", "resume", "custom_fields"):
        assert client.post(reverse(f"imports:{name}", args=[job.pk])).status_code == 403
    for name in ("detail", "progress", "report", "mapping"):
        assert client.get(reverse(f"imports:{name}", args=[job.pk])).status_code == 403
    assert client.get(reverse("imports:export"), {"fmt": "csv"}).status_code == 403
    assert db_state() == before
    assert ImportJob.objects.count() == 1


def test_another_users_job_is_not_found(
    marketing_user_p: Any, make_user: Any, client_for: Any
) -> None:
    _upload(client_for(make_user("marketing")))
    job = ImportJob.objects.get()
    client = client_for(marketing_user_p)
    before = db_state()
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:run", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:rollback", args=[job.pk])).status_code == 404
    assert db_state() == before


def test_bad_upload_shows_why(admin_user_p: Any, client_for: Any) -> None:
    f = io.BytesIO(b"\x89PNG\r\n\x1a\n" + bytes(300))
    f.name = "photo.csv"
    response = client_for(admin_user_p).post(reverse("imports:upload"), {"file": f})
    assert response.status_code == 422 and b"PNG image" in response.content
    assert ImportJob.objects.count() == 0


def test_export_page_streams_an_escaped_csv(admin_user_p: Any, client_for: Any) -> None:
    from patron.contacts.services import contact_create

    contact_create(actor=admin_user_p, data={"first_name": "A", "job_title": "@SUM(1)"})
    response = client_for(admin_user_p).get(
        reverse("imports:export"), {"fmt": "csv", "fields": ["first_name", "job_title"]}
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert response["X-Export-Rows"] == "1"
    assert body.splitlines()[1] == "A,'@SUM(1)"


def test_api_flow_and_refusals(admin_user_p: Any, make_api_key: Any) -> None:
    from django.test import Client

    key = make_api_key("marketing")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    client = Client()
    f = io.BytesIO(CSV)
    f.name = "people.csv"
    response = client.post("/api/v1/imports", {"file": f}, **headers)
    assert response.status_code == 201, response.content
    job_id = response.json()["id"]
    assert response.json()["mapping"]["E-Mail"] == "email"
    response = client.post(f"/api/v1/imports/{job_id}/preview", **headers)
    assert response.json()["preview"]["counts"]["error"] == 1
    response = client.post(f"/api/v1/imports/{job_id}/run", **headers)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    response = client.post(
        "/api/v1/exports/contacts",
        data={"fields": ["email"], "nope": 1},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 422
    # A read-only key may neither import nor export, and changes nothing
    ro = {"HTTP_AUTHORIZATION": f"Bearer {make_api_key('readonly')}"}
    before = db_state()
    f = io.BytesIO(CSV)
    f.name = "people.csv"
    assert client.post("/api/v1/imports", {"file": f}, **ro).status_code == 403
    assert client.get(f"/api/v1/imports/{job_id}", **ro).status_code == 403
    assert client.post(f"/api/v1/imports/{job_id}/rollback", **ro).status_code == 403
    response = client.post(
        "/api/v1/exports/contacts", data={}, content_type="application/json", **ro
    )
    assert response.status_code == 403
    assert db_state() == before
