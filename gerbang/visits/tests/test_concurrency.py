"""Several front desks checking in and several counters calling at once (PostgreSQL row locks)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes, png_bytes
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking
from gerbang.appointments.tests.test_lottery import applications_at, office_head
from gerbang.conftest import build_office, build_staff, staff_client
from gerbang.duty.tests.support import counter as duty_counter
from gerbang.duty.tests.support import on_duty, serving
from gerbang.organisation.models import Counter, ServiceUnit
from gerbang.visits import actions
from gerbang.visits.models import Visit

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

PEOPLE = 8


def _at_once(work: Callable[[Any], None], items: list[Any]) -> list[BaseException]:
    barrier = threading.Barrier(len(items))
    failures: list[BaseException] = []

    def run(item: Any) -> None:
        barrier.wait()
        try:
            work(item)
        except BaseException as exc:  # reported by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return failures


def test_simultaneous_check_ins_get_distinct_numbers_and_counters_never_call_the_same_person() -> None:
    office = build_office()
    head = office_head(office)
    today = actions.office_today(office)
    slots = appointments.create_slots(
        office=office, day=today, times=[dt.time(8)], capacity=PEOPLE, priority_capacity=0, actor=head
    )
    now = timezone.now()
    appointments.open_release(
        office=office,
        first_day=today,
        last_day=today,
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        actor=head,
        mode="first_come",
    )
    bookings = []
    for application in applications_at(office, PEOPLE):
        bookings.append(appointments.book_first_come(application=application, slot=slots[0], actor=application.filer))
    PassportApplication.objects.filter(office=office).update(paid_at=timezone.now(), status="paid")
    desks = [build_staff(Role.FRONT_DESK, office=office) for _ in range(2)]
    for desk in desks:
        desk.is_verified = lambda: True  # type: ignore[attr-defined]
        desk_number = 100 + desks.index(desk)
        serving(desk, on_duty(desk, office, Role.FRONT_DESK, at_counter=duty_counter(office, desk_number)))
    registry_photo = actions.Photo(png_bytes(60, 80), "png")

    def check_in(n: int) -> None:
        booking = Booking.objects.select_related("slot", "application").get(pk=bookings[n].pk)
        actions.check_in(
            booking=booking,
            office=office,
            actor=desks[n % 2],
            id_card_nik=booking.applicant_nik,
            face_matches=True,
            registry_photo=registry_photo,
            checkin_photo=actions.Photo(jpeg_bytes(60 + n, 80), "jpg"),
        )

    assert _at_once(check_in, list(range(PEOPLE))) == []
    assert sorted(Visit.objects.values_list("number", flat=True)) == list(range(1, PEOPLE + 1))

    # Four counters press "call the next number" twice each at once: eight calls for eight people.
    unit = ServiceUnit.objects.get(office=office)
    counters = [Counter.objects.create(unit=unit, number=n) for n in range(1, 5)]
    # One officer serving at each counter: on the roster there, devices in a locker, the session open.
    officers = {}
    for counter in counters:
        officer = build_staff(Role.DOCUMENT_VERIFIER, office=office)
        serving(officer, on_duty(officer, office, Role.DOCUMENT_VERIFIER, at_counter=counter))
        officers[counter.pk] = officer

    def call(counter: Counter) -> None:
        client = staff_client(officers[counter.pk])
        answer = client.post(f"/staf/loket/{counter.pk}/antrean/aksi/", {"do": "next"})
        assert answer.status_code == 302

    assert _at_once(call, counters + counters) == []
    called = Visit.objects.filter(status="called")
    # One person per counter; nobody called to two counters (the row lock skips a person being called).
    assert called.count() == len(counters)
    assert len(set(called.values_list("counter", flat=True))) == len(counters)
