"""Background tasks of the platform itself. Deadlines never depend on these: they only tidy up."""

from __future__ import annotations

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db.models import F
from django.utils import timezone

from . import ratelimit
from .models import WorkerHeartbeat


def heartbeat() -> str:
    """Record that a worker is alive; the health endpoint reads it."""
    name = str(settings.Q_CLUSTER["name"])
    updated = WorkerHeartbeat.objects.filter(cluster=name).update(last_seen=timezone.now(), runs=F("runs") + 1)
    if not updated:
        WorkerHeartbeat.objects.get_or_create(cluster=name, defaults={"last_seen": timezone.now(), "runs": 1})
    return name


def clear_expired_sessions() -> int:
    deleted, _by_model = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def purge_rate_limit_windows() -> int:
    """Delete rate-limit counters of windows that are over (docs/adr/0007)."""
    return ratelimit.purge()
