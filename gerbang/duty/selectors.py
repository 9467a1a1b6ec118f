"""Reads of the roster: who holds a role over an office, who is on duty now, open deposits and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from gerbang.accounts.models import GrantStatus, RoleGrant, Scope
from gerbang.organisation.models import Office

from .models import CounterSession, DeviceDeposit, Shift


def holds_role(user: Any, role: str, office: Office) -> bool:
    """Does ``user`` hold an active grant of ``role`` covering ``office`` (whoever is asking)?"""
    return RoleGrant.objects.filter(
        Q(scope=Scope.OFFICE, office=office)
        | Q(scope=Scope.DIVISION, division=office.division_id)
        | Q(scope=Scope.DIRECTORATE),
        user=user,
        role=role,
        status=GrantStatus.ACTIVE,
    ).exists()


def current_shifts(at: dt.datetime | None = None) -> QuerySet[Shift]:
    """Shifts running at ``at`` (now), not cancelled."""
    at = at or timezone.now()
    return Shift.objects.filter(starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True)


def shift_now(officer: Any, office: Office, *, role: str | None = None, at: dt.datetime | None = None) -> Shift | None:
    """The officer's current shift at ``office`` (in ``role``, if given), or None: "on duty" means this."""
    shifts = current_shifts(at).filter(officer=officer, office=office)
    if role is not None:
        shifts = shifts.filter(role=role)
    return shifts.select_related("counter").order_by("starts_at").first()


def active_deposit(officer: Any) -> DeviceDeposit | None:
    return DeviceDeposit.objects.filter(officer=officer, returned_at__isnull=True).select_related("locker").first()


def open_session(officer: Any) -> CounterSession | None:
    return (
        CounterSession.objects.filter(officer=officer, closed_at__isnull=True)
        .select_related("counter__unit__office", "shift")
        .first()
    )


def serving_at(officer: Any, office: Office, at: dt.datetime | None = None) -> CounterSession | None:
    """The officer's open counter session at ``office`` whose shift is still running, or None."""
    at = at or timezone.now()
    return (
        CounterSession.objects.filter(
            officer=officer,
            closed_at__isnull=True,
            counter__unit__office=office,
            shift__ends_at__gt=at,
            deposit__returned_at__isnull=True,
        )
        .select_related("counter")
        .first()
    )


def roster(office: Office, day_start: dt.datetime, day_end: dt.datetime) -> QuerySet[Shift]:
    return (
        Shift.objects.filter(office=office, starts_at__lt=day_end, ends_at__gt=day_start, cancelled_at__isnull=True)
        .select_related("officer", "counter")
        .order_by("starts_at", "role")
    )
