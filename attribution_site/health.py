"""Liveness and readiness probes for load balancers and docker-compose healthchecks."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import JsonResponse


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return True  # tasks run in-process: there is no broker to reach
    from attribution_site.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


def healthz(request):
    ok = _database_ok()
    return JsonResponse({"database": ok}, status=200 if ok else 503)


def readyz(request):
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    return JsonResponse(checks, status=200 if all(checks.values()) else 503)
