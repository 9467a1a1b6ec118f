"""A division with two offices and their staff on duty, and a paid, checked-in application: the casework's stage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role, User
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking, Release, Slot
from gerbang.conftest import build_office, build_staff
from gerbang.duty.tests.support import counter, office_head, on_duty, serving, verified
from gerbang.organisation.models import Office
from gerbang.payments.tests.support import make_bank, notification, send, submitted_application
from gerbang.visits import actions as visits
from gerbang.visits.models import Visit

_niks = iter(f"3173015708{n:06d}" for n in range(870001, 999999))


def next_nik() -> str:
    # Women's birth day is +40: 57 -> 17 August; the serial varies.
    return next(_niks)


@dataclass
class Stage:
    home: Office  # the application's office
    other: Office  # another office of the same division
    staff: dict[str, User] = field(default_factory=dict)

    def officer(self, name: str) -> User:
        return verified(self.staff[name])


def two_offices(*, province_code: str = "32") -> Stage:
    """Office ``home`` with a verifier, an interviewer and an issuing officer serving at counters, a front desk
    and a locker attendant; office ``other`` with two adjudicators on duty; a regional supervisor."""
    home = build_office(province_code=province_code)
    other = build_office(province_code=province_code)
    stage = Stage(home, other)
    for name, role, office, at_counter in [
        ("verifier", Role.DOCUMENT_VERIFIER, home, True),
        ("interviewer", Role.INTERVIEWER, home, True),
        ("issuer", Role.ISSUING_OFFICER, home, True),
        ("front_desk", Role.FRONT_DESK, home, True),
        ("adjudicator", Role.ADJUDICATOR, other, False),
        ("reviewer", Role.ADJUDICATOR, other, False),
    ]:
        user = build_staff(role, office=office)
        shift = on_duty(user, office, role)
        if at_counter and role != Role.DOCUMENT_VERIFIER:
            serving(user, shift)
        stage.staff[name] = user
    stage.staff["supervisor"] = build_staff(Role.REGIONAL_SUPERVISOR, division=home.division)
    stage.staff["head"] = office_head(home)
    return stage


def paid_application(office: Office, settings: Any, tmp_path: Any, *, nik: str | None = None) -> PassportApplication:
    """Submitted, booked first come for today, paid at the sandbox bank through its signed notification."""
    application, _bill = submitted_application(nik or next_nik(), bill=False)
    PassportApplication.objects.filter(pk=application.pk).update(office=office)
    application.refresh_from_db()
    head = office_head(office)
    today = visits.office_today(office)
    appointments.create_slots(
        office=office, day=today, times=[dt.time(8)], capacity=50, priority_capacity=0, actor=head
    )
    slot = Slot.objects.filter(office=office, day=today).order_by("starts_at").first()
    assert slot is not None
    now = timezone.now()
    if not Release.objects.filter(office=office, status="open").exists():
        appointments.open_release(
            office=office,
            first_day=today,
            last_day=today,
            window_opens_at=now - dt.timedelta(hours=1),
            window_closes_at=now + dt.timedelta(hours=1),
            actor=head,
            mode=Release.Mode.FIRST_COME,
        )
    appointments.book_first_come(application=application, slot=slot, actor=application.filer)
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR, code=f"bank-{application.pk}")
    bill = application.bills.get(status="issued")
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "credited"}
    application.refresh_from_db()
    return application


def check_in(application: PassportApplication, front_desk: User) -> Visit:
    photo = visits.Photo(jpeg_bytes(320, 400), "jpg")
    return visits.check_in(
        booking=Booking.objects.get(application=application, status="active"),
        office=application.office,  # type: ignore[arg-type]
        actor=verified(front_desk),
        id_card_nik=application.applicant_nik,
        face_matches=True,
        registry_photo=photo,
        checkin_photo=photo,
    )


__all__ = ["Stage", "check_in", "counter", "next_nik", "paid_application", "two_offices"]
