"""Public figures per office and month: time to issue, quota released and booked, lottery draws, complaints.

Everything here is counts, medians and public draw ids: no name, NIK, reference number or account ever appears.
Months are calendar months in the office's own time zone (slot days are already office days).

Definitions (also shown on the page and kept stable for the open data):
- passports: an application counts in the month its passport reached the applicant, i.e. its first timeline
  step (``applications.Step``) to ``handed_over`` or ``posted``; its days to issue run from its first step to
  ``paid`` (the fee paid at the bank; ``paid_at`` when no such step exists) to that step, in calendar days.
- visas and stay permits: the same from the ``visas.VisaStep`` to ``paid`` to the first to ``issued``.
- places released: the capacity of the office's slots on days of the month that lie within one of its
  releases (lottery or first come); places booked: bookings on the office's slots on days of the month that
  hold a place or held it on the day (booked, attended, did not attend; cancelled and rescheduled ones not).
- lottery draws: draws of the office's releases drawn in the month, each with its public verification page.
- complaints: anonymous reports about the office received in the month, and closed in the month.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from gerbang.applications.models import Status as PassportStatus
from gerbang.applications.models import Step
from gerbang.appointments.models import Booking, Draw, Release, Slot
from gerbang.organisation.models import Office, OfficeKind
from gerbang.organisation.selectors import office_today, office_zone
from gerbang.visas.models import Status as VisaStatus
from gerbang.visas.models import VisaStep

from .models import Report

# How many full months the index shows, and the office page and the open data.
INDEX_MONTHS = 3
DATA_MONTHS = 12
CACHE_SECONDS = 300

ISSUED_PASSPORT = [PassportStatus.HANDED_OVER, PassportStatus.POSTED]
HOLDING_A_PLACE = [Booking.Status.ACTIVE, Booking.Status.ATTENDED, Booking.Status.NO_SHOW]

# The open data's columns, in order: stable English keys, explained on the page.
COLUMNS: list[tuple[str, Promise]] = [
    ("office_code", _("The office's code (as in its page address)")),
    ("office_name", _("The office's name")),
    ("month", _("The calendar month, YYYY-MM, in the office's time zone")),
    ("passports_issued", _("Passports handed over or posted in the month")),
    (
        "median_days_to_issue",
        _("Median calendar days from the fee paid at the bank to the passport handed over or posted (one decimal)"),
    ),
    ("visas_issued", _("Visas and stay permits issued in the month")),
    ("visa_median_days_to_issue", _("Median calendar days from the fee paid to the visa or permit issued")),
    ("places_released", _("Appointment places on days of the month that were released (lottery or first come)")),
    ("places_booked", _("Of those days, places booked (kept, attended or not attended; not cancelled)")),
    ("lottery_draws", _("Appointment lotteries drawn in the month")),
    ("draw_ids", _("Their public draw ids (space-separated); each has a page anyone can verify")),
    ("complaints_received", _("Anonymous complaints about the office received in the month")),
    ("complaints_closed", _("Complaints about the office closed in the month")),
]
COLUMN_KEYS = [key for key, _description in COLUMNS]


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def after(self) -> dt.date:
        """The first day of the next month."""
        return dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)


def last_full_months(count: int, today: dt.date | None = None) -> list[Month]:
    """The ``count`` calendar months before today's, oldest first."""
    today = today or timezone.localdate()
    month = Month(today.year, today.month)
    months: list[Month] = []
    for _n in range(count):
        month = month.previous()
        months.append(month)
    return months[::-1]


def public_offices() -> list[Office]:
    """Offices serving the public (not detention centres) that are active."""
    return list(
        Office.objects.filter(is_active=True, kind=OfficeKind.OFFICE).select_related("division").order_by("name")
    )


def months_for(offices: Sequence[Office], count: int) -> list[Month]:
    """The last ``count`` full months, as seen from the offices' (Indonesian) today."""
    today = office_today(offices[0]) if offices else timezone.localdate()
    return last_full_months(count, today)


def _utc_bounds(months: Sequence[Month]) -> tuple[dt.datetime, dt.datetime]:
    """A UTC range that covers the months in every Indonesian time zone (rows are bucketed exactly afterwards)."""
    lo = dt.datetime.combine(months[0].first, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=1)
    hi = dt.datetime.combine(months[-1].after, dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
    return lo, hi


def _median_days(durations: list[float]) -> float | None:
    return round(statistics.median(durations), 1) if durations else None


def _draw_url(public_id: str) -> str:
    return settings.GERBANG_PUBLIC_URL.rstrip("/") + reverse("public:draw", args=[public_id])


class _Buckets:
    """Rows bucketed by office and month key (the office's own calendar)."""

    def __init__(self, offices: Sequence[Office], months: Sequence[Month]) -> None:
        self.zones = {o.pk: office_zone(o) for o in offices}
        self.keys = {m.key for m in months}

    def key(self, office_id: int | None, at: dt.datetime | None) -> str | None:
        zone = self.zones.get(office_id) if office_id is not None else None
        if zone is None or at is None:
            return None
        local = at.astimezone(zone)
        key = f"{local.year:04d}-{local.month:02d}"
        return key if key in self.keys else None


@dataclass
class _Issued:
    count: int = 0
    days: list[float] = field(default_factory=list)


def _issued(steps: Iterable[dict[str, Any]], buckets: _Buckets) -> dict[tuple[int, str], _Issued]:
    """Issued per (office, month), one per application (its first issuing step), with the days since paid."""
    seen: set[int] = set()
    found: dict[tuple[int, str], _Issued] = defaultdict(_Issued)
    for row in steps:
        if row["application_id"] in seen:
            continue
        seen.add(row["application_id"])
        key = buckets.key(row["office_id"], row["at"])
        if key is None:
            continue
        bucket = found[(row["office_id"], key)]
        bucket.count += 1
        if row["paid"] is not None and row["paid"] <= row["at"]:
            bucket.days.append((row["at"] - row["paid"]).total_seconds() / 86400)
    return found


def figures(offices: Sequence[Office], months: Sequence[Month]) -> dict[int, list[dict[str, Any]]]:
    """Per office id: one dict per month (oldest first) with the COLUMNS keys and ``draws`` (a list)."""
    result: dict[int, list[dict[str, Any]]] = {}
    if not offices or not months:
        return result
    ids = [o.pk for o in offices]
    buckets = _Buckets(offices, months)
    lo, hi = _utc_bounds(months)
    first_day, after_day = months[0].first, months[-1].after

    paid_step = Step.objects.filter(application=OuterRef("application"), to_status=PassportStatus.PAID).order_by("at")
    passports = _issued(
        Step.objects.filter(to_status__in=ISSUED_PASSPORT, at__gte=lo, at__lt=hi, application__office_id__in=ids)
        .annotate(
            office_id=F("application__office_id"),
            paid=Coalesce(Subquery(paid_step.values("at")[:1]), F("application__paid_at")),
        )
        .order_by("at", "pk")
        .values("application_id", "office_id", "at", "paid"),
        buckets,
    )
    visa_paid = VisaStep.objects.filter(application=OuterRef("application"), to_status=VisaStatus.PAID).order_by("at")
    visas = _issued(
        VisaStep.objects.filter(to_status=VisaStatus.ISSUED, at__gte=lo, at__lt=hi, application__office_id__in=ids)
        .annotate(
            office_id=F("application__office_id"),
            paid=Coalesce(Subquery(visa_paid.values("at")[:1]), F("application__paid_at")),
        )
        .order_by("at", "pk")
        .values("application_id", "office_id", "at", "paid"),
        buckets,
    )

    released_day = Release.objects.filter(
        office=OuterRef("office"), first_day__lte=OuterRef("day"), last_day__gte=OuterRef("day")
    )
    released: dict[tuple[int, str], int] = {}
    for row in (
        Slot.objects.filter(office_id__in=ids, day__gte=first_day, day__lt=after_day)
        .filter(Exists(released_day))
        .annotate(m=TruncMonth("day"))
        .values("office_id", "m")
        .annotate(places=Sum("capacity"))
    ):
        released[(row["office_id"], f"{row['m']:%Y-%m}")] = row["places"] or 0
    booked: dict[tuple[int, str], int] = {}
    for row in (
        Booking.objects.filter(
            slot__office_id__in=ids, slot__day__gte=first_day, slot__day__lt=after_day, status__in=HOLDING_A_PLACE
        )
        .annotate(m=TruncMonth("slot__day"), office_id=F("slot__office_id"))
        .values("office_id", "m")
        .annotate(n=Count("pk"))
    ):
        booked[(row["office_id"], f"{row['m']:%Y-%m}")] = row["n"]

    draws: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for draw in (
        Draw.objects.filter(release__office_id__in=ids, drawn_at__gte=lo, drawn_at__lt=hi)
        .order_by("drawn_at", "pk")
        .values(
            "public_id", "drawn_at", "request_count", "release__office_id", "release__first_day", "release__last_day"
        )
    ):
        key = buckets.key(draw["release__office_id"], draw["drawn_at"])
        if key is not None:
            draws[(draw["release__office_id"], key)].append(
                {
                    "id": draw["public_id"],
                    "drawn_at": draw["drawn_at"],
                    "requests": draw["request_count"],
                    "slots_from": draw["release__first_day"],
                    "slots_until": draw["release__last_day"],
                    "url": _draw_url(draw["public_id"]),
                }
            )

    received: dict[tuple[int, str], int] = defaultdict(int)
    for office_id, at in Report.objects.filter(office_id__in=ids, received_at__gte=lo, received_at__lt=hi).values_list(
        "office_id", "received_at"
    ):
        key = buckets.key(office_id, at)
        if key is not None:
            received[(office_id, key)] += 1
    closed: dict[tuple[int, str], int] = defaultdict(int)
    for office_id, closed_at in Report.objects.filter(
        office_id__in=ids, closed_at__gte=lo, closed_at__lt=hi
    ).values_list("office_id", "closed_at"):
        key = buckets.key(office_id, closed_at)
        if key is not None:
            closed[(office_id, key)] += 1

    for office in offices:
        rows = []
        for month in months:
            cell = (office.pk, month.key)
            issued = passports.get(cell, _Issued())
            visas_issued = visas.get(cell, _Issued())
            drawn = draws.get(cell, [])
            rows.append(
                {
                    "office_code": office.code,
                    "office_name": office.name,
                    "month": month.key,
                    "passports_issued": issued.count,
                    "median_days_to_issue": _median_days(issued.days),
                    "visas_issued": visas_issued.count,
                    "visa_median_days_to_issue": _median_days(visas_issued.days),
                    "places_released": released.get(cell, 0),
                    "places_booked": booked.get(cell, 0),
                    "lottery_draws": len(drawn),
                    "draw_ids": " ".join(d["id"] for d in drawn),
                    "complaints_received": received.get(cell, 0),
                    "complaints_closed": closed.get(cell, 0),
                    "draws": drawn,
                }
            )
        result[office.pk] = rows
    return result


def flat_rows(offices: Sequence[Office], table: dict[int, list[dict[str, Any]]]) -> list[list[Any]]:
    """CSV rows (COLUMN_KEYS order): one per office and month; an unknown median is an empty cell."""
    rows: list[list[Any]] = []
    for office in offices:
        for month in table.get(office.pk, []):
            rows.append(["" if month[key] is None else month[key] for key in COLUMN_KEYS])
    return rows


def as_json(office: Office, months: list[dict[str, Any]]) -> dict[str, Any]:
    """One office in the open data's JSON (dates ISO 8601)."""
    return {
        "code": office.code,
        "name": office.name,
        "city": office.city,
        "province_code": office.division.province_code,
        "time_zone": office.timezone,
        "months": [
            {
                **{key: value for key, value in month.items() if key not in ("office_code", "office_name", "draws")},
                "draws": [
                    {
                        **draw,
                        "drawn_at": draw["drawn_at"].isoformat(),
                        "slots_from": draw["slots_from"].isoformat(),
                        "slots_until": draw["slots_until"].isoformat(),
                    }
                    for draw in month["draws"]
                ],
            }
            for month in months
        ],
    }
