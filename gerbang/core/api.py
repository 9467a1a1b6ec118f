from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Router, Schema

from .selectors import health as health_selector

router = Router(tags=["platform"])


class HealthOut(Schema):
    status: str
    database: str
    worker: str
    worker_last_seen: dt.datetime | None
    audit_sealer: str
    audit_sealing_lag_seconds: float


@router.get("/health", response=HealthOut, summary="Database, task-worker and audit-sealer health")
def health(request: HttpRequest) -> dict[str, object]:
    return health_selector()
