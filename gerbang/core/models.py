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
