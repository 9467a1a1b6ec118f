"""Check-in marks a booking attended; one not checked in after the grace is a no-show, which blocks new requests."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from gerbang.applications.models import PassportApplication
from gerbang.appointments import actions, tasks
from gerbang.appointments.models import Booking, Slot
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, last_audit_id
from gerbang.organisation.models import Office

from .conftest import WitnessService
from .test_api import Api
from .test_lottery import DAY, applications_at, first_come_release, office_head, signed_in

pytestmark = pytest.mark.django_db


def booked_at(application: PassportApplication, starts_at: dt.datetime) -> Booking:
    """Test set-up: an active booking in a slot starting at ``starts_at`` (past slots cannot be opened or booked)."""
    office: Office = application.office  # type: ignore[assignment]
    local = timezone.localtime(starts_at, zoneinfo.ZoneInfo(office.timezone))
    slot = Slot.objects.create(
        office=office,
        starts_at=starts_at,
        day=local.date(),
        part_of_day="am" if local.hour < 12 else "pm",
        capacity=1,
        booked=1,
    )
    return Booking.objects.create(
        slot=slot,
        application=application,
        applicant_nik=application.applicant_nik,
        source="first_come",
        created_at=starts_at - dt.timedelta(days=7),
    )


def test_a_booking_is_a_no_show_only_after_the_grace(settings: Any) -> None:
    settings.GERBANG_NO_SHOW_AFTER_MINUTES = 60
    office = build_office()
    missed_app, attended_app, later_app = applications_at(office, 3)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)
    missed = booked_at(missed_app, start)
    attended = booked_at(attended_app, start + dt.timedelta(minutes=1))
    later = booked_at(later_app, start + dt.timedelta(hours=2, minutes=30))  # started 30 minutes ago
    with transaction.atomic():  # as inside the check-in's transaction
        actions.mark_attended(attended, at=start + dt.timedelta(minutes=5))

    # Exactly the grace after the start: not yet.
    assert tasks.mark_no_shows(now=start + dt.timedelta(minutes=60)) == []
    with pytest.raises(ValidationError, match="has not passed"):
        actions.record_no_show(missed, now=start + dt.timedelta(minutes=60))
    assert Booking.objects.get(pk=missed.pk).status == "active"

    mark = last_audit_id()
    done = tasks.mark_no_shows()

    assert done == [f"booking {missed.pk}: no-show"]
    statuses = dict(Booking.objects.values_list("pk", "status"))
    assert statuses == {missed.pk: "no_show", attended.pk: "attended", later.pk: "active"}
    (event,) = AuditEvent.objects.filter(id__gt=mark)
    assert event.action == "appointments.no_show" and event.actor_id is None and event.object_id == str(missed.pk)
    assert event.details["slot"] == missed.slot_id
    # The place is not given back or offered to anyone: its time has passed.
    assert Slot.objects.get(pk=missed.slot_id).booked == 1
    assert Booking.objects.filter(slot=missed.slot_id).count() == 1
    # Marked once: the next run finds nothing, and attendance can no longer be recorded.
    assert tasks.mark_no_shows() == []
    with pytest.raises(ValidationError):
        actions.record_no_show(missed)
    with pytest.raises(ValidationError), transaction.atomic():
        actions.mark_attended(missed, at=timezone.now())


def test_mark_attended_only_from_active() -> None:
    office = build_office()
    head = office_head(office)
    slot, other = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=1)
    present, cancelling = applications_at(office, 2)
    booking = actions.book_first_come(application=present, slot=slot, actor=present.filer)
    cancelled = actions.book_first_come(application=cancelling, slot=other, actor=cancelling.filer)
    actions.cancel_booking(cancelled, actor=cancelling.filer)
    at = timezone.now()
    mark = last_audit_id()

    with transaction.atomic():
        result = actions.mark_attended(booking, at=at)

    assert result.status == "attended" and result.checked_in_at == at
    stored = Booking.objects.get(pk=booking.pk)
    assert (stored.status, stored.checked_in_at) == ("attended", at)
    assert not AuditEvent.objects.filter(id__gt=mark).exists()  # the check-in writes its own event
    for refused in (booking, cancelled):
        with pytest.raises(ValidationError, match="cannot be checked in"), transaction.atomic():
            actions.mark_attended(refused, at=at)
    assert Booking.objects.get(pk=cancelled.pk).checked_in_at is None
    assert Booking.objects.get(pk=booking.pk).checked_in_at == at
    # An attended booking is no longer the applicant's appointment: it cannot be moved or cancelled.
    assert actions.reschedule_refusal(Booking.objects.get(pk=booking.pk), now=at) is not None


def test_a_no_show_blocks_new_appointments_until_the_window_ends(settings: Any, witness: WitnessService) -> None:
    settings.GERBANG_NO_SHOW_BLOCK_DAYS = 30
    office = build_office()
    head = office_head(office)
    (slot,) = first_come_release(office, head, [dt.time(9)], capacity=2)
    (lottery_slot,) = actions.create_slots(
        office=office, day=DAY + dt.timedelta(days=1), times=[dt.time(9)], capacity=1, priority_capacity=0, actor=head
    )
    now = timezone.now()
    lottery = actions.open_release(
        office=office,
        first_day=lottery_slot.day,
        last_day=lottery_slot.day,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(hours=1),
        actor=head,
    )
    missing, other = applications_at(office, 2)
    zone = zoneinfo.ZoneInfo(office.timezone)
    three_days_ago = timezone.localtime(now, zone).date() - dt.timedelta(days=3)
    missed = booked_at(missing, dt.datetime.combine(three_days_ago, dt.time(9), zone))
    actions.record_no_show(missed)
    free_from = dt.datetime.combine(three_days_ago + dt.timedelta(days=30), dt.time(0), zone)
    shown = f"{free_from.day} {free_from:%B} {free_from.year}"  # the English date the applicant is told

    # The window: blocked until the start of the thirtieth day after the missed one (office time).
    assert actions.no_show_block_ends(missing.applicant_nik, now=now) == free_from
    assert actions.no_show_block_ends(missing.applicant_nik, now=free_from - dt.timedelta(seconds=1)) == free_from
    assert actions.no_show_block_ends(missing.applicant_nik, now=free_from) is None
    assert actions.no_show_block_ends(other.applicant_nik, now=now) is None

    client = signed_in(missing)
    page = client.get(f"/permohonan/{missing.public_id}/").content.decode()
    assert "did not come to a recent appointment" in page and shown in page
    assert f"jadwal/{slot.pk}/" not in page  # nothing offered meanwhile
    booked = client.post(f"/permohonan/{missing.public_id}/jadwal/{slot.pk}/", follow=True).content.decode()
    assert f"A new appointment can be requested from {shown}." in booked
    entered = client.post(
        f"/permohonan/{missing.public_id}/undian/{lottery.pk}/", {"choice": [lottery_slot.group]}, follow=True
    ).content.decode()
    assert shown in entered
    api = Api(missing)
    assert shown in api.get().json()["blocked"]
    refused = api.post(f"/slots/{slot.pk}")
    assert refused.status_code == 422 and shown in refused.content.decode()
    assert not Booking.objects.filter(application=missing, status="active").exists()
    assert not lottery.requests.exists()
    slot.refresh_from_db()
    assert slot.booked == 0
    # Someone else is not affected.
    assert b"Your appointment is booked" in (
        signed_in(other).post(f"/permohonan/{other.public_id}/jadwal/{slot.pk}/", follow=True).content
    )

    # Rescheduling is refused too (an active booking set up directly: blocked NIKs cannot book one).
    (later,) = actions.create_slots(
        office=office, day=DAY, times=[dt.time(10)], capacity=1, priority_capacity=0, actor=head
    )
    current = Booking.objects.create(
        slot=slot, application=missing, applicant_nik=missing.applicant_nik, source="first_come", created_at=now
    )
    with pytest.raises(ValidationError, match="can be requested from"):
        actions.reschedule_booking(current, slot=later, actor=missing.filer)
    current.delete()

    # After the window a shorter block has ended: the same applicant books again.
    settings.GERBANG_NO_SHOW_BLOCK_DAYS = 3
    assert actions.no_show_block_ends(missing.applicant_nik, now=timezone.now()) is None
    again = client.post(f"/permohonan/{missing.public_id}/jadwal/{slot.pk}/", follow=True)
    assert b"Your appointment is booked" in again.content
