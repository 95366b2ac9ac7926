"""GET /healthz: liveness plus database status."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection

from patron.core import views


@pytest.mark.django_db
def test_healthz_reports_database_ok(client):
    # when a load balancer asks
    response = client.get("/healthz")
    # then it is told the app and its database are up
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"status": "ok", "vendor": connection.vendor},
    }


@pytest.mark.django_db
def test_healthz_is_503_when_database_fails(client, monkeypatch):
    # given a database that errors on every query
    class BrokenConnection:
        vendor = "broken"

        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr(views, "connection", BrokenConnection())
    # when the health check runs
    response = client.get("/healthz")
    # then it reports the database as down, with a status a load balancer acts on
    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": {"status": "error", "vendor": "broken"},
    }


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
