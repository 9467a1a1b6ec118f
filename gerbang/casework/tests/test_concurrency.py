"""Casework under concurrent use (PostgreSQL row locks and partial unique indexes)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction

from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.casework import actions, flow, rules
from gerbang.casework.models import Assignment, Booklet, Duty, Passport
from gerbang.conftest import build_office, build_staff
from gerbang.duty import actions as duty
from gerbang.duty.models import CounterSession
from gerbang.duty.tests.support import attendant, counter, office_head, on_duty, verified

from .support import paid_application

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def _at_once(work: Callable[[Any], Any], items: list[Any]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(items))
    results: list[Any] = []
    failures: list[BaseException] = []

    def run(item: Any) -> None:
        barrier.wait()
        try:
            results.append(work(item))
        except BaseException as exc:  # reported by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results, failures


def test_issuers_printing_at_once_take_distinct_booklets(settings: Any, tmp_path: Any) -> None:
    office = build_office(province_code="36")
    issuers = []
    for _ in range(4):
        issuer = build_staff(Role.ISSUING_OFFICER, office=office)
        on_duty(issuer, office, Role.ISSUING_OFFICER)
        issuers.append(issuer)
    applications = [paid_application(office, settings, tmp_path) for _ in range(4)]
    actions.receive_booklets(
        office=office, booklets=[(f"BKC{n:05d}", f"C{n:07d}") for n in range(1, 6)], actor=office_head(office)
    )
    PassportApplication.objects.filter(pk__in=[a.pk for a in applications]).update(status="approved")
    Assignment.objects.filter(application__in=applications).delete()
    for application in applications:
        application.refresh_from_db()
        with transaction.atomic():
            assert flow.assign(application, Duty.ISSUING) is not None

    def print_one(application: PassportApplication) -> str:
        holder = rules.open_assignment(application, Duty.ISSUING)
        assert holder is not None
        return actions.print_passport(application, actor=verified(holder.officer)).number

    numbers, failures = _at_once(print_one, applications)
    assert failures == [] and len(set(numbers)) == 4
    assert Booklet.objects.filter(office=office, status="issued").count() == 4
    assert Booklet.objects.filter(office=office, status="in_stock").count() == 1
    assert Passport.objects.filter(application__in=applications, void=False).count() == 4


def test_two_officers_opening_one_counter_at_once_get_one_session() -> None:
    office = build_office(province_code="37")
    desk = counter(office, 1)
    officers: list[tuple[Any, Any]] = []
    for _ in range(2):
        officer = verified(build_staff(Role.FRONT_DESK, office=office))
        shift = on_duty(officer, office, Role.FRONT_DESK, at_counter=desk)
        lockers = duty.ensure_lockers(office, 4, actor=office_head(office))

        free = lockers[len(officers)]
        duty.deposit_devices(locker=free, officer=officer, devices="phone", actor=attendant(office))
        officers.append((officer, shift))

    def open_session(pair: tuple[Any, Any]) -> int:
        officer, shift = pair
        return duty.open_counter_session(counter=shift.counter, actor=officer).pk

    opened, failures = _at_once(open_session, officers)
    assert len(opened) == 1 and len(failures) == 1 and isinstance(failures[0], ValidationError)
    assert set(failures[0].message_dict) == {"counter"}  # refused (and audited), not a 500
    assert AuditEvent.objects.filter(action="duty.counter_session_refused", details__reason="counter_busy").exists()
    assert CounterSession.objects.filter(counter=desk, closed_at__isnull=True).count() == 1
