from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and database status. 200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        db = {"status": "ok", "vendor": connection.vendor}
        status = 200
    except DatabaseError as exc:
        logger.error("healthz: database unavailable", extra={"error": str(exc)})
        db = {"status": "error", "vendor": connection.vendor}
        status = 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "degraded", "database": db}, status=status
    )
