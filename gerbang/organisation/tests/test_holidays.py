"""Holidays: national ones for every office, an office's own, declared and removed with an audit trail.

The office head's calendar page is tested over HTTP; the actions and database constraints directly.
"""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.http import Http404
from django.test import Client
from django.utils import timezone, translation

from gerbang.accounts.models import Role
from gerbang.appointments import actions as appointment_actions
from gerbang.appointments.models import Booking, Release, Slot
from gerbang.appointments.selectors import release_capacity, release_slots
from gerbang.appointments.views import appointment_context
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, last_audit_id, staff_client
from gerbang.organisation import actions
from gerbang.organisation.models import Holiday, Office
from gerbang.organisation.selectors import holiday_days, holidays, is_holiday

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages of actions called directly, in English (Indonesian is the default language)."""
    with translation.override("en"):
        yield


NIKS = ["3173015708870101", "3173015708870102"]


def url(office: Office) -> str:
    return f"/staf/kantor/{office.code}/jadwal/"


def verified(role: Role, office: Office | None = None) -> Any:
    """A staff member past the second factor, for actions called directly (signing in is tested in accounts)."""
    user = build_staff(role, office=office)
    user.is_verified = lambda: True  # type: ignore[attr-defined]
    return user


def head_client(office: Office) -> Client:
    client = staff_client(build_staff(Role.OFFICE_HEAD, office=office))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def local_day(office: Office, days: int) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone)).date() + dt.timedelta(days=days)


def holiday_post(day: dt.date, name: str = "Hari jadi kantor") -> dict[str, str]:
    return {"form": "holiday", "holiday-day": day.isoformat(), "holiday-name": name}


def booked_first_come(office: Office, day: dt.date, nik: str = NIKS[0]) -> tuple[list[Slot], Booking]:
    """Two slots on ``day`` released first come; an applicant books the first one."""
    from gerbang.payments.tests.support import submitted_application

    head = verified(Role.OFFICE_HEAD, office)
    slots = appointment_actions.create_slots(
        office=office, day=day, times=[dt.time(9), dt.time(10)], capacity=2, priority_capacity=0, actor=head
    )
    now = timezone.now()
    appointment_actions.open_release(
        office=office,
        first_day=day,
        last_day=day,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(days=1),
        actor=head,
        mode=Release.Mode.FIRST_COME,
    )
    application, _no_bill = submitted_application(nik, bill=False)
    application.office = office
    application.save(update_fields=["office"])
    booking = appointment_actions.book_first_come(application=application, slot=slots[0], actor=application.filer)
    return slots, booking


def test_an_office_head_declares_and_removes_a_holiday_on_the_calendar_and_both_are_audited() -> None:
    office, elsewhere = build_office(), build_office()
    client = head_client(office)
    day = local_day(office, 20)
    mark = last_audit_id()
    assert "No holidays in the next 60 days." in client.get(url(office)).content.decode()

    page = client.post(url(office), holiday_post(day), follow=True)

    assert page.status_code == 200 and page.redirect_chain[-1][0] == url(office)
    text = page.content.decode()
    assert f"{day.isoformat()} is a holiday of this office: Hari jadi kantor." in text
    assert "Hari jadi kantor" in text and "this office" in text
    holiday = Holiday.objects.get()
    assert (holiday.office, holiday.day, holiday.name, holiday.declared_by) == (
        office,
        day,
        "Hari jadi kantor",
        page.wsgi_request.user,
    )
    assert is_holiday(office, day) and not is_holiday(elsewhere, day) and not is_holiday(office, day + dt.timedelta(1))
    event = AuditEvent.objects.get(id__gt=mark, action="organisation.holiday_declared")
    assert event.office_id == office.pk and event.object_id == str(holiday.pk)
    assert event.details == {"day": day.isoformat(), "name": "Hari jadi kantor", "national": False, "slots_removed": 0}

    removed = client.post(url(office), {"form": "remove_holiday", "holiday": holiday.pk}, follow=True)

    assert removed.status_code == 200
    assert f"{day.isoformat()} is no longer a holiday of this office." in removed.content.decode()
    assert not Holiday.objects.exists() and not is_holiday(office, day)
    event = AuditEvent.objects.get(id__gt=mark, action="organisation.holiday_removed")
    assert event.details == {"day": day.isoformat(), "name": "Hari jadi kantor", "national": False}
    assert event.actor_id == page.wsgi_request.user.pk


def test_holiday_form_errors_are_shown_and_change_nothing() -> None:
    office = build_office()
    client = head_client(office)
    mark = last_audit_id()
    past = client.post(url(office), holiday_post(local_day(office, -1)))
    unnamed = client.post(url(office), holiday_post(local_day(office, 3), name="   "))
    assert past.status_code == unnamed.status_code == 200
    assert "The day cannot be in the past." in past.content.decode()
    assert 'id="id_holiday-name_error"' in unnamed.content.decode()
    client.post(url(office), holiday_post(local_day(office, 3)))
    twice = client.post(url(office), holiday_post(local_day(office, 3), name="Lagi"))
    assert "This day is already a holiday." in twice.content.decode()
    assert Holiday.objects.count() == 1
    assert AuditEvent.objects.filter(id__gt=mark, action="organisation.holiday_declared").count() == 1


def test_only_the_head_of_that_office_manages_its_holidays() -> None:
    office, elsewhere = build_office(), build_office()
    day = local_day(office, 10)
    holiday = actions.declare_holiday(day=day, name="Libur", office=office, actor=verified(Role.OFFICE_HEAD, office))
    other_head = staff_client(build_staff(Role.OFFICE_HEAD, office=elsewhere))
    front_desk = staff_client(build_staff(Role.FRONT_DESK, office=office))
    admin = staff_client(build_staff(Role.SYSTEM_ADMIN))
    mark = last_audit_id()
    for client in (other_head, front_desk, admin):
        assert client.post(url(office), holiday_post(day + dt.timedelta(days=1))).status_code == 404
        assert client.post(url(office), {"form": "remove_holiday", "holiday": holiday.pk}).status_code == 404
    # Another office's holiday, or a national one, is not found from an office's own page either.
    national = actions.declare_holiday(
        day=day + dt.timedelta(days=2), name="Nasional", actor=verified(Role.SYSTEM_ADMIN)
    )
    assert other_head.post(url(elsewhere), {"form": "remove_holiday", "holiday": holiday.pk}).status_code == 404
    assert other_head.post(url(elsewhere), {"form": "remove_holiday", "holiday": national.pk}).status_code == 404
    assert other_head.post(url(elsewhere), {"form": "remove_holiday", "holiday": "x"}).status_code == 404
    assert Client().post(url(office), {"form": "remove_holiday", "holiday": holiday.pk}).status_code == 302
    assert set(Holiday.objects.values_list("pk", flat=True)) == {holiday.pk, national.pk}
    assert (
        not AuditEvent.objects.filter(id__gt=mark, action__startswith="organisation.holiday_")
        .exclude(object_id=str(national.pk))
        .exists()
    )


@pytest.mark.parametrize(
    ("role", "scope_office", "national", "allowed"),
    [
        (Role.OFFICE_HEAD, "own", False, True),
        (Role.OFFICE_HEAD, "other", False, False),
        (Role.OFFICE_HEAD, "own", True, False),
        (Role.FRONT_DESK, "own", False, False),
        (Role.REGIONAL_SUPERVISOR, None, True, False),
        (Role.SYSTEM_ADMIN, None, True, True),
        (Role.SYSTEM_ADMIN, None, False, False),
    ],
)
def test_permission_matrix_of_the_holiday_actions(
    role: Role, scope_office: str | None, national: bool, allowed: bool
) -> None:
    office, other = build_office(), build_office()
    actor = verified(role, {"own": office, "other": other, None: None}[scope_office])
    day = local_day(office, 9)
    target = None if national else office
    mark = last_audit_id()
    if not allowed:
        with pytest.raises(Http404):
            actions.declare_holiday(day=day, name="Libur", office=target, actor=actor)
        assert not Holiday.objects.exists()
        assert not AuditEvent.objects.filter(id__gt=mark).exists()
        existing = Holiday.objects.create(day=day, name="Libur", office=target, declared_at=timezone.now())
        with pytest.raises(Http404):
            actions.remove_holiday(existing, actor=actor)
        assert Holiday.objects.filter(pk=existing.pk).exists()
        return
    holiday = actions.declare_holiday(day=day, name="Libur", office=target, actor=actor)
    actions.remove_holiday(holiday, actor=actor)
    assert not Holiday.objects.exists()
    assert list(AuditEvent.objects.filter(id__gt=mark).order_by("id").values_list("action", "details__national")) == [
        ("organisation.holiday_declared", national),
        ("organisation.holiday_removed", national),
    ]
    # Anonymous is refused too.
    with pytest.raises(Http404):
        actions.declare_holiday(day=day, name="Libur", office=target, actor=None)  # type: ignore[arg-type]


def test_national_holidays_apply_to_every_office_and_an_office_holiday_to_that_office_only() -> None:
    jakarta, papua = build_office(), build_office(timezone_name="Asia/Jayapura")
    admin, head = verified(Role.SYSTEM_ADMIN), verified(Role.OFFICE_HEAD, jakarta)
    start = local_day(jakarta, 5)
    national = actions.declare_holiday(day=start + dt.timedelta(days=2), name="Hari Raya", actor=admin)
    own = actions.declare_holiday(day=start, name="Hari jadi", office=jakarta, actor=head)
    end = start + dt.timedelta(days=10)

    assert list(holidays(jakarta, start, end)) == [own, national]
    assert list(holidays(papua, start, end)) == [national]
    assert list(holidays(None, start, end)) == [national]
    assert holiday_days(jakarta, start, end) == {start, start + dt.timedelta(days=2)}
    assert holiday_days(papua, start, end) == {start + dt.timedelta(days=2)}
    assert is_holiday(papua, national.day) and is_holiday(jakarta, national.day)
    assert is_holiday(jakarta, own.day) and not is_holiday(papua, own.day) and not is_holiday(None, own.day)
    assert list(holidays(jakarta, start + dt.timedelta(days=3), end)) == []
    assert national.national and not own.national

    # An office holiday on a national holiday adds nothing: refused, with the national one's name.
    with pytest.raises(ValidationError, match="already a national holiday: Hari Raya"):
        actions.declare_holiday(day=national.day, name="Juga", office=jakarta, actor=head)
    with pytest.raises(ValidationError, match="already a holiday"):
        actions.declare_holiday(day=national.day, name="Lagi", actor=admin)
    # A national holiday on a day an office already has off is fine: each is removed on its own.
    both = actions.declare_holiday(day=own.day, name="Cuti bersama", actor=admin)
    actions.remove_holiday(own, actor=head)
    assert is_holiday(jakarta, own.day) and list(holidays(jakarta, own.day, own.day)) == [both]


def test_the_database_allows_one_national_and_one_office_holiday_a_day() -> None:
    office, other = build_office(), build_office()
    day = dt.date(2027, 8, 17)
    now = timezone.now()
    Holiday.objects.create(day=day, name="Hari Kemerdekaan", declared_at=now)
    Holiday.objects.create(day=day, name="Kantor", office=office, declared_at=now)
    Holiday.objects.create(day=day, name="Kantor lain", office=other, declared_at=now)
    for duplicate in ({"office": None}, {"office": office}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Holiday.objects.create(day=day, name="Lagi", declared_at=now, **duplicate)
    with pytest.raises(IntegrityError), transaction.atomic():
        Holiday.objects.create(day=day + dt.timedelta(days=1), name="", declared_at=now)
    assert Holiday.objects.count() == 3


def test_a_day_with_booked_appointments_cannot_become_a_holiday_until_they_are_gone() -> None:
    office = build_office()
    head, admin = verified(Role.OFFICE_HEAD, office), verified(Role.SYSTEM_ADMIN)
    day = local_day(office, 12)
    (booked_slot, free_slot), booking = booked_first_come(office, day)
    mark = last_audit_id()

    with pytest.raises(ValidationError) as refused:
        actions.declare_holiday(day=day, name="Libur", office=office, actor=head)
    assert refused.value.message_dict["day"] == [
        "1 appointment is booked on this day: move or cancel it before declaring a holiday."
    ]
    with pytest.raises(ValidationError, match=f"1 appointment is booked on this day \\({office.name}\\)"):
        actions.declare_holiday(day=day, name="Libur", actor=admin)
    # Shown on the calendar page, on the day field; nothing changed.
    page = head_client(office).post(url(office), holiday_post(day))
    assert 'id="id_holiday-day_error"' in page.content.decode()
    assert "move or cancel it before declaring a holiday" in page.content.decode()
    assert not Holiday.objects.exists() and Slot.objects.filter(office=office).count() == 2
    assert not AuditEvent.objects.filter(id__gt=mark, action="organisation.holiday_declared").exists()

    appointment_actions.cancel_booking(booking, actor=booking.application.filer)
    holiday = actions.declare_holiday(day=day, name="Libur", office=office, actor=head)

    # The slot never booked is removed; the one with a cancelled booking stays as history, never offered again.
    assert list(Slot.objects.filter(office=office)) == [booked_slot]
    assert not Slot.objects.filter(pk=free_slot.pk).exists()
    event = AuditEvent.objects.get(id__gt=mark, action="organisation.holiday_declared")
    assert event.details["slots_removed"] == 1 and event.object_id == str(holiday.pk)
    release = Release.objects.get(office=office)
    assert not release_slots(release).exists() and release_capacity(release) == {}
    application = booking.application
    assert appointment_context(application)["offers"][0]["slots"] == []  # type: ignore[index]
    with pytest.raises(ValidationError, match="holiday"):
        appointment_actions.book_first_come(application=application, slot=booked_slot, actor=application.filer)
    booked_slot.refresh_from_db()
    assert booked_slot.booked == 0 and not Booking.objects.filter(status="active").exists()


def test_a_national_holiday_removes_the_unbooked_slots_of_every_office() -> None:
    jakarta, papua = build_office(), build_office(timezone_name="Asia/Jayapura")
    day = local_day(papua, 15)
    for office in (jakarta, papua):
        appointment_actions.create_slots(
            office=office, day=day, times=[dt.time(9)], capacity=3, priority_capacity=1,
            actor=verified(Role.OFFICE_HEAD, office),
        )  # fmt: skip
    appointment_actions.create_slots(
        office=jakarta, day=day + dt.timedelta(days=1), times=[dt.time(9)], capacity=3, priority_capacity=1,
        actor=verified(Role.OFFICE_HEAD, jakarta),
    )  # fmt: skip
    mark = last_audit_id()
    actions.declare_holiday(day=day, name="Tahun Baru Islam", actor=verified(Role.SYSTEM_ADMIN))
    assert list(Slot.objects.values_list("day", flat=True)) == [day + dt.timedelta(days=1)]
    event = AuditEvent.objects.get(id__gt=mark, action="organisation.holiday_declared")
    assert event.office_id is None and event.details["national"] is True and event.details["slots_removed"] == 2


def test_no_slots_can_be_opened_on_a_holiday() -> None:
    office = build_office()
    head = verified(Role.OFFICE_HEAD, office)
    own, national = local_day(office, 8), local_day(office, 9)
    actions.declare_holiday(day=own, name="Libur kantor", office=office, actor=head)
    actions.declare_holiday(day=national, name="Hari Raya", actor=verified(Role.SYSTEM_ADMIN))
    client = head_client(office)
    mark = last_audit_id()
    for day in (own, national):
        page = client.post(
            url(office),
            {
                "form": "slots",
                "slots-day": day.isoformat(),
                "slots-times": "09:00",
                "slots-capacity": 5,
                "slots-priority_capacity": 1,
            },
        )
        text = page.content.decode()
        assert page.status_code == 200 and 'id="id_slots-day_error"' in text
        assert "This day is a holiday: no slots can be opened on it." in text
        with pytest.raises(ValidationError) as refused:
            appointment_actions.create_slots(
                office=office, day=day, times=[dt.time(9)], capacity=5, priority_capacity=1, actor=head
            )
        assert list(refused.value.message_dict) == ["day"]
    assert not Slot.objects.exists()
    assert not AuditEvent.objects.filter(id__gt=mark, action="appointments.slots_created").exists()


def test_the_calendar_lists_national_and_office_holidays_and_marks_slots_left_on_them() -> None:
    office = build_office()
    day = local_day(office, 6)
    (_kept, _free), booking = booked_first_come(office, day)
    appointment_actions.cancel_booking(booking, actor=booking.application.filer)
    actions.declare_holiday(day=day, name="Banjir", office=office, actor=verified(Role.OFFICE_HEAD, office))
    actions.declare_holiday(day=local_day(office, 7), name="Hari Lahir Pancasila", actor=verified(Role.SYSTEM_ADMIN))
    actions.declare_holiday(
        day=local_day(office, 90), name="Too far ahead", office=office, actor=verified(Role.OFFICE_HEAD, office)
    )
    text = head_client(office).get(url(office)).content.decode()
    assert "Banjir" in text and "Hari Lahir Pancasila" in text and "Too far ahead" not in text
    assert "the whole country (national)" in text and "this office" in text
    assert text.count('name="form" value="remove_holiday"') == 1  # national holidays are not removed here
    assert "Holiday (Banjir): these slots are not offered." in text
    assert "Declare a holiday of this office" in text
    elsewhere = build_office()
    other = head_client(elsewhere).get(url(elsewhere)).content.decode()
    assert "Hari Lahir Pancasila" in other and "Banjir" not in other and 'value="remove_holiday"' not in other


def write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("date,name\n" + "".join(f"{d},{n}\n" for d, n in rows), encoding="utf-8")
    return path


def test_national_holidays_are_loaded_from_a_file_idempotently_and_audited(tmp_path: Path) -> None:
    office = build_office()
    file = write_csv(tmp_path / "libur.csv", [("2027-08-17", "Hari Kemerdekaan"), ("2027-12-25", "Hari Raya Natal")])
    mark = last_audit_id()
    out = io.StringIO()
    call_command("load_holidays", str(file), stdout=out)
    assert "2 declared, 0 renamed, 0 unchanged" in out.getvalue()
    assert is_holiday(office, dt.date(2027, 8, 17)) and is_holiday(None, dt.date(2027, 12, 25))
    events = AuditEvent.objects.filter(id__gt=mark, action="organisation.holiday_declared")
    assert events.count() == 2 and all(e.details["source"] == "holiday file libur.csv" for e in events)
    assert all(e.actor_id is None for e in events)

    write_csv(file, [("2027-08-17", "Hari Kemerdekaan RI"), ("2027-12-25", "Hari Raya Natal")])
    out = io.StringIO()
    call_command("load_holidays", str(file), stdout=out)
    assert "0 declared, 1 renamed, 1 unchanged" in out.getvalue()
    assert Holiday.objects.get(day=dt.date(2027, 8, 17)).name == "Hari Kemerdekaan RI"
    assert AuditEvent.objects.filter(id__gt=mark, action="organisation.holiday_renamed").count() == 1

    bad = write_csv(tmp_path / "bad.csv", [("2027-01-01", "Tahun Baru"), ("17-08-2027", "Salah")])
    with pytest.raises(CommandError, match="Line 3"):
        call_command("load_holidays", str(bad), stdout=io.StringIO())
    assert not Holiday.objects.filter(day=dt.date(2027, 1, 1)).exists()  # one transaction: nothing loaded
    (tmp_path / "cols.csv").write_text("day,title\n2027-01-01,x\n", encoding="utf-8")
    with pytest.raises(CommandError, match="lacks columns"):
        call_command("load_holidays", str(tmp_path / "cols.csv"), stdout=io.StringIO())


def test_a_file_line_on_a_day_with_appointments_is_refused_with_its_line(tmp_path: Path) -> None:
    office = build_office()
    day = local_day(office, 11)
    booked_first_come(office, day)
    file = write_csv(tmp_path / "libur.csv", [(day.isoformat(), "Cuti bersama")])
    with pytest.raises(CommandError, match="Line 2: 1 appointment is booked on this day"):
        call_command("load_holidays", str(file), stdout=io.StringIO())
    assert not Holiday.objects.exists() and Slot.objects.filter(office=office).count() == 2


def test_the_demo_office_gets_one_example_holiday_once() -> None:
    from django.conf import settings as django_settings

    from gerbang.accounts.demo import DEMO_HOLIDAY_NAME, DEMO_OFFICE_NAME, seed_demo_holiday, seed_demo_people

    actions.load_offices(Path(django_settings.BASE_DIR) / "data" / "immigration_offices.csv")
    seed_demo_people()
    holiday = seed_demo_holiday()
    assert holiday is not None and holiday.name == DEMO_HOLIDAY_NAME
    assert holiday.office == Office.objects.get(name=DEMO_OFFICE_NAME) and holiday.declared_by is not None
    assert seed_demo_holiday() is None and Holiday.objects.count() == 1
