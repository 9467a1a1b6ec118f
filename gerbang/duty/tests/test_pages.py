"""The duty pages through HTTP: the roster, the device lockers, the counter officer's session, spot checks."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role, User
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, build_user, last_audit_id, staff_client
from gerbang.duty import actions
from gerbang.duty.models import CounterSession, DeviceDeposit, Locker, Shift, SpotCheck
from gerbang.organisation.models import Office

from .support import attendant, counter, office_head, on_duty, serving

pytestmark = [pytest.mark.django_db]

PAPUA = "Asia/Jayapura"  # UTC+9, two hours ahead of the server's Asia/Jakarta
SESSION_URL = "/staf/loket/sesi/"


def roster_url(office: Office) -> str:
    return f"/staf/kantor/{office.code}/jadwal-tugas/"


def lockers_url(office: Office) -> str:
    return f"/staf/kantor/{office.code}/loker/"


def spot_checks_url(office: Office) -> str:
    return f"/staf/kantor/{office.code}/sidak/"


def client_for(user: User) -> Client:
    client = staff_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def local_day(office: Office, days: int = 0) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone)).date() + dt.timedelta(days=days)


def plan_post(
    officer: Any, role: str, counter_id: Any, day: dt.date, *, starts: str = "08:00", ends: str = "16:00"
) -> dict:
    return {
        "form": "plan",
        "plan-officer": officer.pk if isinstance(officer, User) else officer,
        "plan-role": role,
        "plan-counter": counter_id,
        "plan-day": day.isoformat(),
        "plan-starts_at": starts,
        "plan-ends_at": ends,
    }


def text(page: Any) -> str:
    assert page.status_code == 200, page.status_code
    return str(page.content.decode())


def test_the_office_head_plans_a_shift_in_office_time_and_it_appears_on_the_roster() -> None:
    office = build_office(timezone_name=PAPUA)
    head = client_for(office_head(office))
    interviewer = build_staff(Role.INTERVIEWER, office=office)
    desk = counter(office, 3)
    day = local_day(office, 1)
    mark = last_audit_id()

    page = head.post(roster_url(office), plan_post(interviewer, Role.INTERVIEWER, desk.pk, day), follow=True)

    assert page.redirect_chain[-1][0] == f"{roster_url(office)}?day={day.isoformat()}"
    shift = Shift.objects.get(office=office, officer=interviewer)
    papua = zoneinfo.ZoneInfo(PAPUA)
    assert shift.starts_at == dt.datetime.combine(day, dt.time(8), papua)
    assert shift.ends_at == dt.datetime.combine(day, dt.time(16), papua)
    assert shift.counter == desk and shift.role == Role.INTERVIEWER and shift.planned_by is not None
    shown = text(page)
    assert f'id="shift-{shift.pk}"' in shown
    row = shown.split(f'id="shift-{shift.pk}"', 1)[1].split("</tr>", 1)[0]
    assert interviewer.full_name in row and "Interviewer / biometrics officer" in row
    # Listed in the office's time (Jakarta, the server's zone, would show 06:00-14:00).
    assert "08:00\N{EN DASH}16:00" in row and "06:00" not in row and "<td>3</td>" in row
    assert AuditEvent.objects.filter(id__gt=mark, action="duty.shift_planned", object_id=str(shift.pk)).exists()
    # A day that is not a date shows today's roster with the error; another day's roster does not list it.
    bad_day = text(head.get(roster_url(office), {"day": "2026-13-45"}))
    assert "Enter a valid date." in bad_day and f"Shifts on {local_day(office):%A} " in bad_day
    assert f'id="shift-{shift.pk}"' not in text(head.get(roster_url(office), {"day": local_day(office, 2).isoformat()}))


def test_cancelling_a_shift_needs_a_reason_and_takes_it_off_the_roster() -> None:
    office = build_office()
    head = client_for(office_head(office))
    officer = build_staff(Role.FRONT_DESK, office=office)
    shift = on_duty(officer, office, Role.FRONT_DESK)
    post = {"form": "cancel", "cancel-shift": shift.pk, "cancel-reason": "  "}

    refused = text(head.post(roster_url(office), post))
    assert "Give the reason for cancelling this shift." in refused
    shift.refresh_from_db()
    assert shift.cancelled_at is None
    unknown = text(head.post(roster_url(office), {**post, "cancel-shift": "x1", "cancel-reason": "sick"}))
    assert "This shift is not on the roster (any more)." in unknown

    page = head.post(roster_url(office), {**post, "cancel-reason": "sick"}, follow=True)
    shift.refresh_from_db()
    assert shift.cancelled_at is not None
    shown = text(page)
    assert f'id="shift-{shift.pk}"' not in shown and "Nobody is on the roster on this day." in shown
    event = AuditEvent.objects.get(action="duty.shift_cancelled", object_id=str(shift.pk))
    assert event.details["reason"] == "sick"


def test_the_roster_shows_who_has_devices_in_a_locker_and_a_session_open() -> None:
    office = build_office()
    head = client_for(office_head(office))
    at_counter = build_staff(Role.FRONT_DESK, office=office)
    waiting = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    serving_shift = on_duty(at_counter, office, Role.FRONT_DESK)
    serving(at_counter, serving_shift)
    idle_shift = on_duty(waiting, office, Role.DOCUMENT_VERIFIER)

    shown = text(head.get(roster_url(office)))

    busy_row = shown.split(f'id="shift-{serving_shift.pk}"', 1)[1].split("</tr>", 1)[0]
    idle_row = shown.split(f'id="shift-{idle_shift.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "<td>yes</td>" in busy_row and "<td>open</td>" in busy_row and "on duty now" in busy_row
    assert "<td>no</td>" in idle_row and "<td>none</td>" in idle_row


def test_a_refused_plan_shows_the_error_beside_the_field() -> None:
    office = build_office()
    head = client_for(office_head(office))
    front_desk = build_staff(Role.FRONT_DESK, office=office)
    desk = counter(office, 1)
    day = local_day(office, 1)

    cases = [
        # The officer holds another role than the one planned: the action refuses, on the officer field.
        (plan_post(front_desk, Role.INTERVIEWER, desk.pk, day), "This officer does not hold that role at this office."),
        (plan_post(front_desk, Role.FRONT_DESK, "", day), "Choose the counter for this shift."),
        (
            plan_post(front_desk, Role.FRONT_DESK, desk.pk, day, starts="16:00", ends="08:00"),
            "The shift must end after it starts.",
        ),
        (
            plan_post(front_desk, Role.FRONT_DESK, desk.pk, day, starts="08:00", ends="08:00"),
            "The shift must end after it starts.",
        ),
        (plan_post("abc", Role.FRONT_DESK, desk.pk, day), "Select a valid choice."),
        (plan_post(front_desk, Role.FRONT_DESK, "1x", day), "Select a valid choice."),
        (plan_post(front_desk, Role.FRONT_DESK, 999_999, day), "Select a valid choice."),
        (plan_post(front_desk, Role.OFFICE_HEAD, "", day), "Select a valid choice."),
        (plan_post(front_desk, Role.FRONT_DESK, desk.pk, day, starts="25:00"), "Enter a valid time."),
        (plan_post(front_desk, Role.FRONT_DESK, desk.pk, local_day(office, -1)), "This shift is already over."),
    ]
    for post, message in cases:
        shown = text(head.post(roster_url(office), post))
        assert message in shown, (post, message)
        assert 'class="error-summary"' in shown
    assert not Shift.objects.exists()


def test_only_the_office_head_plans_and_viewers_only_read() -> None:
    office, elsewhere = build_office(), build_office()
    officer = build_staff(Role.FRONT_DESK, office=office)
    post = plan_post(officer, Role.FRONT_DESK, counter(office).pk, local_day(office, 1))
    # A locker attendant of the office may read the roster (VIEW_DUTY), not plan.
    keeper = client_for(attendant(office))
    shown = text(keeper.get(roster_url(office)))
    assert "Plan a shift" not in shown and "csrfmiddlewaretoken" not in shown.split("<main>", 1)[1]
    assert keeper.post(roster_url(office), post).status_code == 404
    assert client_for(office_head(elsewhere)).post(roster_url(office), post).status_code == 404
    assert not Shift.objects.exists()
    assert "Plan a shift" in text(client_for(office_head(office)).get(roster_url(office)))


def test_each_page_is_not_found_without_its_permission() -> None:
    office, elsewhere = build_office(), build_office()
    counter_officer = client_for(build_staff(Role.FRONT_DESK, office=office))
    finance = client_for(build_staff(Role.FINANCE_OFFICER, office=office))
    other_head = client_for(office_head(elsewhere))
    for url in (roster_url(office), lockers_url(office), spot_checks_url(office)):
        assert counter_officer.get(url).status_code == 404, url
        assert finance.get(url).status_code == 404, url
        assert other_head.get(url).status_code == 404, url
        assert Client().get(url).status_code == 302, url  # not signed in: to the staff sign-in
    assert other_head.get(roster_url(elsewhere)).status_code == 200
    assert client_for(office_head(office)).get("/staf/kantor/no-such-office/jadwal-tugas/").status_code == 404
    # The counter session page is for counter roles (SERVE_QUEUE) anywhere.
    assert finance.get(SESSION_URL).status_code == 404
    assert client_for(office_head(office)).get(SESSION_URL).status_code == 404
    assert (
        client_for(attendant(office)).post(SESSION_URL, {"form": "open", "counter": counter(office).pk}).status_code
        == 404
    )
    assert counter_officer.get(SESSION_URL).status_code == 200
    # Spot checks: office heads, regional supervisors and auditors; not the locker attendant.
    assert client_for(attendant(office)).get(spot_checks_url(office)).status_code == 404
    assert (
        client_for(build_staff(Role.REGIONAL_SUPERVISOR, division=office.division))
        .get(spot_checks_url(office))
        .status_code
        == 200
    )
    # An applicant account never reaches a staff page.
    applicant = Client()
    applicant.force_login(build_user())
    assert applicant.get(roster_url(office)).status_code == 302


def test_the_attendant_records_a_deposit_and_a_return_and_the_head_numbers_the_lockers() -> None:
    office = build_office()
    head = client_for(office_head(office))
    keeper_user = attendant(office)
    keeper = client_for(keeper_user)
    officer = build_staff(Role.INTERVIEWER, office=office)

    assert "This office has no lockers yet." in text(keeper.get(lockers_url(office)))
    assert "Set the number of lockers" not in text(keeper.get(lockers_url(office)))
    assert keeper.post(lockers_url(office), {"form": "count", "count-count": 3}).status_code == 404
    assert text(head.post(lockers_url(office), {"form": "count", "count-count": 0}))
    page = head.post(lockers_url(office), {"form": "count", "count-count": 3}, follow=True)
    assert "The office has 3 lockers." in text(page)
    lockers = list(Locker.objects.filter(office=office).order_by("number"))
    assert [x.number for x in lockers] == [1, 2, 3]
    # The office head holds no ATTEND_LOCKERS: no deposit by them.
    deposit_post = {"form": "deposit", "deposit-locker": lockers[1].pk, "deposit-officer": officer.pk}
    assert head.post(lockers_url(office), {**deposit_post, "deposit-devices": "phone"}).status_code == 404
    mark = last_audit_id()

    page = keeper.post(lockers_url(office), {**deposit_post, "deposit-devices": "phone,  smartwatch"}, follow=True)

    deposit = DeviceDeposit.objects.get(officer=officer, returned_at__isnull=True)
    assert deposit.locker == lockers[1] and deposit.attendant == keeper_user and deposit.devices == "phone, smartwatch"
    shown = text(page)
    row = shown.split('id="locker-2"', 1)[1].split("</tr>", 1)[0]
    assert officer.full_name in row and "phone, smartwatch" in row and keeper_user.full_name in row
    assert AuditEvent.objects.filter(id__gt=mark, action="duty.devices_deposited").count() == 1
    # A second deposit of the same officer is refused with the action's message.
    again = text(
        keeper.post(lockers_url(office), {**deposit_post, "deposit-locker": lockers[0].pk, "deposit-devices": "x"})
    )
    assert "devices are already in a locker." in again

    page = keeper.post(lockers_url(office), {"form": "return", "return-deposit": deposit.pk}, follow=True)

    deposit.refresh_from_db()
    assert deposit.returned_at is not None and deposit.return_attendant == keeper_user
    shown = text(page)
    assert "were returned" in shown and officer.full_name not in shown.split('id="locker-2"', 1)[1].split("</tr>")[0]
    assert AuditEvent.objects.filter(id__gt=mark, action="duty.devices_returned").count() == 1
    # Returning again: the deposit is no longer active, a form error and nothing audited.
    twice = text(keeper.post(lockers_url(office), {"form": "return", "return-deposit": deposit.pk}))
    assert "not in a locker of this office" in twice
    assert AuditEvent.objects.filter(id__gt=mark, action="duty.devices_returned").count() == 1


def test_bad_input_on_the_lockers_page_is_a_form_error() -> None:
    office, elsewhere = build_office(), build_office()
    lockers = actions.ensure_lockers(office, 2, actor=office_head(office))
    foreign = actions.ensure_lockers(elsewhere, 1, actor=office_head(elsewhere))[0]
    keeper = client_for(attendant(office))
    officer = build_staff(Role.FRONT_DESK, office=office)
    base = {
        "form": "deposit",
        "deposit-locker": lockers[0].pk,
        "deposit-officer": officer.pk,
        "deposit-devices": "phone",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"deposit-locker": 999_999}, "Select a valid choice."),
        ({"deposit-locker": "abc"}, "Select a valid choice."),
        ({"deposit-locker": foreign.pk}, "Select a valid choice."),
        ({"deposit-officer": "1; DROP"}, "Select a valid choice."),
        ({"deposit-devices": "   "}, "This field is required."),
    ]
    for changes, message in cases:
        assert message in text(keeper.post(lockers_url(office), {**base, **changes})), changes
    for value in ("abc", "999999", "-1", "9" * 30):
        assert "not in a locker of this office" in text(
            keeper.post(lockers_url(office), {"form": "return", "return-deposit": value})
        )
    assert keeper.post(lockers_url(office), {"form": "bogus"}).status_code == 404
    assert not DeviceDeposit.objects.exists()


def test_the_officer_opens_a_counter_session_only_after_the_deposit_then_closes_it() -> None:
    office = build_office()
    officer_user = build_staff(Role.INTERVIEWER, office=office)
    officer = client_for(officer_user)
    desk = counter(office, 2)
    shift = on_duty(officer_user, office, Role.INTERVIEWER, at_counter=desk)
    lockers = actions.ensure_lockers(office, 2, actor=office_head(office))
    open_post = {"form": "open", "counter": desk.pk}

    shown = text(officer.get(SESSION_URL))
    assert f'id="shift-{shift.pk}"' in shown and "Open my session at this counter" in shown
    assert "Your devices are not in a locker." in shown
    mark = last_audit_id()

    refused = text(officer.post(SESSION_URL, open_post))

    assert "Put your devices in a locker first" in refused and 'class="error-summary"' in refused
    assert not CounterSession.objects.exists()
    event = AuditEvent.objects.get(id__gt=mark, action="duty.counter_session_refused")
    assert event.details["reason"] == "no_deposit"

    keeper = client_for(attendant(office))
    deposit_post = {"form": "deposit", "deposit-locker": lockers[0].pk, "deposit-officer": officer_user.pk}
    assert keeper.post(lockers_url(office), {**deposit_post, "deposit-devices": "phone"}).status_code == 302

    page = officer.post(SESSION_URL, open_post, follow=True)

    session = CounterSession.objects.get(officer=officer_user, closed_at__isnull=True)
    assert session.counter == desk and session.shift == shift
    shown = text(page)
    assert page.redirect_chain[-1][0] == SESSION_URL
    assert f'href="/staf/loket/{desk.pk}/antrean/"' in shown and "is open" in shown
    assert "Open my session at this counter" not in shown
    assert AuditEvent.objects.filter(id__gt=mark, action="duty.counter_session_opened").count() == 1

    page = officer.post(SESSION_URL, {"form": "close", "session": session.pk}, follow=True)

    session.refresh_from_db()
    assert session.closed_at is not None and session.closed_because == CounterSession.Closed.BY_OFFICER
    assert "You have no counter session open." in text(page)
    assert "not open (any more)" in text(officer.post(SESSION_URL, {"form": "close", "session": session.pk}))


def test_opening_at_a_counter_off_the_shift_or_with_bad_ids_is_refused_on_the_page() -> None:
    office, elsewhere = build_office(), build_office()
    officer_user = build_staff(Role.FRONT_DESK, office=office)
    officer = client_for(officer_user)
    shift = on_duty(officer_user, office, Role.FRONT_DESK, at_counter=counter(office, 1))
    serving_elsewhere = counter(office, 2)
    mark = last_audit_id()

    refused = text(officer.post(SESSION_URL, {"form": "open", "counter": serving_elsewhere.pk}))

    assert "You are not on the roster for this counter now." in refused
    event = AuditEvent.objects.get(id__gt=mark, action="duty.counter_session_refused")
    assert event.details["reason"] == "no_shift"
    for value in ("abc", "", "999999", str(counter(elsewhere, 1).pk)):
        shown = text(officer.post(SESSION_URL, {"form": "open", "counter": value}))
        assert 'class="error-summary"' in shown, value
    for value in ("abc", "999999"):
        assert "not open (any more)" in text(officer.post(SESSION_URL, {"form": "close", "session": value}))
    assert not CounterSession.objects.exists() and shift.sessions.count() == 0


def test_a_spot_check_recorded_on_the_page_shows_in_the_list_adverse_ones_marked() -> None:
    office = build_office(timezone_name=PAPUA)
    head_user = office_head(office)
    head = client_for(head_user)
    officer = build_staff(Role.FRONT_DESK, office=office)
    desk = counter(office, 4)
    papua = zoneinfo.ZoneInfo(PAPUA)
    local_now = timezone.now().astimezone(papua).replace(second=0, microsecond=0)
    checked = local_now - dt.timedelta(minutes=30)
    post = {
        "officer": officer.pk,
        "counter": desk.pk,
        "finding": SpotCheck.Finding.PHONE_AT_DESK,
        "note": "A phone under the keyboard.",
        "checked_at": checked.strftime("%Y-%m-%dT%H:%M"),
    }
    form = text(head.get(spot_checks_url(office)))
    assert "No spot checks at this office yet." in form
    assert f'value="{local_now.strftime("%Y-%m-%dT%H")}' in form  # the time defaults to now, office time

    page = head.post(spot_checks_url(office), post, follow=True)

    check = SpotCheck.objects.get(office=office, officer=officer)
    assert check.checked_at == checked and check.supervisor == head_user and check.counter == desk
    shown = text(page)
    row = shown.split(f'id="spot-check-{check.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'class="adverse warning"' in row and "Adverse:" in row
    assert "A phone or other device at the desk" in row and officer.full_name in row
    assert checked.strftime("%H:%M") in row  # office time
    assert AuditEvent.objects.filter(action="duty.spot_check_recorded", object_id=str(check.pk)).exists()

    clean = head.post(spot_checks_url(office), {**post, "finding": SpotCheck.Finding.CLEAN, "note": ""}, follow=True)
    clean_check = SpotCheck.objects.filter(office=office).exclude(pk=check.pk).get()
    row = text(clean).split(f'id="spot-check-{clean_check.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "adverse" not in row and "Nothing found" in row


def test_bad_spot_checks_are_form_errors() -> None:
    office = build_office()
    head_user = office_head(office)
    head = client_for(head_user)
    officer = build_staff(Role.FRONT_DESK, office=office)
    now = timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone))
    base = {"officer": officer.pk, "finding": "clean", "checked_at": now.strftime("%Y-%m-%dT%H:%M")}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"finding": "other", "note": ""}, "Describe what was found."),
        ({"finding": "bribe"}, "Select a valid choice."),
        ({"officer": "abc"}, "Select a valid choice."),
        ({"officer": head_user.pk}, "A spot check is of someone else."),
        ({"counter": counter(build_office()).pk}, "Select a valid choice."),
        ({"checked_at": "yesterday"}, "Enter a valid date/time."),
        ({"checked_at": (now - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")}, "on the day it happened"),
        ({"checked_at": (now + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")}, "on the day it happened"),
    ]
    for changes, message in cases:
        shown = text(head.post(spot_checks_url(office), {**base, **changes}))
        assert message in shown, changes
    assert not SpotCheck.objects.exists()
