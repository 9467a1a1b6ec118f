"""The roster, the device lockers, counter sessions and spot checks. Each action audits itself.

An officer serves at a counter only inside a counter session: opened by the
officer at a registered counter of their current shift, while a deposit of
their devices (confirmed by a locker attendant, another person) is active. The
return of the devices closes the session. A refused attempt to open one is
audited in its own transaction, so it stays on record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.accounts.models import Role, User
from gerbang.audit.actions import record
from gerbang.organisation.models import Counter, Office

from . import selectors
from .models import CounterSession, DeviceDeposit, Locker, Shift, SpotCheck

# Roles that serve applicants in person at a counter: their shifts name the counter.
COUNTER_ROLES = frozenset({Role.FRONT_DESK, Role.DOCUMENT_VERIFIER, Role.INTERVIEWER, Role.ISSUING_OFFICER})
# Roles that may be on an office's roster at all.
ROSTER_ROLES = COUNTER_ROLES | {Role.ADJUDICATOR, Role.LOCKER_ATTENDANT}
MAX_SHIFT = dt.timedelta(hours=16)


def _lock_officer(officer: User) -> None:
    """Serialise one officer's roster and deposit changes on their user row."""
    User.objects.select_for_update().filter(pk=officer.pk).first()


def plan_shift(
    *,
    office: Office,
    officer: User,
    role: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    counter: Counter | None = None,
    actor: Any,
) -> Shift:
    """The office head puts an officer on the roster: a role, (for counter roles) a counter, and the hours."""
    require(actor, Perm.MANAGE_ROSTER, office)
    errors: dict[str, str] = {}
    if role not in ROSTER_ROLES:
        errors["role"] = _("This role is not on an office's roster.")
    if officer.pk == getattr(actor, "pk", None):
        errors["officer"] = _("Nobody plans their own duty: ask another office head.")
    elif not (officer.is_active and officer.kind == User.Kind.STAFF) or not selectors.holds_role(officer, role, office):
        errors["officer"] = _("This officer does not hold that role at this office.")
    if ends_at <= starts_at:
        errors["ends_at"] = _("The shift must end after it starts.")
    elif ends_at - starts_at > MAX_SHIFT:
        errors["ends_at"] = _("A shift lasts at most 16 hours.")
    elif ends_at <= timezone.now():
        errors["ends_at"] = _("This shift is already over.")
    if role in COUNTER_ROLES:
        if counter is None:
            errors["counter"] = _("Choose the counter for this shift.")
        elif counter.unit.office_id != office.pk or not counter.is_active:
            errors["counter"] = _("Choose an active counter of this office.")
    elif counter is not None:
        errors["counter"] = _("This role does not serve at a counter.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        _lock_officer(officer)
        overlapping = Shift.objects.filter(
            officer=officer, cancelled_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
        ).exists()
        if overlapping:
            raise ValidationError({"starts_at": _("This officer already has a shift at that time.")})
        shift = Shift.objects.create(
            office=office,
            officer=officer,
            role=role,
            counter=counter,
            starts_at=starts_at,
            ends_at=ends_at,
            planned_by=actor,
            created_at=timezone.now(),
        )
        record(
            "duty.shift_planned",
            actor=actor,
            obj=shift,
            office=office,
            details={
                "officer": officer.pk,
                "role": role,
                "counter": counter.pk if counter else None,
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
            },
        )
    return shift


def cancel_shift(shift: Shift, *, actor: Any, reason: str) -> Shift:
    require(actor, Perm.MANAGE_ROSTER, shift.office)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for cancelling this shift.")})
    with transaction.atomic():
        shift = Shift.objects.select_for_update().get(pk=shift.pk)
        if shift.cancelled_at is not None:
            raise ValidationError({"shift": _("This shift is already cancelled.")})
        now = timezone.now()
        if shift.ends_at <= now:
            raise ValidationError({"shift": _("This shift is over; it stays on the roster as it was.")})
        shift.cancelled_at = now
        shift.save(update_fields=["cancelled_at"])
        closed = _close_sessions(CounterSession.objects.filter(shift=shift), CounterSession.Closed.SHIFT_ENDED, now)
        record(
            "duty.shift_cancelled",
            actor=actor,
            obj=shift,
            office=shift.office,
            details={"reason": reason.strip()[:500], "sessions_closed": closed},
        )
    return shift


def ensure_lockers(office: Office, count: int, *, actor: Any) -> list[Locker]:
    """The office head numbers the office's lockers 1..count (existing ones are kept)."""
    require(actor, Perm.MANAGE_ROSTER, office)
    if not 1 <= count <= 500:
        raise ValidationError({"count": _("An office has between 1 and 500 lockers.")})
    with transaction.atomic():
        existing = set(Locker.objects.filter(office=office).values_list("number", flat=True))
        added = [Locker(office=office, number=n) for n in range(1, count + 1) if n not in existing]
        Locker.objects.bulk_create(added)
        if added:
            record("duty.lockers_added", actor=actor, office=office, details={"numbers": [x.number for x in added]})
    return list(Locker.objects.filter(office=office).order_by("number"))


def deposit_devices(*, locker: Locker, officer: User, devices: str, actor: Any) -> DeviceDeposit:
    """A locker attendant confirms that ``officer`` put their devices in ``locker``."""
    office = locker.office
    require(actor, Perm.ATTEND_LOCKERS, office)
    devices = " ".join(devices.split())[:200]
    if officer.pk == getattr(actor, "pk", None):
        raise ValidationError({"officer": _("Another person confirms your deposit: ask the locker attendant.")})
    if not (officer.is_active and officer.kind == User.Kind.STAFF):
        raise ValidationError({"officer": _("Only an active officer deposits devices here.")})
    if not devices:
        raise ValidationError({"devices": _("List the devices deposited (for example: phone, smartwatch).")})
    if not locker.is_active:
        raise ValidationError({"locker": _("This locker is out of use.")})
    try:
        with transaction.atomic():
            _lock_officer(officer)
            deposit = DeviceDeposit.objects.create(
                locker=locker, officer=officer, devices=devices, deposited_at=timezone.now(), attendant=actor
            )
            record(
                "duty.devices_deposited",
                actor=actor,
                obj=deposit,
                office=office,
                details={"officer": officer.pk, "locker": locker.number, "devices": devices},
            )
    except IntegrityError as exc:
        if DeviceDeposit.objects.filter(officer=officer, returned_at__isnull=True).exists():
            raise ValidationError({"officer": _("This officer's devices are already in a locker.")}) from exc
        raise ValidationError({"locker": _("This locker is in use.")}) from exc
    return deposit


def return_devices(deposit: DeviceDeposit, *, actor: Any) -> DeviceDeposit:
    """A locker attendant hands the devices back; the officer's open counter session ends with it."""
    require(actor, Perm.ATTEND_LOCKERS, deposit.locker.office)
    if deposit.officer_id == getattr(actor, "pk", None):
        raise ValidationError({"officer": _("Another person confirms the return: ask the locker attendant.")})
    with transaction.atomic():
        deposit = (
            DeviceDeposit.objects.select_for_update(of=("self",)).select_related("locker__office").get(pk=deposit.pk)
        )
        if deposit.returned_at is not None:
            raise ValidationError({"deposit": _("These devices were already returned.")})
        now = timezone.now()
        closed = _close_sessions(
            CounterSession.objects.filter(deposit=deposit), CounterSession.Closed.DEVICES_RETURNED, now
        )
        deposit.returned_at = now
        deposit.return_attendant = actor
        deposit.save(update_fields=["returned_at", "return_attendant"])
        record(
            "duty.devices_returned",
            actor=actor,
            obj=deposit,
            office=deposit.locker.office,
            details={"officer": deposit.officer_id, "locker": deposit.locker.number, "sessions_closed": closed},
        )
    return deposit


def _close_sessions(sessions: Any, because: str, now: dt.datetime) -> list[int]:
    ids = list(sessions.select_for_update().filter(closed_at__isnull=True).values_list("pk", flat=True))
    CounterSession.objects.filter(pk__in=ids).update(closed_at=now, closed_because=because)
    return ids


def _refuse_session(*, actor: Any, counter: Counter, reason: str, message: str) -> None:
    with transaction.atomic():
        record(
            "duty.counter_session_refused",
            actor=actor,
            obj=counter,
            office=counter.unit.office,
            details={"reason": reason},
        )
    raise ValidationError({"counter": message})


def open_counter_session(*, counter: Counter, actor: Any) -> CounterSession:
    """The officer opens their session at ``counter``: their shift there now, and their devices in a locker."""
    office = counter.unit.office
    require(actor, Perm.SERVE_QUEUE, office)
    if not counter.is_active:
        raise ValidationError({"counter": _("This counter is closed.")})
    now = timezone.now()
    shift = (
        selectors.current_shifts(now)
        .filter(officer=actor, office=office, role__in=COUNTER_ROLES, counter=counter)
        .order_by("starts_at")
        .first()
    )
    if shift is None:
        _refuse_session(
            actor=actor,
            counter=counter,
            reason="no_shift",
            message=_("You are not on the roster for this counter now."),
        )
    deposit = selectors.active_deposit(actor)
    if deposit is None or deposit.locker.office_id != office.pk:
        _refuse_session(
            actor=actor,
            counter=counter,
            reason="no_deposit",
            message=_("Put your devices in a locker first; the locker attendant confirms the deposit."),
        )
    assert shift is not None and deposit is not None
    try:
        with transaction.atomic():
            # The deposit row locked and still active: a return at this moment waits, or this refuses.
            if not DeviceDeposit.objects.select_for_update().filter(pk=deposit.pk, returned_at__isnull=True).exists():
                raise IntegrityError("the deposit was returned meanwhile")
            session = CounterSession.objects.create(
                counter=counter, officer=actor, shift=shift, deposit=deposit, opened_at=now
            )
            record(
                "duty.counter_session_opened",
                actor=actor,
                obj=session,
                office=office,
                details={"counter": counter.number, "shift": shift.pk, "deposit": deposit.pk},
            )
    except IntegrityError:
        if selectors.active_deposit(actor) is None:
            reason, message = (
                "no_deposit",
                _("Put your devices in a locker first; the locker attendant confirms the deposit."),
            )
        elif selectors.open_session(actor):
            reason, message = "officer_busy", _("You already have a counter session open; close it first.")
        else:
            reason, message = "counter_busy", _("Another officer is serving at this counter.")
        _refuse_session(actor=actor, counter=counter, reason=reason, message=message)
        raise  # pragma: no cover - _refuse_session raised
    return session


def close_counter_session(session: CounterSession, *, actor: Any) -> CounterSession:
    if session.officer_id != getattr(actor, "pk", None):
        require(actor, Perm.MANAGE_ROSTER, session.counter.unit.office)
    with transaction.atomic():
        session = (
            CounterSession.objects.select_for_update(of=("self",))
            .select_related("counter__unit__office")
            .get(pk=session.pk)
        )
        if session.closed_at is not None:
            raise ValidationError({"session": _("This counter session is already closed.")})
        session.closed_at = timezone.now()
        session.closed_because = CounterSession.Closed.BY_OFFICER
        session.save(update_fields=["closed_at", "closed_because"])
        record(
            "duty.counter_session_closed",
            actor=actor,
            obj=session,
            office=session.counter.unit.office,
            details={"counter": session.counter.number, "officer": session.officer_id},
        )
    return session


def record_spot_check(
    *,
    office: Office,
    officer: User,
    finding: str,
    checked_at: dt.datetime | None = None,
    counter: Counter | None = None,
    note: str = "",
    actor: Any,
) -> SpotCheck:
    """A supervisor records a surprise check: the officer, the counter, the time and what was found."""
    require(actor, Perm.RECORD_SPOT_CHECK, office)
    now = timezone.now()
    checked_at = checked_at or now
    note = note.strip()
    errors: dict[str, str] = {}
    if finding not in SpotCheck.Finding.values:
        errors["finding"] = _("Choose what was found.")
    elif finding == SpotCheck.Finding.OTHER and not note:
        errors["note"] = _("Describe what was found.")
    if officer.pk == getattr(actor, "pk", None):
        errors["officer"] = _("A spot check is of someone else.")
    if checked_at > now + dt.timedelta(minutes=5) or checked_at < now - dt.timedelta(
        days=settings.GERBANG_SPOT_CHECK_LATE_DAYS
    ):
        errors["checked_at"] = _("Record a spot check on the day it happened.")
    if counter is not None and counter.unit.office_id != office.pk:
        errors["counter"] = _("Choose a counter of this office.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        check = SpotCheck.objects.create(
            office=office,
            officer=officer,
            counter=counter,
            checked_at=checked_at,
            finding=finding,
            note=note[:2000],
            supervisor=actor,
            recorded_at=now,
        )
        record(
            "duty.spot_check_recorded",
            actor=actor,
            obj=check,
            office=office,
            details={
                "officer": officer.pk,
                "counter": counter.number if counter else None,
                "finding": finding,
                "checked_at": checked_at.isoformat(),
                # What the officer had open at that moment: the roster's answer beside the finding.
                "on_roster": selectors.shift_now(officer, office, at=checked_at) is not None,
                "devices_in_locker": DeviceDeposit.objects.filter(
                    Q(returned_at__isnull=True) | Q(returned_at__gt=checked_at),
                    officer=officer,
                    deposited_at__lte=checked_at,
                ).exists(),
            },
        )
    return check


def close_ended_sessions(now: dt.datetime | None = None) -> int:
    """Close counter sessions whose shift is over (the ``close-ended-sessions`` schedule), each audited."""
    now = now or timezone.now()
    closed = 0
    for pk in list(
        CounterSession.objects.filter(closed_at__isnull=True, shift__ends_at__lte=now).values_list("pk", flat=True)
    ):
        with transaction.atomic():
            session = (
                CounterSession.objects.select_for_update(of=("self",))
                .select_related("counter__unit__office")
                .filter(pk=pk, closed_at__isnull=True)
                .first()
            )
            if session is None:
                continue
            session.closed_at = now
            session.closed_because = CounterSession.Closed.SHIFT_ENDED
            session.save(update_fields=["closed_at", "closed_because"])
            record(
                "duty.counter_session_closed",
                actor=None,
                obj=session,
                office=session.counter.unit.office,
                details={"counter": session.counter.number, "officer": session.officer_id, "because": "shift_ended"},
            )
            closed += 1
    return closed
