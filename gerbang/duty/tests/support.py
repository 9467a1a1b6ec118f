"""Rosters, lockers and counter sessions for tests, made through the actions as an office would."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from gerbang.accounts.models import Role, User
from gerbang.conftest import build_staff
from gerbang.duty import actions
from gerbang.duty.models import CounterSession, DeviceDeposit, Shift
from gerbang.organisation.models import Counter, Office, ServiceUnit


def verified(user: User) -> User:
    """As if past the second factor (the sign-in itself is tested over HTTP)."""
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def office_head(office: Office) -> User:
    head = User.objects.filter(grants__role=Role.OFFICE_HEAD, grants__office=office).first()
    return verified(head or build_staff(Role.OFFICE_HEAD, office=office))


def attendant(office: Office) -> User:
    found = User.objects.filter(grants__role=Role.LOCKER_ATTENDANT, grants__office=office).first()
    return verified(found or build_staff(Role.LOCKER_ATTENDANT, office=office))


def counter(office: Office, number: int = 1) -> Counter:
    unit = ServiceUnit.objects.filter(office=office).first()
    assert unit is not None
    found, _ = Counter.objects.get_or_create(unit=unit, number=number)
    return found


def on_duty(
    officer: User, office: Office, role: str, *, at_counter: Counter | None = None, hours: float = 8, **extra: Any
) -> Shift:
    """A shift running now (started a minute ago), planned by the office head."""
    now = timezone.now()
    if role in actions.COUNTER_ROLES and at_counter is None:
        at_counter = counter(office, 1 + Shift.objects.filter(office=office).count())
    return actions.plan_shift(
        office=office,
        officer=officer,
        role=role,
        counter=at_counter,
        starts_at=extra.pop("starts_at", now - dt.timedelta(minutes=1)),
        ends_at=extra.pop("ends_at", now + dt.timedelta(hours=hours)),
        actor=office_head(office),
    )


def serving(officer: User, shift: Shift) -> CounterSession:
    """The officer's devices in a locker (confirmed by the attendant) and their counter session open."""
    office = shift.office
    lockers = actions.ensure_lockers(office, 20, actor=office_head(office))
    used = set(DeviceDeposit.objects.filter(returned_at__isnull=True).values_list("locker_id", flat=True))
    free = next(locker for locker in lockers if locker.pk not in used)
    actions.deposit_devices(locker=free, officer=officer, devices="phone", actor=attendant(office))
    assert shift.counter is not None
    return actions.open_counter_session(counter=shift.counter, actor=verified(officer))
