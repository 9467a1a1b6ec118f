"""The appointment endpoints of the applicant API, as the mobile client uses them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gerbang.accounts.actions import issue_api_token
from gerbang.appointments import actions
from gerbang.appointments.models import Booking
from gerbang.conftest import build_office

from .conftest import WitnessService
from .test_lottery import DAY, applications_at, first_come_release, office_head, wait_until

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, application: Any) -> None:
        token, _row = issue_api_token(application.filer)
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
        self.base = f"/api/v1/applications/{application.public_id}/appointment"

    def get(self) -> Any:
        return self.client.get(self.base, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post(self.base + path, body or {}, "application/json", headers=self.headers)

    def delete(self) -> Any:
        return self.client.delete(self.base, headers=self.headers)


def test_book_a_first_come_slot_and_cancel_it_over_the_api() -> None:
    office = build_office()
    head = office_head(office)
    (slot,) = first_come_release(office, head, [dt.time(9)], capacity=1)
    first, second = applications_at(office, 2)
    api, other = Api(first), Api(second)
    offers = api.get().json()["offers"]
    assert [o["mode"] for o in offers] == ["first_come"] and offers[0]["slots"][0]["id"] == slot.pk
    booked = api.post(f"/slots/{slot.pk}")
    assert booked.status_code == 200 and booked.json()["booking"]["office"] == office.code
    full = other.post(f"/slots/{slot.pk}")
    assert full.status_code == 422 and "full" in full.content.decode()
    assert other.post("/slots/999999").status_code == 404
    assert other.delete().status_code == 404  # nothing to cancel
    cancelled = api.delete()
    assert cancelled.status_code == 200 and cancelled.json()["booking"] is None
    assert not Booking.objects.filter(status="active").filter(application=first).exists()
    # Someone else's application is not found, as if it did not exist.
    assert Client().get(api.base, headers=other.headers).status_code == 404


def test_enter_a_lottery_over_the_api(witness: WitnessService) -> None:
    office = build_office()
    head = office_head(office)
    actions.create_slots(office=office, day=DAY, times=[dt.time(9)], capacity=1, priority_capacity=0, actor=head)
    now = timezone.now()
    release = actions.open_release(
        office=office,
        first_day=DAY,
        last_day=DAY,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(seconds=2),
        actor=head,
    )
    (application,) = applications_at(office, 1)
    api = Api(application)
    offer = api.get().json()["offers"][0]
    assert offer["draw"] == release.draw.public_id and offer["groups"] == [f"{office.code}/{DAY}/am"]
    assert api.post(f"/lottery/{release.pk}", {"choices": ["nowhere/2026-01-01/am"]}).status_code == 422
    assert api.post(f"/lottery/{release.pk}", {"choices": []}).status_code == 422
    assert api.post(f"/lottery/{release.pk}", {"choices": offer["groups"]}).status_code == 200
    assert api.post(f"/lottery/{release.pk}", {"choices": offer["groups"]}).status_code == 422  # once per NIK
    wait_until(release.window_closes_at)
    actions.run_draw(release)
    assert api.get().json()["booking"]["source"] == "lottery"
