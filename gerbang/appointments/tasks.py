"""Background work of the appointments module (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from gerbang.audit.witness_client import WitnessUnavailable

from . import actions
from .models import Release

log = logging.getLogger("gerbang.appointments")


def run_due_draws() -> list[str]:
    """Draw every lottery whose window has closed (each draw once; a failed one is tried again next time)."""
    done = []
    due = Release.objects.filter(
        mode=Release.Mode.LOTTERY, status=Release.Status.OPEN, window_closes_at__lte=timezone.now()
    ).order_by("window_closes_at")
    for release in due:
        try:
            draw = actions.run_draw(release)
        except (WitnessUnavailable, ValidationError) as exc:
            log.warning("draw of release %s not run: %s", release.pk, exc)
            done.append(f"release {release.pk}: not drawn ({exc})")
            continue
        done.append(f"release {release.pk}: drawn, {draw.public_id}")
    return done
