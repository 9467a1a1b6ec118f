"""What the applicant's status page says about their lottery request before and after the draw."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gerbang.accounts.actions import issue_api_token
from gerbang.appointments import actions
from gerbang.appointments.models import Booking, LotteryRequest
from gerbang.conftest import build_office

from .conftest import WitnessService
from .test_lottery import (
    DAY,
    applications_at,
    first_come_release,
    lottery_release,
    office_head,
    signed_in,
    wait_until,
)

pytestmark = pytest.mark.django_db


def _section(page: Any) -> str:
    html = page.content.decode()
    found = re.search(r'<section class="appointment">(.*?)</section>', html, re.S)
    assert found
    return found.group(1)


def test_the_status_page_shows_the_entered_draw_then_the_waiting_list_place(witness: WitnessService) -> None:
    office = build_office(timezone_name="Asia/Makassar")
    head = office_head(office)
    release = lottery_release(office, head, closes_in=4)
    applications = applications_at(office, 4)
    pm = f"{office.code}/{DAY.isoformat()}/pm"
    before = _section(signed_in(applications[0]).get(f"/permohonan/{applications[0].public_id}/"))
    # The choices read as days and parts of day; the closing time carries the office's zone (WITA).
    assert f'<option value="{pm}">' in before and "afternoon</option>" in before and "WITA" in before
    for application in applications:
        actions.request_slot(application=application, release=release, choices=[pm], actor=application.filer)
    entered = _section(signed_in(applications[0]).get(f"/permohonan/{applications[0].public_id}/"))
    assert "You are in the draw" in entered and "Enter the draw" not in entered and "afternoon" in entered
    wait_until(release.window_closes_at)
    actions.run_draw(release, now=timezone.now())
    waiting = LotteryRequest.objects.filter(release=release, outcome="waiting").order_by("rank")
    assert waiting.count() == 3
    for position, request in enumerate(waiting, start=1):
        page = _section(signed_in(request.application).get(f"/permohonan/{request.application.public_id}/"))
        assert f"You are number {position} on its waiting list (draw order {request.rank})" in page
        assert f"/undian/{release.draw.public_id}/" in page
        assert "No appointments are open" not in page


def test_a_full_slot_gives_the_next_free_time_of_that_part_of_day_when_the_applicant_agreed() -> None:
    office = build_office()
    head = office_head(office)
    nine, ten, one_pm = first_come_release(office, head, [dt.time(9), dt.time(10), dt.time(13)], capacity=1)
    first, second, third, fourth = applications_at(office, 4)
    page = signed_in(first).get(f"/permohonan/{first.public_id}/").content.decode()
    assert 'name="or_next" value="1"' in page
    signed_in(first).post(f"/permohonan/{first.public_id}/jadwal/{nine.pk}/", {"or_next": "1"})
    # Without agreeing to the next time: refused.
    exact = signed_in(second).post(f"/permohonan/{second.public_id}/jadwal/{nine.pk}/", follow=True)
    assert b"This slot is full" in exact.content
    moved = signed_in(second).post(f"/permohonan/{second.public_id}/jadwal/{nine.pk}/", {"or_next": "1"}, follow=True)
    assert b"booked at the nearest free time, 10:00" in moved.content
    assert Booking.objects.get(application=second, status="active").slot == ten
    # The morning is full now; the afternoon is another part of the day, never given instead.
    none_left = signed_in(third).post(f"/permohonan/{third.public_id}/jadwal/{nine.pk}/", {"or_next": "1"}, follow=True)
    assert b"others of that part of the day are full" in none_left.content
    assert not Booking.objects.filter(application=third).exists()
    # The API takes the same choice as a query parameter.
    token, _row = issue_api_token(fourth.filer)
    answer = Client().post(
        f"/api/v1/applications/{fourth.public_id}/appointment/slots/{nine.pk}?or_next=true",
        headers={"authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    one_pm.refresh_from_db()
    assert one_pm.booked == 0
