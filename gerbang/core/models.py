from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """Last time a task worker ran the periodic heartbeat task (one row per cluster name)."""

    cluster = models.CharField(_("cluster"), max_length=100, unique=True)
    last_seen = models.DateTimeField(_("last seen"))
    runs = models.PositiveBigIntegerField(_("runs"), default=0)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.cluster} @ {self.last_seen.isoformat()}"


class RateLimitCounter(models.Model):
    """Requests counted in one fixed window for one bucket: a class of request and a hashed account or address.

    Written only by ``gerbang.core.ratelimit`` (one upsert per checked request, outside the request's
    transaction); windows that are over are purged by a schedule. On PostgreSQL the table is UNLOGGED
    (migration core.0008): counters need no crash safety, and their commits then wait for no WAL flush.
    """

    pk = models.CompositePrimaryKey("window_start", "bucket")
    window_start = models.BigIntegerField(_("window start (Unix time)"))
    bucket = models.CharField(_("bucket"), max_length=64)
    hits = models.PositiveIntegerField(_("requests in the window"), default=0)

    class Meta:
        verbose_name = _("rate-limit counter")
        verbose_name_plural = _("rate-limit counters")

    def __str__(self) -> str:
        return f"{self.bucket} @ {self.window_start}: {self.hits}"
