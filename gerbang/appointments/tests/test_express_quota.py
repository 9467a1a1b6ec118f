"""Quotas of a slot: the express quota (first come, express applications only, never drawn), the priority quota
(over 60, under 5, or a declared disability) and the general places; guarded by CHECKs and conditional UPDATEs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.actions import issue_api_token
from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication
from gerbang.appointments import actions
from gerbang.appointments.models import Booking, LotteryRequest, Release, Slot
from gerbang.appointments.selectors import release_capacity
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, last_audit_id, staff_client
from gerbang.organisation.actions import declare_holiday
from gerbang.organisation.models import Office

from .conftest import WitnessService
from .test_lottery import DAY, applications_at, office_head, signed_in, wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages of actions called directly, in English (Indonesian is the default language)."""
    with translation.override("en"):
        yield


def quota_slot(office: Office, *, capacity: int = 4, priority: int = 1, express: int = 1, at: int = 9) -> Slot:
    (slot,) = actions.create_slots(
        office=office,
        day=DAY,
        times=[dt.time(at)],
        capacity=capacity,
        priority_capacity=priority,
        express_capacity=express,
        actor=office_head(office),
    )
    return slot


def open_release(office: Office, mode: str = Release.Mode.FIRST_COME, closes_in: dt.timedelta | None = None) -> Release:
    now = timezone.now()
    return actions.open_release(
        office=office,
        first_day=DAY,
        last_day=DAY,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + (closes_in or dt.timedelta(days=1)),
        actor=office_head(office),
        mode=mode,
    )


def with_answers(application: PassportApplication, **answers: Any) -> PassportApplication:
    """Answers as submitted (set directly: test set-up; the form and API are tested in gerbang/applications)."""
    PassportApplication.objects.filter(pk=application.pk).update(**answers)
    application.refresh_from_db()
    return application


def book(application: PassportApplication, slot: Slot) -> Booking:
    slot = Slot.objects.select_related("office").get(pk=slot.pk)
    return actions.book_first_come(application=application, slot=slot, actor=application.filer)


def counters(slot: Slot) -> tuple[int, int, int]:
    slot.refresh_from_db()
    return slot.booked, slot.priority_booked, slot.express_booked


def test_the_database_refuses_quotas_beyond_the_places_and_any_pool_overbooked() -> None:
    office = build_office()
    now = timezone.now()

    def make(**fields: Any) -> Slot:
        values = {"office": office, "starts_at": now, "day": DAY, "part_of_day": "am", "capacity": 4} | fields
        return Slot.objects.create(**values)

    with pytest.raises(IntegrityError), transaction.atomic():
        make(priority_capacity=2, express_capacity=3)  # 5 reserved of 4 places
    with pytest.raises(IntegrityError), transaction.atomic():
        make(express_capacity=1, express_booked=2, booked=2)
    slot = make(priority_capacity=1, express_capacity=1)  # 2 general places
    refused = [
        {"express_booked": 1},  # counted in the quota but not in the places booked
        {"booked": 3},  # three general bookings: one of them would sit in a quota
        {"booked": 2, "express_booked": 2},
        {"booked": 5, "priority_booked": 1, "express_booked": 1},
    ]
    for change in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            Slot.objects.filter(pk=slot.pk).update(**change)
    # Full, exactly: two general, one priority, one express.
    Slot.objects.filter(pk=slot.pk).update(booked=4, priority_booked=1, express_booked=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(express_capacity=F("express_capacity") + 1)


def test_express_places_go_to_express_applications_only_and_are_never_exceeded() -> None:
    office = build_office()
    slot = quota_slot(office, capacity=4, priority=1, express=2)  # 1 general place
    open_release(office)
    general, other_general, elder, express_a, express_b, express_c = applications_at(office, 6)
    elder = with_answers(elder, applicant_birth_date=dt.date(1950, 1, 1))
    for application in (express_a, express_b, express_c):
        with_answers(application, express=True)

    assert book(general, slot).priority is False
    assert counters(slot) == (1, 0, 0)
    # The general place is gone; the express places are not general places.
    with pytest.raises(ValidationError, match="full"):
        book(other_general, slot)
    assert book(elder, slot).priority is True  # the priority quota
    assert counters(slot) == (2, 1, 0)
    first, second = book(express_a, slot), book(express_b, slot)
    assert (first.priority, second.priority) == (False, False)
    assert counters(slot) == (4, 1, 2)
    with pytest.raises(ValidationError, match="full"):
        book(express_c, slot)
    assert counters(slot) == (4, 1, 2)
    assert Booking.objects.filter(slot=slot, status="active").count() == 4

    # A cancelled express booking gives its place back to the express quota, not to anyone else.
    actions.cancel_booking(first, actor=express_a.filer)
    assert counters(slot) == (3, 1, 1)
    assert book(express_c, slot).slot_id == slot.pk
    assert counters(slot) == (4, 1, 2)


def test_an_express_application_uses_only_the_express_quota_even_when_other_places_are_free() -> None:
    office = build_office()
    slot = quota_slot(office, capacity=3, priority=1, express=0)
    open_release(office)
    (application,) = applications_at(office, 1)
    with_answers(application, express=True, applicant_birth_date=dt.date(1950, 1, 1), declared_disability=True)
    assert actions.places_for(application, slot) == 0
    with pytest.raises(ValidationError, match="full"):
        book(application, slot)
    assert counters(slot) == (0, 0, 0)


def test_the_lottery_draws_priority_and_general_places_only(witness: WitnessService) -> None:
    office = build_office()
    slot = quota_slot(office, capacity=5, priority=1, express=2)
    release = open_release(office, Release.Mode.LOTTERY, closes_in=dt.timedelta(seconds=3))
    assert release_capacity(release) == {slot.group: {"priority": 1, "general": 2}}
    applicants = applications_at(office, 6)
    express = with_answers(applicants[0], express=True)
    others = applicants[1:]

    # The express application does not enter the draw: it books an express place, first come, meanwhile.
    page = signed_in(express).get(f"/permohonan/{express.public_id}/", headers={"accept-language": "en"})
    text = page.content.decode()
    assert "these places are kept for express applications" in text and "Enter the draw" not in text
    refused = signed_in(express).post(
        f"/permohonan/{express.public_id}/undian/{release.pk}/", {"choice": [slot.group]}, follow=True
    )
    assert b"does not enter the draw" in refused.content
    assert not LotteryRequest.objects.exists()
    booked = signed_in(express).post(f"/permohonan/{express.public_id}/jadwal/{slot.pk}/", follow=True)
    assert b"Your appointment is booked." in booked.content
    assert counters(slot) == (1, 0, 1)
    assert release_capacity(release) == {slot.group: {"priority": 1, "general": 2}}  # unchanged by it
    # Anyone else cannot book a lottery's slot first come.
    with pytest.raises(ValidationError, match="not open for booking"):
        book(others[0], slot)

    for application in others:
        actions.request_slot(application=application, release=release, choices=[slot.group], actor=application.filer)
    wait_until(release.window_closes_at)
    draw = actions.run_draw(release)

    assert draw.capacity == {slot.group: {"priority": 1, "general": 2}}
    assert counters(slot) == (3, 0, 1)  # two general places drawn; no priority request, so that place stays
    assert Booking.objects.filter(slot=slot, status="active").count() == 3
    assert LotteryRequest.objects.filter(outcome="waiting").count() == 3
    from gerbang.appointments.verification import verify

    assert all(check.ok for check in verify(draw))


def test_the_status_page_and_api_offer_express_places_to_express_applications(witness: WitnessService) -> None:
    office = build_office()
    full = quota_slot(office, capacity=2, priority=0, express=1, at=9)
    free = quota_slot(office, capacity=3, priority=1, express=2, at=10)
    none = quota_slot(office, capacity=2, priority=0, express=0, at=11)
    Slot.objects.filter(pk=full.pk).update(booked=1, express_booked=1)
    release = open_release(office, Release.Mode.LOTTERY)
    express, general = applications_at(office, 2)
    with_answers(express, express=True)

    token, _row = issue_api_token(express.filer)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    base = f"/api/v1/applications/{express.public_id}/appointment"
    (offer,) = Client().get(base, headers=headers).json()["offers"]
    assert offer["express"] is True and offer["release"] == release.pk and offer["groups"] == []
    assert [(s["id"], s["places_left"]) for s in offer["slots"]] == [(free.pk, 2)]
    assert none.pk not in {s["id"] for s in offer["slots"]}
    booked = Client().post(f"{base}/slots/{free.pk}", {}, "application/json", headers=headers)
    assert booked.status_code == 200 and booked.json()["booking"]["priority"] is False
    assert counters(free) == (1, 0, 1)
    lottery = Client().post(
        f"{base}/lottery/{release.pk}", {"choices": [free.group]}, "application/json", headers=headers
    )
    assert lottery.status_code == 422

    # Everyone else sees the draw, not the express places.
    token, _row = issue_api_token(general.filer)
    other = Client().get(
        f"/api/v1/applications/{general.public_id}/appointment",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    (offer,) = other.json()["offers"]
    assert offer["express"] is False and offer["groups"] == [free.group] and offer["slots"] == []


def test_a_declared_disability_makes_an_applicant_a_priority_applicant(witness: WitnessService) -> None:
    office = build_office()
    slot = quota_slot(office, capacity=2, priority=1, express=0)
    open_release(office)
    declared, undeclared, other = applications_at(office, 3)
    with_answers(declared, declared_disability=True)  # born 1987: not over 60
    assert actions.places_for(declared, slot) == 2 and actions.places_for(undeclared, slot) == 1
    book(undeclared, slot)
    with pytest.raises(ValidationError, match="full"):
        book(other, slot)  # the last place is the priority quota's
    assert book(declared, slot).priority is True
    assert counters(slot) == (2, 1, 0)

    # In a lottery, the request carries the priority flag.
    later = quota_slot(office, capacity=1, priority=1, express=0, at=14)
    release = open_release(office, Release.Mode.LOTTERY)
    actions.cancel_booking(Booking.objects.get(application=declared, status="active"), actor=declared.filer)
    request = actions.request_slot(application=declared, release=release, choices=[later.group], actor=declared.filer)
    assert request.priority is True


def test_the_calendar_form_takes_express_places_and_audits_them() -> None:
    office = build_office()
    client = staff_client(build_staff(Role.OFFICE_HEAD, office=office))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = f"/staf/kantor/{office.code}/jadwal/"
    data = {
        "form": "slots",
        "slots-day": DAY.isoformat(),
        "slots-times": "09:00",
        "slots-capacity": 10,
        "slots-priority_capacity": 3,
        "slots-express_capacity": 8,
    }
    mark = last_audit_id()
    page = client.post(url, data)
    assert "Priority and express places together cannot exceed the places per slot." in page.content.decode()
    assert not Slot.objects.exists()

    page = client.post(url, data | {"slots-express_capacity": 2}, follow=True)

    slot = Slot.objects.get(office=office)
    assert (slot.capacity, slot.priority_capacity, slot.express_capacity) == (10, 3, 2)
    assert "Express places" in page.content.decode()
    event = AuditEvent.objects.get(id__gt=mark, action="appointments.slots_created")
    assert event.details["express_capacity"] == 2
    with pytest.raises(ValidationError):
        actions.create_slots(
            office=office,
            day=DAY,
            times=[dt.time(15)],
            capacity=3,
            priority_capacity=2,
            express_capacity=2,
            actor=office_head(office),
        )


def test_a_draw_still_runs_when_a_chosen_day_became_a_holiday(witness: WitnessService) -> None:
    office = build_office()
    head = office_head(office)
    slot = quota_slot(office, capacity=1, priority=0, express=0)
    release = open_release(office, Release.Mode.LOTTERY, closes_in=dt.timedelta(seconds=3))
    (application,) = applications_at(office, 1)
    actions.request_slot(application=application, release=release, choices=[slot.group], actor=application.filer)

    declare_holiday(day=DAY, name="Banjir", office=office, actor=head)
    assert not Slot.objects.filter(pk=slot.pk).exists()  # never booked: removed
    wait_until(release.window_closes_at)
    draw = actions.run_draw(release)

    # The chosen group is in the published capacity, with no places: nobody is placed on a holiday.
    assert draw.capacity == {slot.group: {"priority": 0, "general": 0}}
    assert LotteryRequest.objects.get().outcome == "waiting"
    from gerbang.appointments.verification import verify

    assert all(check.ok for check in verify(draw))
