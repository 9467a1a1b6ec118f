"""Background work of the appointments module (scheduled in gerbang/core/schedules.py)."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from gerbang.audit.witness_client import WitnessUnavailable

from . import actions
from .models import Booking, Release

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


def mark_no_shows(now: dt.datetime | None = None) -> list[str]:
    """Every 15 minutes: active bookings not checked in ``GERBANG_NO_SHOW_AFTER_MINUTES`` after their start."""
    now = now or timezone.now()
    due = Booking.objects.filter(
        status=Booking.Status.ACTIVE,
        slot__starts_at__lt=now - dt.timedelta(minutes=settings.GERBANG_NO_SHOW_AFTER_MINUTES),
    ).order_by("slot__starts_at", "pk")
    done = []
    for booking in due:
        try:
            actions.record_no_show(booking, now=now)
        except ValidationError as exc:  # checked in (or cancelled) since the query: nothing to do
            log.info("booking %s not marked a no-show: %s", booking.pk, exc)
            continue
        done.append(f"booking {booking.pk}: no-show")
    return done
