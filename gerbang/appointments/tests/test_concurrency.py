"""Many people booking one slot at once over HTTP: never beyond its capacity, never two bookings per person."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client

from gerbang.appointments.models import Booking, Slot
from gerbang.conftest import build_office

from .test_lottery import applications_at, first_come_release, office_head

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_simultaneous_bookings_fill_a_slot_exactly_to_its_capacity() -> None:
    office = build_office()
    head = office_head(office)
    (slot,) = first_come_release(office, head, [dt.time(9)], capacity=3)
    applications = applications_at(office, 8)
    # Each person presses "Book" twice at once: sixteen requests for three places.
    attempts = [a for a in applications for _ in range(2)]
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = []

    def book(application: object) -> None:
        client = Client()
        client.force_login(application.filer)  # type: ignore[attr-defined]
        barrier.wait()
        try:
            answer = client.post(f"/permohonan/{application.public_id}/jadwal/{slot.pk}/")  # type: ignore[attr-defined]
            statuses.append(answer.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(a,)) for a in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert statuses == [302] * len(attempts)  # every answer a redirect with a message, never a 500
    slot = Slot.objects.get(pk=slot.pk)
    active = Booking.objects.filter(slot=slot, status="active")
    assert slot.booked == active.count() == 3
    assert len(set(active.values_list("applicant_nik", flat=True))) == 3
