"""Moving an appointment: once, up to a day before it, to a free slot of the same office; the old place goes on."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.http import Http404
from django.test import Client
from django.utils import timezone

from gerbang.applications.models import PassportApplication
from gerbang.appointments import actions
from gerbang.appointments.models import Booking, LotteryRequest, Release, Slot
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, last_audit_id
from gerbang.organisation.models import Office

from .conftest import WitnessService
from .test_api import Api
from .test_lottery import DAY, _drawn, applications_at, first_come_release, office_head, signed_in

pytestmark = pytest.mark.django_db


def slot_at(office: Office, head: Any, when: dt.datetime, *, capacity: int = 1, priority_capacity: int = 0) -> Slot:
    """A slot starting at ``when`` (to the minute), opened through the action as an office head does."""
    at = timezone.localtime(when, zoneinfo.ZoneInfo(office.timezone)).replace(second=0, microsecond=0)
    (slot,) = actions.create_slots(
        office=office,
        day=at.date(),
        times=[at.time()],
        capacity=capacity,
        priority_capacity=priority_capacity,
        actor=head,
    )
    return slot


def open_first_come(office: Office, head: Any, slots: list[Slot]) -> Release:
    now = timezone.now()
    return actions.open_release(
        office=office,
        first_day=min(s.day for s in slots),
        last_day=max(s.day for s in slots),
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(days=1),
        actor=head,
        mode=Release.Mode.FIRST_COME,
    )


def appointment_events(mark: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(id__gt=mark, action__startswith="appointments.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_move_an_appointment_once_from_the_status_page() -> None:
    office = build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=1)
    (application,) = applications_at(office, 1)
    client = signed_in(application)
    base = f"/permohonan/{application.public_id}/"
    client.post(base + f"jadwal/{slot.pk}/")
    bill = application.bills.get()

    page = client.get(base).content.decode()
    assert "Move the appointment" in page and f"jadwal/pindah/{later.pk}/" in page
    assert f"jadwal/pindah/{slot.pk}/" not in page  # not to where it already is
    confirm = client.get(base + f"jadwal/pindah/{later.pk}/")
    assert confirm.status_code == 200 and b"Move your appointment?" in confirm.content
    assert Booking.objects.get(application=application).slot_id == slot.pk  # the confirmation page changes nothing

    mark = last_audit_id()
    moved = client.post(base + f"jadwal/pindah/{later.pk}/", follow=True).content.decode()

    assert "Your appointment is moved" in moved and "already moved once" in moved
    old = Booking.objects.get(application=application, slot=slot)
    new = Booking.objects.get(application=application, status="active")
    assert old.status == "rescheduled" and old.cancelled_at is not None
    assert (new.slot_id, new.rescheduled_from_id, new.source) == (later.pk, old.pk, "rescheduled")
    assert list(Slot.objects.filter(pk__in=[slot.pk, later.pk]).order_by("starts_at").values_list("booked")) == [
        (0,),
        (1,),
    ]
    # The bill is the one issued for the first booking, still to be paid: no second bill, none cancelled.
    assert list(application.bills.values_list("pk", "status")) == [(bill.pk, "issued")]
    assert appointment_events(mark) == ["appointments.rescheduled"]
    event = AuditEvent.objects.get(id__gt=mark, action="appointments.rescheduled")
    assert event.actor_id == application.filer_id and event.object_id == str(new.pk)
    assert event.details["from_booking"] == old.pk and event.details["slot"] == later.pk

    # Once only: moving back is refused on the confirmation page and on the form, and nothing changes.
    refused = client.get(base + f"jadwal/pindah/{slot.pk}/", follow=True)
    assert b"already moved once" in refused.content and b"Move your appointment?" not in refused.content
    mark = last_audit_id()
    again = client.post(base + f"jadwal/pindah/{slot.pk}/", follow=True)
    assert b"already moved once" in again.content
    assert Booking.objects.get(application=application, status="active").pk == new.pk
    assert appointment_events(mark) == []
    with pytest.raises(ValidationError, match="already moved once"):
        actions.reschedule_booking(new, slot=slot, actor=application.filer)


def test_only_the_applicant_who_filed_moves_it_and_only_to_this_offices_slots() -> None:
    office, elsewhere = build_office(), build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=1)
    (other_office_slot,) = first_come_release(elsewhere, office_head(elsewhere), [dt.time(11)], capacity=1)
    mine, theirs = applications_at(office, 2)
    booking = actions.book_first_come(application=mine, slot=slot, actor=mine.filer)
    stranger = signed_in(theirs)  # signed in, but not the filer of this application
    assert stranger.get(f"/permohonan/{mine.public_id}/jadwal/pindah/{later.pk}/").status_code == 404
    assert stranger.post(f"/permohonan/{mine.public_id}/jadwal/pindah/{later.pk}/").status_code == 404
    with pytest.raises(Http404):
        actions.reschedule_booking(booking, slot=later, actor=theirs.filer)
    # Without a booking there is nothing to move; a slot of another office is not found from this application.
    assert signed_in(theirs).post(f"/permohonan/{theirs.public_id}/jadwal/pindah/{later.pk}/").status_code == 404
    owner = signed_in(mine)
    assert owner.post(f"/permohonan/{mine.public_id}/jadwal/pindah/{other_office_slot.pk}/").status_code == 404
    with pytest.raises(ValidationError, match="cannot be chosen"):
        actions.reschedule_booking(booking, slot=other_office_slot, actor=mine.filer)
    anonymous = Client().post(f"/permohonan/{mine.public_id}/jadwal/pindah/{later.pk}/")
    assert anonymous.status_code == 302
    assert Booking.objects.get(pk=booking.pk).status == "active" and Booking.objects.count() == 1


def test_an_appointment_less_than_a_day_away_cannot_be_moved() -> None:
    office = build_office()
    head = office_head(office)
    now = timezone.now()
    soon = slot_at(office, head, now + dt.timedelta(hours=23, minutes=30))
    tomorrow = slot_at(office, head, now + dt.timedelta(hours=24, minutes=30))
    later = slot_at(office, head, now + dt.timedelta(days=3), capacity=2)
    open_first_come(office, head, [soon, tomorrow, later])
    close, far = applications_at(office, 2)
    booking = actions.book_first_come(application=close, slot=soon, actor=close.filer)
    actions.book_first_come(application=far, slot=tomorrow, actor=far.filer)

    page = signed_in(close).get(f"/permohonan/{close.public_id}/").content.decode()
    assert "can be moved only up to 24 hours before it starts" in page and "jadwal/pindah/" not in page
    refused = signed_in(close).post(f"/permohonan/{close.public_id}/jadwal/pindah/{later.pk}/", follow=True)
    assert b"only up to 24 hours before" in refused.content
    with pytest.raises(ValidationError, match="24 hours"):
        actions.reschedule_booking(booking, slot=later, actor=close.filer)
    assert Booking.objects.get(pk=booking.pk).status == "active"
    later.refresh_from_db()
    assert later.booked == 0  # nothing was taken for the refused move

    # A day and a half hour away is still in time.
    moved = signed_in(far).post(f"/permohonan/{far.public_id}/jadwal/pindah/{later.pk}/", follow=True)
    assert b"Your appointment is moved" in moved.content


def test_only_free_future_slots_of_drawn_or_first_come_releases_are_offered(witness: WitnessService) -> None:
    office = build_office()
    head = office_head(office)
    slot, full, free = first_come_release(office, head, [dt.time(9), dt.time(10), dt.time(11)], capacity=1)
    mine, other = applications_at(office, 2)
    booking = actions.book_first_come(application=mine, slot=slot, actor=mine.filer)
    actions.book_first_come(application=other, slot=full, actor=other.filer)
    # A lottery of later days, not drawn yet: its places belong to its draw.
    undrawn_day = DAY + dt.timedelta(days=2)
    (undrawn,) = actions.create_slots(
        office=office, day=undrawn_day, times=[dt.time(9)], capacity=5, priority_capacity=0, actor=head
    )
    now = timezone.now()
    actions.open_release(
        office=office,
        first_day=undrawn_day,
        last_day=undrawn_day,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(hours=1),
        actor=head,
    )
    # A slot outside any release, and one that has already started.
    (unreleased,) = actions.create_slots(
        office=office, day=DAY + dt.timedelta(days=5), times=[dt.time(9)], capacity=5, priority_capacity=0, actor=head
    )
    past = Slot.objects.create(  # test set-up: a slot of a released day that is already over
        office=office,
        starts_at=now - dt.timedelta(hours=1),
        day=DAY,
        part_of_day="am",
        capacity=1,
    )
    offered = actions.reschedule_slots(booking, now=now)
    assert [s.pk for s in offered] == [free.pk]
    for refused in (full, undrawn, unreleased, past, slot):
        with pytest.raises(ValidationError, match="cannot be chosen"):
            actions.reschedule_booking(booking, slot=refused, actor=mine.filer)
    assert Booking.objects.get(pk=booking.pk).status == "active"
    assert list(Slot.objects.filter(pk__in=[full.pk, undrawn.pk, unreleased.pk]).values_list("booked", flat=True)) == [
        1,
        0,
        0,
    ]


def test_a_priority_applicant_may_move_into_the_priority_quota() -> None:
    office = build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9)], capacity=1) + actions.create_slots(
        office=office, day=DAY, times=[dt.time(10)], capacity=1, priority_capacity=1, actor=head
    )
    general, older = applications_at(office, 2)
    PassportApplication.objects.filter(pk=older.pk).update(applicant_birth_date=dt.date(1950, 1, 1))
    older.refresh_from_db()
    (other_slot,) = actions.create_slots(
        office=office, day=DAY, times=[dt.time(11)], capacity=1, priority_capacity=0, actor=head
    )
    booking = actions.book_first_come(application=general, slot=slot, actor=general.filer)
    theirs = actions.book_first_come(application=older, slot=other_slot, actor=older.filer)
    # The only place at 10:00 is in the priority quota: not for a general applicant.
    assert later.pk not in [s.pk for s in actions.reschedule_slots(booking, now=timezone.now())]
    with pytest.raises(ValidationError, match="cannot be chosen"):
        actions.reschedule_booking(booking, slot=later, actor=general.filer)
    moved = actions.reschedule_booking(theirs, slot=later, actor=older.filer)
    assert moved.priority is True
    later.refresh_from_db()
    assert (later.booked, later.priority_booked) == (1, 1)


def test_the_old_place_goes_to_the_first_on_the_waiting_list(witness: WitnessService) -> None:
    draw = _drawn(witness, count=3)  # two morning places, three requests for the morning, the afternoon free
    allocated = list(Booking.objects.filter(request__release=draw.release, status="active").order_by("pk"))
    (waiting,) = LotteryRequest.objects.filter(release=draw.release, outcome="waiting")
    afternoon = Slot.objects.get(office=draw.release.office, part_of_day="pm")
    mover = allocated[0]
    bill = mover.application.bills.get()
    mark = last_audit_id()

    page = signed_in(mover.application).post(
        f"/permohonan/{mover.application.public_id}/jadwal/pindah/{afternoon.pk}/", follow=True
    )

    assert b"Your appointment is moved" in page.content
    moved = Booking.objects.get(application=mover.application, status="active")
    assert moved.slot_id == afternoon.pk and moved.request is None
    replacement = Booking.objects.get(request=waiting, status="active")
    assert replacement.slot_id == mover.slot_id and replacement.source == "waiting_list"
    assert replacement.application.bills.get().status == "issued"  # the new holder's own bill
    assert list(mover.application.bills.values_list("pk", "status")) == [(bill.pk, "issued")]
    assert Slot.objects.get(pk=mover.slot_id).booked == 1
    assert appointment_events(mark) == ["appointments.rescheduled", "appointments.waiting_list_booked"]
    # The draw still verifies: the bookings it made are still its allocations.
    out = io.StringIO()
    call_command("verify_draw", draw.public_id, stdout=out)
    assert "FAIL" not in out.getvalue()


def test_reschedule_over_the_api() -> None:
    office = build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=1)
    mine, theirs = applications_at(office, 2)
    api = Api(mine)
    assert api.post(f"/reschedule/{later.pk}").status_code == 404  # no appointment yet
    api.post(f"/slots/{slot.pk}")
    shown = api.get().json()
    assert shown["reschedule"] == {
        "refusal": None,
        "slots": [{"id": later.pk, "starts_at": shown["reschedule"]["slots"][0]["starts_at"], "places_left": 1}],
    }
    assert Api(theirs).post(f"/reschedule/{later.pk}").status_code == 404
    assert api.post("/reschedule/999999").status_code == 404

    moved = api.post(f"/reschedule/{later.pk}")

    assert moved.status_code == 200
    body = moved.json()
    assert body["booking"]["source"] == "rescheduled" and body["booking"]["rescheduled"] is True
    assert "already moved once" in body["reschedule"]["refusal"] and body["reschedule"]["slots"] == []
    again = api.post(f"/reschedule/{slot.pk}")
    assert again.status_code == 422
    (message,) = again.json()["detail"]
    assert message["loc"] == ["body", "booking"] and "already moved once" in message["msg"]
    # Someone else's application is not found, as if it did not exist.
    assert Client().post(api.base + f"/reschedule/{slot.pk}", headers=Api(theirs).headers).status_code == 404


def test_the_database_keeps_the_booking_invariants() -> None:
    office = build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=2)
    first, second = applications_at(office, 2)
    booking = actions.book_first_come(application=first, slot=slot, actor=first.filer)
    now = timezone.now()
    refused: list[dict[str, Any]] = [
        {"status": "attended"},  # attended without a check-in time
        {"checked_in_at": now},  # a check-in time on a booking still active
        {"status": "cancelled"},  # cancelled without a time
        {"cancelled_at": now},  # a cancellation time on an active booking
        {"source": "rescheduled"},  # made by rescheduling, but from nothing
        {"rescheduled_from": booking.pk},  # from a booking, but not by rescheduling
    ]
    for changes in refused:
        with pytest.raises(IntegrityError), transaction.atomic():
            Booking.objects.filter(pk=booking.pk).update(**changes)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.filter(pk=booking.pk).update(source="rescheduled", rescheduled_from=booking.pk)
    # One booking replaces another at most once.
    moved = actions.reschedule_booking(booking, slot=later, actor=first.filer)
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            slot=slot,
            application=second,
            applicant_nik=second.applicant_nik,
            source="rescheduled",
            rescheduled_from=booking,
            created_at=now,
        )
    # Still one active booking per NIK.
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            slot=slot, application=second, applicant_nik=moved.applicant_nik, source="first_come", created_at=now
        )
