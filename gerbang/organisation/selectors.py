"""Read-only queries of the organisation, shared by other apps.

Holidays: a national holiday (``Holiday.office`` empty) is observed by every office; an office's own holiday
by that office only. Days are calendar dates in the office's own time zone. Appointments refuse slots on
holidays, and working-day clocks (service standards) skip them.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from .models import Holiday, Office


def _observed_by(office: Office | None) -> Q:
    """National holidays, and the office's own (with no office: national holidays only)."""
    return Q(office__isnull=True) if office is None else Q(office__isnull=True) | Q(office=office)


def observed_holidays(office: Office | None) -> QuerySet[Holiday]:
    """Every holiday ``office`` observes (national, and its own): for ``.exclude(day__in=...values("day"))``."""
    return Holiday.objects.filter(_observed_by(office))


def holidays(office: Office | None, start: dt.date, end: dt.date) -> QuerySet[Holiday]:
    """The holidays ``office`` observes from ``start`` to ``end`` (both included), by day, national ones first."""
    return (
        Holiday.objects.filter(_observed_by(office), day__gte=start, day__lte=end)
        .select_related("office")
        .order_by("day", F("office_id").asc(nulls_first=True))
    )


def holiday_days(office: Office | None, start: dt.date, end: dt.date) -> set[dt.date]:
    """The days ``office`` does not work between ``start`` and ``end`` (both included) because of a holiday."""
    return set(Holiday.objects.filter(_observed_by(office), day__gte=start, day__lte=end).values_list("day", flat=True))


def is_holiday(office: Office | None, day: dt.date) -> bool:
    """Is ``day`` (in the office's own time zone) a holiday for ``office``, national or its own?"""
    return Holiday.objects.filter(_observed_by(office), day=day).exists()


def office_zone(office: Office) -> zoneinfo.ZoneInfo:
    """The office's own time zone (WIB, WITA or WIT): days and times are shown and typed in it."""
    return zoneinfo.ZoneInfo(office.timezone)


def office_today(office: Office, now: dt.datetime | None = None) -> dt.date:
    """Today's date at the office (its own time zone)."""
    return (now or timezone.now()).astimezone(office_zone(office)).date()
