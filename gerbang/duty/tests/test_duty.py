"""The roster, device lockers, counter sessions and spot checks: who may do what, and what is refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, last_audit_id
from gerbang.duty import actions, selectors
from gerbang.duty.models import CounterSession, DeviceDeposit, Locker, SpotCheck

from .support import attendant, counter, office_head, on_duty, serving, verified

pytestmark = pytest.mark.django_db


def test_a_shift_needs_the_role_at_the_office_a_counter_for_counter_roles_and_no_overlap() -> None:
    office = build_office()
    head = office_head(office)
    verifier = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    now = timezone.now()
    plan: dict[str, Any] = {"office": office, "starts_at": now, "ends_at": now + dt.timedelta(hours=8), "actor": head}
    with pytest.raises(ValidationError) as refused:
        actions.plan_shift(officer=verifier, role=Role.INTERVIEWER, counter=counter(office), **plan)
    assert "does not hold that role" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        actions.plan_shift(officer=verifier, role=Role.DOCUMENT_VERIFIER, **plan)
    assert "Choose the counter" in str(refused.value)
    other_counter = counter(build_office(), 1)
    with pytest.raises(ValidationError):
        actions.plan_shift(officer=verifier, role=Role.DOCUMENT_VERIFIER, counter=other_counter, **plan)
    long_plan = {**plan, "ends_at": now + dt.timedelta(hours=17)}
    with pytest.raises(ValidationError) as refused:
        actions.plan_shift(officer=verifier, role=Role.DOCUMENT_VERIFIER, counter=counter(office), **long_plan)
    assert "16 hours" in str(refused.value)
    shift = actions.plan_shift(officer=verifier, role=Role.DOCUMENT_VERIFIER, counter=counter(office), **plan)
    assert selectors.shift_now(verifier, office) == shift
    later = {**plan, "starts_at": now + dt.timedelta(hours=7), "ends_at": now + dt.timedelta(hours=9)}
    with pytest.raises(ValidationError) as refused:
        actions.plan_shift(officer=verifier, role=Role.DOCUMENT_VERIFIER, counter=counter(office, 2), **later)
    assert "already has a shift" in str(refused.value)
    # Only an office head of this office plans; nobody plans their own duty (also a database CHECK).
    with pytest.raises(Http404):
        actions.plan_shift(
            officer=verifier,
            role=Role.DOCUMENT_VERIFIER,
            counter=counter(office),
            **{**plan, "actor": verified(verifier)},
        )
    with pytest.raises(ValidationError):
        actions.plan_shift(officer=head, role=Role.OFFICE_HEAD, **plan)
    assert AuditEvent.objects.filter(action="duty.shift_planned", object_id=str(shift.pk)).count() == 1


def test_a_counter_session_needs_the_shift_at_that_counter_and_devices_in_a_locker() -> None:
    office = build_office()
    officer = verified(build_staff(Role.INTERVIEWER, office=office))
    desk = counter(office, 1)
    before = last_audit_id()
    with pytest.raises(ValidationError) as refused:
        actions.open_counter_session(counter=desk, actor=officer)
    assert "not on the roster" in str(refused.value)
    shift = on_duty(officer, office, Role.INTERVIEWER, at_counter=desk)
    with pytest.raises(ValidationError) as refused:
        actions.open_counter_session(counter=counter(office, 2), actor=officer)  # another counter than the shift's
    assert "not on the roster" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        actions.open_counter_session(counter=desk, actor=officer)
    assert "devices in a locker" in str(refused.value)
    refusals = AuditEvent.objects.filter(id__gt=before, action="duty.counter_session_refused")
    assert [e.details["reason"] for e in refusals.order_by("id")] == ["no_shift", "no_shift", "no_deposit"]
    session = serving(officer, shift)
    assert session.deposit.attendant != officer and selectors.serving_at(officer, office) == session
    # The return of the devices closes the session, in the same transaction.
    deposit = DeviceDeposit.objects.get(officer=officer, returned_at__isnull=True)
    actions.return_devices(deposit, actor=attendant(office))
    session.refresh_from_db()
    assert session.closed_because == CounterSession.Closed.DEVICES_RETURNED
    assert selectors.serving_at(officer, office) is None


def test_the_attendant_is_another_person_and_one_locker_holds_one_officers_devices() -> None:
    office = build_office()
    lockers = actions.ensure_lockers(office, 2, actor=office_head(office))
    keeper = attendant(office)
    officer = build_staff(Role.FRONT_DESK, office=office)
    with pytest.raises(ValidationError):
        actions.deposit_devices(locker=lockers[0], officer=keeper, devices="phone", actor=keeper)
    with pytest.raises(Http404):  # only a locker attendant confirms
        actions.deposit_devices(locker=lockers[0], officer=officer, devices="phone", actor=office_head(office))
    actions.deposit_devices(locker=lockers[0], officer=officer, devices="phone, watch", actor=keeper)
    with pytest.raises(ValidationError) as refused:
        actions.deposit_devices(locker=lockers[1], officer=officer, devices="tablet", actor=keeper)
    assert "already in a locker" in str(refused.value)
    other = build_staff(Role.FRONT_DESK, office=office)
    with pytest.raises(ValidationError) as refused:
        actions.deposit_devices(locker=lockers[0], officer=other, devices="phone", actor=keeper)
    assert "in use" in str(refused.value)
    # The database refuses a deposit confirmed by the officer themself, whatever the code does.
    with pytest.raises(IntegrityError), transaction.atomic():
        DeviceDeposit.objects.create(
            locker=lockers[1], officer=other, devices="phone", deposited_at=timezone.now(), attendant=other
        )
    assert Locker.objects.filter(office=office).count() == 2


def test_two_officers_cannot_serve_at_one_counter_and_an_ended_shift_closes_the_session() -> None:
    office = build_office()
    desk = counter(office, 1)
    first = verified(build_staff(Role.FRONT_DESK, office=office))
    second = verified(build_staff(Role.FRONT_DESK, office=office))
    session = serving(first, on_duty(first, office, Role.FRONT_DESK, at_counter=desk))
    with pytest.raises(ValidationError) as refused:
        serving(second, on_duty(second, office, Role.FRONT_DESK, at_counter=desk))
    assert "Another officer is serving" in str(refused.value)
    assert actions.close_ended_sessions(now=timezone.now()) == 0
    assert actions.close_ended_sessions(now=timezone.now() + dt.timedelta(hours=9)) == 1
    session.refresh_from_db()
    assert session.closed_because == CounterSession.Closed.SHIFT_ENDED


def test_spot_checks_go_on_the_officers_record_with_what_the_roster_said() -> None:
    office = build_office()
    head = office_head(office)
    officer = build_staff(Role.FRONT_DESK, office=office)
    with pytest.raises(ValidationError) as refused:
        actions.record_spot_check(office=office, officer=officer, finding="other", actor=head)
    assert "Describe" in str(refused.value)
    with pytest.raises(ValidationError):
        actions.record_spot_check(office=office, officer=head, finding="clean", actor=head)
    with pytest.raises(Http404):
        actions.record_spot_check(office=office, officer=officer, finding="clean", actor=verified(officer))
    check = actions.record_spot_check(
        office=office, officer=officer, counter=counter(office), finding=SpotCheck.Finding.PHONE_AT_DESK, actor=head
    )
    event = AuditEvent.objects.get(action="duty.spot_check_recorded", object_id=str(check.pk))
    assert event.details["finding"] == "phone_at_desk"
    assert event.details["on_roster"] is False and event.details["devices_in_locker"] is False
    assert list(SpotCheck.objects.filter(officer=officer)) == [check] and check.is_adverse
