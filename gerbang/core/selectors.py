from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from gerbang.audit import sealing

from .models import WorkerHeartbeat


def health() -> dict[str, Any]:
    """Database reachability and the task worker's last heartbeat."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    beat = WorkerHeartbeat.objects.filter(cluster=str(settings.Q_CLUSTER["name"])).first()
    worker_ok = beat is not None and timezone.now() - beat.last_seen <= settings.WORKER_HEARTBEAT_MAX_AGE
    lag = sealing.sealing_lag_seconds()
    sealer_ok = lag <= settings.AUDIT_SEALING_LAG_MAX
    return {
        "status": "ok" if worker_ok and sealer_ok else "degraded",
        "database": connection.vendor,
        "worker": "ok" if worker_ok else "stale",
        "worker_last_seen": beat.last_seen if beat else None,
        "audit_sealer": "ok" if sealer_ok else "behind",
        "audit_sealing_lag_seconds": round(lag, 3),
    }


def metrics() -> str:
    """Prometheus text exposition of the figures operators alert on."""
    beat = WorkerHeartbeat.objects.filter(cluster=str(settings.Q_CLUSTER["name"])).first()
    beat_age = (timezone.now() - beat.last_seen).total_seconds() if beat else -1
    figures = [
        (
            "gerbang_audit_sealing_lag_seconds",
            "Age of the oldest audit event not yet sealed.",
            sealing.sealing_lag_seconds(),
        ),
        ("gerbang_audit_unsealed_events", "Audit events waiting for the sealer.", sealing.unsealed_count()),
        ("gerbang_audit_sealed_events", "Size of the sealed audit log.", sealing.chain_head().size),
        ("gerbang_worker_heartbeat_age_seconds", "Seconds since the task worker's heartbeat (-1: never).", beat_age),
    ]
    lines = []
    for name, help_text, value in figures:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {float(value):g}"]
    return "\n".join(lines) + "\n"
