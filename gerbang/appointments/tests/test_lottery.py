"""A lottery release end to end against the real witness, first come first served, and the waiting list."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication
from gerbang.appointments import actions
from gerbang.appointments.models import Booking, Draw, LotteryRequest, Release, Slot
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, last_audit_id
from gerbang.organisation.models import Office
from gerbang.payments.actions import expire_bills
from gerbang.payments.tests.support import submitted_application

from .conftest import WitnessService

pytestmark = pytest.mark.django_db

NIKS = [f"31730157088700{n:02d}" for n in range(1, 9)]
DAY = dt.date.today() + dt.timedelta(days=14)


def applications_at(office: Office, count: int) -> list[PassportApplication]:
    """Submitted applications of different people, all for ``office`` (set directly: test set-up)."""
    found = []
    for nik in NIKS[:count]:
        application, _no_bill = submitted_application(nik, bill=False)
        PassportApplication.objects.filter(pk=application.pk).update(office=office)
        application.refresh_from_db()
        found.append(application)
    return found


def office_head(office: Office, role: Role = Role.OFFICE_HEAD) -> Any:
    """A staff member past the second factor, as the staff pages make them (signing in is tested in accounts)."""
    user = build_staff(role, office=office)
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def signed_in(application: PassportApplication) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(application.filer)
    return client


def lottery_release(office: Office, head: Any, *, closes_in: float) -> Release:
    actions.create_slots(
        office=office, day=DAY, times=[dt.time(9), dt.time(10)], capacity=1, priority_capacity=0, actor=head
    )
    actions.create_slots(office=office, day=DAY, times=[dt.time(13)], capacity=1, priority_capacity=0, actor=head)
    now = timezone.now()
    return actions.open_release(
        office=office,
        first_day=DAY,
        last_day=DAY,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(seconds=closes_in),
        actor=head,
    )


def first_come_release(office: Office, head: Any, times: list[dt.time], capacity: int) -> list[Slot]:
    """Slots on DAY, released first come, first served, with the request period open for a day."""
    slots = actions.create_slots(
        office=office, day=DAY, times=times, capacity=capacity, priority_capacity=0, actor=head
    )
    now = timezone.now()
    actions.open_release(
        office=office,
        first_day=DAY,
        last_day=DAY,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(days=1),
        actor=head,
        mode=Release.Mode.FIRST_COME,
    )
    return slots


def wait_until(moment: dt.datetime) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 1.1)  # the witness's clock has seconds


def test_a_lottery_release_from_commitments_to_bookings_and_anyone_can_verify_it(witness: WitnessService) -> None:
    office = build_office()
    head = office_head(office)
    applications = applications_at(office, 5)
    mark = last_audit_id()
    release = lottery_release(office, head, closes_in=3)
    draw = Draw.objects.get(release=release)
    morning, afternoon = f"{office.code}/{DAY}/am", f"{office.code}/{DAY}/pm"
    # Before the draw the record shows both commitments and no secret.
    before = Client().get(f"/undian/{draw.public_id}.json").json()
    assert before["gerbang_commitment"] == draw.gerbang_commitment and before["witness_commitment"]
    assert "gerbang_secret" not in before and "witness_secret" not in before

    for n, application in enumerate(applications):
        choices = [morning, afternoon] if n % 2 == 0 else [afternoon]
        page = signed_in(application).post(
            f"/permohonan/{application.public_id}/undian/{release.pk}/", {"choice": choices}, follow=True
        )
        assert b"Your request is in the draw" in page.content
    again = signed_in(applications[0]).post(
        f"/permohonan/{applications[0].public_id}/undian/{release.pk}/", {"choice": [morning]}, follow=True
    )
    assert b"already entered" in again.content
    with pytest.raises(ValidationError):
        actions.run_draw(release)  # the window is still open
    wait_until(release.window_closes_at)

    draw = actions.run_draw(release)

    bookings = Booking.objects.filter(slot__office=office, status="active")
    assert bookings.count() == 3  # three places, five requests
    for slot in Slot.objects.filter(office=office):
        assert slot.booked == slot.bookings.filter(status="active").count() <= slot.capacity
    outcomes = sorted(LotteryRequest.objects.filter(release=release).values_list("outcome", flat=True))
    assert outcomes == ["allocated"] * 3 + ["waiting"] * 2
    ranks = LotteryRequest.objects.filter(release=release).values_list("rank", flat=True)
    assert sorted(rank or 0 for rank in ranks) == [1, 2, 3, 4, 5]
    assert draw.drawn_at is not None
    for booking in bookings.select_related("request", "slot__office", "application"):
        assert booking.request is not None and booking.slot.group in booking.request.choices
        # The allocated slot commits the applicant: its bill, payable for 24 hours after the draw.
        bill = booking.application.bills.get()
        assert bill.status == "issued" and bill.amount == booking.application.versions.get().fee["total"]
        assert bill.expires_at - bill.issued_at == dt.timedelta(hours=24)
        assert abs(bill.issued_at - draw.drawn_at) < dt.timedelta(minutes=1)
    losers = LotteryRequest.objects.filter(release=release, outcome="waiting")
    assert not any(r.application.bills.exists() for r in losers)
    record = Client().get(f"/undian/{draw.public_id}.json").json()
    assert record["root"] == draw.root and record["request_count"] == 5
    assert record["gerbang_secret"] == draw.gerbang_secret and record["witness_secret"] == draw.witness_secret
    assert len(record["requests"]) == 5 and "applicant_nik" not in json.dumps(record)
    assert NIKS[0] not in json.dumps(record)
    page = Client(headers={"accept-language": "en"}).get(f"/undian/{draw.public_id}/")
    assert draw.result_digest.encode() in page.content and draw.root.encode() in page.content
    out = io.StringIO()
    call_command("verify_draw", draw.public_id, stdout=out)
    assert f"draw {draw.public_id} verifies" in out.getvalue() and "FAIL" not in out.getvalue()
    actions_logged = list(AuditEvent.objects.filter(id__gt=mark).values_list("action", flat=True))
    assert actions_logged.count("appointments.lottery_requested") == 5
    assert "appointments.release_opened" in actions_logged and "appointments.draw_completed" in actions_logged
    # The applicant sees the appointment on the status page.
    winner = bookings.first()
    assert winner is not None
    assert (
        b"Your appointment" in signed_in(winner.application).get(f"/permohonan/{winner.application.public_id}/").content
    )


def _drawn(witness: WitnessService, count: int = 3) -> Draw:
    office = build_office()
    head = office_head(office)
    applications = applications_at(office, count)
    release = lottery_release(office, head, closes_in=2)
    for application in applications:
        actions.request_slot(
            application=application, release=release, choices=[f"{office.code}/{DAY}/am"], actor=application.filer
        )
    wait_until(release.window_closes_at)
    return actions.run_draw(release)


def test_verify_draw_detects_a_request_added_after_the_window_or_a_changed_secret(witness: WitnessService) -> None:
    draw = _drawn(witness)
    call_command("verify_draw", draw.public_id, stdout=io.StringIO())
    # A request slipped in after the window closed: the root no longer matches the list.
    late = LotteryRequest.objects.filter(release=draw.release).first()
    assert late is not None
    LotteryRequest.objects.create(
        release=draw.release,
        application=late.application,
        applicant_nik="3173019999990001",
        pseudonym="f" * 32,
        priority=False,
        choices=late.choices,
        created_at=timezone.now(),
    )
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_draw", draw.public_id, stdout=out)
    assert "FAIL the root is the Merkle root of the published requests" in out.getvalue()
    LotteryRequest.objects.filter(pseudonym="f" * 32).delete()
    call_command("verify_draw", draw.public_id, stdout=io.StringIO())
    # Gerbang's secret changed after it committed to it.
    Draw.objects.filter(pk=draw.pk).update(gerbang_secret="00" * 32)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_draw", draw.public_id, stdout=out)
    assert "FAIL Gerbang's secret matches its commitment" in out.getvalue()
    Draw.objects.filter(pk=draw.pk).update(gerbang_secret=draw.gerbang_secret)
    call_command("verify_draw", draw.public_id, stdout=io.StringIO())
    # Someone's choices rewritten after the reveal: the root no longer matches what the witness saw.
    changed = LotteryRequest.objects.filter(release=draw.release).first()
    assert changed is not None
    LotteryRequest.objects.filter(pk=changed.pk).update(choices=[*changed.choices, changed.choices[0] + "x"])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_draw", draw.public_id, stdout=out)
    assert "FAIL the root is the Merkle root of the published requests" in out.getvalue()


def test_the_witness_reveals_for_one_list_only(witness: WitnessService) -> None:
    draw = _drawn(witness)
    from gerbang.appointments import witness as witness_client
    from gerbang.audit.witness_client import WitnessUnavailable

    # Asking again for the same list gets the same secret; for another list, nothing.
    secret, _signature = witness_client.reveal(draw.public_id, draw.witness_commitment, draw.root, 3)
    assert secret == draw.witness_secret
    with pytest.raises(WitnessUnavailable, match="different list"):
        witness_client.reveal(draw.public_id, draw.witness_commitment, "ab" * 32, 4)


def test_a_cancelled_place_goes_to_the_first_on_the_waiting_list_who_wanted_it(witness: WitnessService) -> None:
    draw = _drawn(witness, count=4)  # two morning places, four requests for the morning
    allocated = list(Booking.objects.filter(request__release=draw.release, status="active"))
    waiting = list(LotteryRequest.objects.filter(release=draw.release, outcome="waiting").order_by("rank"))
    assert len(allocated) == 2 and len(waiting) == 2
    page = signed_in(allocated[0].application).post(
        f"/permohonan/{allocated[0].application.public_id}/jadwal/batal/", follow=True
    )
    assert b"cancelled" in page.content
    replacement = Booking.objects.get(status="active", source="waiting_list")
    assert replacement.request == waiting[0] and replacement.slot_id == allocated[0].slot_id
    slot = Slot.objects.get(pk=allocated[0].slot_id)
    assert slot.booked == 1
    assert allocated[0].application.bills.get().status == "cancelled"  # nothing left to pay for
    assert replacement.application.bills.get().status == "issued"
    # Neither the other winner nor the replacement pays: when their bills expire (after the grace for late
    # notifications), their slots go down the waiting list; the last one waiting gets one, one stays free.
    expire_bills(now=timezone.now() + dt.timedelta(days=3))
    assert Booking.objects.get(pk=allocated[1].pk).status == "cancelled"
    assert Booking.objects.get(pk=replacement.pk).status == "cancelled"
    second = Booking.objects.get(status="active", request=waiting[1])
    assert second.source == "waiting_list" and second.application.bills.filter(status="issued").count() == 1
    assert sum(Slot.objects.filter(pk__in=[a.slot_id for a in allocated]).values_list("booked", flat=True)) == 1


def test_first_come_first_served_fills_a_slot_exactly_once_per_person() -> None:
    office = build_office()
    head = office_head(office)
    slot, later = first_come_release(office, head, [dt.time(9), dt.time(10)], capacity=2)
    now = timezone.now()
    first, second, third = applications_at(office, 3)
    for application in (first, second):
        page = signed_in(application).post(f"/permohonan/{application.public_id}/jadwal/{slot.pk}/", follow=True)
        assert b"Your appointment is booked" in page.content
    full = signed_in(third).post(f"/permohonan/{third.public_id}/jadwal/{slot.pk}/", follow=True)
    assert b"This slot is full" in full.content
    slot.refresh_from_db()
    assert slot.booked == 2 and Booking.objects.filter(slot=slot, status="active").count() == 2
    bill = first.bills.get()  # first come: two hours to pay
    assert bill.expires_at - bill.issued_at == dt.timedelta(hours=2)
    twice = signed_in(first).post(f"/permohonan/{first.public_id}/jadwal/{later.pk}/", follow=True)
    assert b"already has an appointment" in twice.content
    later.refresh_from_db()
    assert later.booked == 0  # the place taken for the refused second booking was given back
    # The database itself refuses a second active booking for the same NIK, and an overbooked slot.
    with pytest.raises(IntegrityError), transaction.atomic():
        Booking.objects.create(
            slot=slot, application=third, applicant_nik=first.applicant_nik, source="first_come", created_at=now
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Slot.objects.filter(pk=slot.pk).update(booked=3)


def test_only_an_office_head_of_that_office_opens_slots_and_releases() -> None:
    office, other = build_office(), build_office()
    from django.http import Http404

    for actor in (office_head(other), office_head(office, Role.FRONT_DESK)):
        with pytest.raises(Http404):
            actions.create_slots(
                office=office, day=DAY, times=[dt.time(9)], capacity=1, priority_capacity=0, actor=actor
            )
    assert not Slot.objects.filter(office=office).exists()


def test_a_request_no_longer_wanted_at_the_draw_forfeits_its_place(witness: WitnessService) -> None:
    office = build_office()
    head = office_head(office)
    applications = applications_at(office, 3)
    release = lottery_release(office, head, closes_in=2)  # three places: everyone is allocated one
    for application in applications:
        actions.request_slot(
            application=application,
            release=release,
            choices=[f"{office.code}/{DAY}/am", f"{office.code}/{DAY}/pm"],
            actor=application.filer,
        )
    withdrawn, booked_elsewhere, wanted = applications
    from gerbang.applications import actions as application_actions

    application_actions.withdraw(withdrawn, actor=withdrawn.filer, reason="found another way")
    # Meanwhile the second applicant got an appointment by another route (set up directly).
    (elsewhere,) = actions.create_slots(
        office=office, day=DAY + dt.timedelta(days=1), times=[dt.time(9)], capacity=1, priority_capacity=0, actor=head
    )
    Booking.objects.create(
        slot=elsewhere,
        application=booked_elsewhere,
        applicant_nik=booked_elsewhere.applicant_nik,
        source="first_come",
        created_at=timezone.now(),
    )
    wait_until(release.window_closes_at)

    draw = actions.run_draw(release)  # never stuck on them, never a booking for a withdrawn application

    outcomes = dict(LotteryRequest.objects.filter(release=release).values_list("application_id", "outcome"))
    assert outcomes == {withdrawn.pk: "forfeited", booked_elsewhere.pk: "forfeited", wanted.pk: "allocated"}
    lottery_bookings = Booking.objects.filter(request__release=release)
    assert list(lottery_bookings.values_list("application_id", flat=True)) == [wanted.pk]
    assert not withdrawn.bills.exists()
    call_command("verify_draw", draw.public_id, stdout=io.StringIO())
