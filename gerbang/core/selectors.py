from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import WorkerHeartbeat


def health() -> dict[str, Any]:
    """Database reachability and the task worker's last heartbeat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    beat = WorkerHeartbeat.objects.filter(cluster=str(settings.Q_CLUSTER["name"])).first()
    worker_ok = beat is not None and timezone.now() - beat.last_seen <= settings.WORKER_HEARTBEAT_MAX_AGE
    return {
        "status": "ok" if worker_ok else "degraded",
        "database": connection.vendor,
        "worker": "ok" if worker_ok else "stale",
        "worker_last_seen": beat.last_seen if beat else None,
    }
