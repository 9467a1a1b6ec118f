"""Read-only queries of the appointments module, shared by actions, pages and the API."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import F, QuerySet
from django.utils import formats

from gerbang.organisation.selectors import observed_holidays

from .models import LotteryRequest, PartOfDay, Release, Slot


def release_slots(release: Release) -> QuerySet[Slot]:
    """The slots a release covers: its office's, on its days, except holidays (national or the office's own)."""
    days_off = observed_holidays(release.office).filter(day__gte=release.first_day, day__lte=release.last_day)
    return Slot.objects.filter(office=release.office, day__gte=release.first_day, day__lte=release.last_day).exclude(
        day__in=days_off.values("day")
    )


def release_capacity(release: Release, *, chosen: Iterable[Sequence[str]] = ()) -> dict[str, dict[str, int]]:
    """Places still free per slot group of the release, split into the priority quota and the general places.

    The express quota is not the lottery's: express-service applications book it first come. ``chosen`` (the
    draw passes its requests' choices) adds, with no places, a chosen group that has no slot any more: its day
    became a holiday after the request was made (docs/lottery.md).
    """
    groups: dict[str, dict[str, int]] = {}
    for slot in release_slots(release).select_related("office"):
        group = groups.setdefault(slot.group, {"priority": 0, "general": 0})
        group["priority"] += slot.priority_left
        group["general"] += slot.general_left
    for choices in chosen:
        for choice in choices:
            groups.setdefault(choice, {"priority": 0, "general": 0})
    return groups


def group_label(group: str) -> str:
    """``kanim-x/2026-12-12/am`` as people read it: "Saturday 12 December 2026, morning" (in the active language)."""
    _office, _sep, rest = group.partition("/")
    day_text, _sep, part = rest.partition("/")
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        return group
    part_label = dict(PartOfDay.choices).get(part, part)
    return f"{formats.date_format(day, 'l j F Y')}, {str(part_label).lower()}"


def application_requests(application: Any) -> list[LotteryRequest]:
    """The application's lottery requests not (yet) turned into a booking, newest release first."""
    return list(
        LotteryRequest.objects.filter(application=application)
        .exclude(outcome=LotteryRequest.Outcome.ALLOCATED)
        .select_related("release__office", "release__draw")
        .order_by("-release__window_closes_at")
    )


def waiting_position(request: LotteryRequest) -> int:
    """Place among the requests of its draw still waiting (1 = offered the next freed place it chose)."""
    return (
        LotteryRequest.objects.filter(
            release=request.release_id, outcome=LotteryRequest.Outcome.WAITING, rank__lt=request.rank or 0
        ).count()
        + 1
    )


def slot_for_filer(user: Any, public_id: str, slot_id: int) -> Slot | None:
    """A slot at the office of the caller's application ``public_id`` (one query), else ``None``."""
    from gerbang.applications.models import PassportApplication

    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    offices = PassportApplication.objects.filter(public_id=key, filer=user).values("office")
    return Slot.objects.select_related("office").filter(pk=slot_id, office__in=offices).first()


def has_place(slot: Slot, *, or_next: bool = False) -> bool:
    """Whether the slot (as loaded) has a place, or with ``or_next`` another slot of its part of the day does.

    For refusing a crowd cheaply; the booking's conditional UPDATE decides.
    """
    if slot.booked < slot.capacity:
        return True
    if not or_next:
        return False
    return Slot.objects.filter(
        office=slot.office_id, day=slot.day, part_of_day=slot.part_of_day, booked__lt=F("capacity")
    ).exists()
