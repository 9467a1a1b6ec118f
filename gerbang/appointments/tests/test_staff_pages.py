"""The office head's appointment calendar, through HTTP: opening slots and releasing days (first come or lottery)."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.appointments import actions
from gerbang.appointments.models import Draw, Release, Slot
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, last_audit_id, staff_client
from gerbang.organisation.models import Office

from .conftest import WitnessService

pytestmark = pytest.mark.django_db

PAPUA = "Asia/Jayapura"  # UTC+9, two hours ahead of the server's Asia/Jakarta


def url(office: Office) -> str:
    return f"/staf/kantor/{office.code}/jadwal/"


def head_client(office: Office) -> Client:
    client = staff_client(build_staff(Role.OFFICE_HEAD, office=office))
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def local_day(office: Office, days: int = 0) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone)).date() + dt.timedelta(days=days)


def slots_post(day: dt.date, times: str = "09:00, 10:00, 13:30", capacity: Any = 20, priority: Any = 4) -> dict:
    return {
        "form": "slots",
        "slots-day": day.isoformat(),
        "slots-times": times,
        "slots-capacity": capacity,
        "slots-priority_capacity": priority,
    }


def release_post(first: dt.date, last: dt.date, mode: str, opens: dt.datetime, closes: dt.datetime) -> dict:
    return {
        "form": "release",
        "release-first_day": first.isoformat(),
        "release-last_day": last.isoformat(),
        "release-mode": mode,
        "release-window_opens_at": opens.strftime("%Y-%m-%dT%H:%M"),
        "release-window_closes_at": closes.strftime("%Y-%m-%dT%H:%M"),
    }


def office_now(office: Office) -> dt.datetime:
    """Now, as the office's wall clock shows it (what an office head types into a datetime-local input)."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(office.timezone)).replace(tzinfo=None, second=0, microsecond=0)


def test_only_the_head_of_that_office_sees_the_calendar() -> None:
    office, elsewhere = build_office(), build_office()
    other_head = staff_client(build_staff(Role.OFFICE_HEAD, office=elsewhere))
    front_desk = staff_client(build_staff(Role.FRONT_DESK, office=office))
    assert other_head.get(url(office)).status_code == 404
    assert other_head.post(url(office), slots_post(local_day(office, 7))).status_code == 404
    assert front_desk.get(url(office)).status_code == 404
    assert front_desk.post(url(office), slots_post(local_day(office, 7))).status_code == 404
    assert other_head.get(url(elsewhere)).status_code == 200
    assert not Slot.objects.exists()
    assert Client().get(url(office)).status_code == 302  # not signed in: to the staff sign-in


def test_an_office_without_slots_or_releases() -> None:
    office = build_office("Kantor Imigrasi Jayapura", timezone_name=PAPUA)
    page = head_client(office).get(url(office))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Kantor Imigrasi Jayapura" in text and PAPUA in text
    assert "No slots in this period yet." in text and "No releases yet." in text
    assert "csrfmiddlewaretoken" in text


def test_opening_slots_lists_them_in_office_time_and_is_audited() -> None:
    office = build_office(timezone_name=PAPUA)
    client = head_client(office)
    day = local_day(office, 10)
    mark = last_audit_id()

    page = client.post(url(office), slots_post(day, "13:30, 09:00, 10.00"), follow=True)

    assert page.status_code == 200 and page.redirect_chain[-1][0] == url(office)
    text = page.content.decode()
    assert "3 slots were created" in text
    papua = zoneinfo.ZoneInfo(PAPUA)
    slots = list(Slot.objects.filter(office=office).order_by("starts_at"))
    assert [s.starts_at for s in slots] == [dt.datetime.combine(day, t, papua) for t in (dt.time(9), dt.time(10))] + [
        dt.datetime.combine(day, dt.time(13, 30), papua)
    ]
    assert [s.part_of_day for s in slots] == ["am", "am", "pm"]
    assert all(s.capacity == 20 and s.priority_capacity == 4 for s in slots)
    # Listed in the office's time, not the server's (which would show 07:00, 08:00, 11:30).
    for shown in ("09:00", "10:00", "13:30", "Morning", "Afternoon"):
        assert shown in text
    assert "07:00" not in text and "11:30" not in text
    event = AuditEvent.objects.get(id__gt=mark, action="appointments.slots_created")
    assert event.details["day"] == day.isoformat() and len(event.details["times"]) == 3
    assert event.details["capacity"] == 20 and event.details["priority_capacity"] == 4

    again = client.post(url(office), slots_post(day, "09:00, 15:00"), follow=True)
    assert "1 slot was created" in again.content.decode()
    assert Slot.objects.filter(office=office).count() == 4


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"slots-times": "09:00, 25:00"}, "“25:00” is not a time"),
        ({"slots-times": "9am"}, "“9am” is not a time"),
        ({"slots-times": " , "}, "Give at least one time"),
        ({"slots-day": "PAST"}, "The day cannot be in the past."),
        ({"slots-priority_capacity": "21"}, "Priority places cannot exceed the places per slot."),
        ({"slots-capacity": "0"}, "greater than or equal to 1"),
        ({"slots-capacity": "501"}, "less than or equal to 500"),
        ({"slots-priority_capacity": "-1"}, "greater than or equal to 0"),
    ],
)
def test_bad_slot_input_is_shown_on_the_form_and_creates_nothing(change: dict, error: str) -> None:
    office = build_office()
    data = slots_post(local_day(office, 5), capacity=20, priority=4) | change
    if data["slots-day"] == "PAST":
        data["slots-day"] = local_day(office, -1).isoformat()
    mark = last_audit_id()

    page = head_client(office).post(url(office), data)

    assert page.status_code == 200
    assert error in page.content.decode()
    assert not Slot.objects.exists()
    assert not AuditEvent.objects.filter(id__gt=mark, action="appointments.slots_created").exists()


def test_a_first_come_release_is_listed_without_a_draw() -> None:
    office = build_office(timezone_name=PAPUA)
    client = head_client(office)
    day = local_day(office, 14)
    client.post(url(office), slots_post(day, "09:00"))
    opens, closes = office_now(office), office_now(office) + dt.timedelta(days=3)
    mark = last_audit_id()

    page = client.post(
        url(office), release_post(day, day + dt.timedelta(days=1), "first_come", opens, closes), follow=True
    )

    assert page.status_code == 200
    release = Release.objects.get(office=office)
    assert release.mode == Release.Mode.FIRST_COME and not Draw.objects.exists()
    # The request period was typed in the office's time.
    papua = zoneinfo.ZoneInfo(PAPUA)
    assert release.window_opens_at == opens.replace(tzinfo=papua)
    assert release.window_closes_at == closes.replace(tzinfo=papua)
    text = page.content.decode()
    assert "are released (First come, first served)" in text
    assert "First come, first served" in text and closes.strftime("%H:%M") in text
    assert "/undian/" not in text
    assert AuditEvent.objects.filter(id__gt=mark, action="appointments.release_opened").count() == 1


def test_a_lottery_release_links_to_its_public_draw(witness: WitnessService) -> None:
    office = build_office()
    client = head_client(office)
    day = local_day(office, 14)
    client.post(url(office), slots_post(day, "09:00, 13:00"))
    opens = office_now(office) - dt.timedelta(minutes=5)
    closes = office_now(office) + dt.timedelta(days=2)
    mark = last_audit_id()

    page = client.post(url(office), release_post(day, day, "lottery", opens, closes), follow=True)

    assert page.status_code == 200
    release = Release.objects.get(office=office)
    draw = Draw.objects.get(release=release)
    assert release.mode == Release.Mode.LOTTERY and draw.witness_commitment and draw.witness_commit_signature
    text = page.content.decode()
    assert "are released (Lottery)" in text
    assert f'href="/undian/{draw.public_id}/"' in text
    assert "Taking requests" in text
    event = AuditEvent.objects.get(id__gt=mark, action="appointments.release_opened")
    assert event.details["draw"] == draw.public_id
    assert Client().get(f"/undian/{draw.public_id}/").status_code == 200


def test_a_drawn_lottery_shows_its_requests_and_result_digest(witness: WitnessService) -> None:
    office = build_office()
    head = build_staff(Role.OFFICE_HEAD, office=office)
    head.is_verified = lambda: True  # type: ignore[attr-defined]  # for the actions called directly (set-up)
    day = local_day(office, 14)
    actions.create_slots(office=office, day=day, times=[dt.time(9)], capacity=2, priority_capacity=0, actor=head)
    now = timezone.now()
    release = actions.open_release(
        office=office,
        first_day=day,
        last_day=day,
        window_opens_at=now - dt.timedelta(minutes=1),
        window_closes_at=now + dt.timedelta(seconds=1),
        actor=head,
    )
    time.sleep(max(0.0, (release.window_closes_at - timezone.now()).total_seconds()) + 1.1)
    draw = actions.run_draw(release)

    client = staff_client(head)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    text = client.get(url(office)).content.decode()

    assert draw.result_digest and f"<code>{draw.result_digest[:12]}</code>" in text
    assert draw.result_digest not in text  # only its beginning
    assert "0 requests" in text and "Drawn" in text
    assert f'href="/undian/{draw.public_id}/"' in text


def test_without_the_witness_no_lottery_is_opened(settings: Any) -> None:
    settings.AUDIT_WITNESS_URL = "http://127.0.0.1:9"
    office = build_office()
    client = head_client(office)
    day = local_day(office, 14)
    client.post(url(office), slots_post(day, "09:00"))
    mark = last_audit_id()

    page = client.post(
        url(office),
        release_post(day, day, "lottery", office_now(office), office_now(office) + dt.timedelta(days=2)),
    )

    assert page.status_code == 200
    assert (
        "The witness cannot be reached; the lottery cannot be opened without its commitment." in page.content.decode()
    )
    assert not Release.objects.exists() and not Draw.objects.exists()
    assert not AuditEvent.objects.filter(id__gt=mark, action="appointments.release_opened").exists()


def test_release_errors_from_the_action_are_shown_on_their_fields() -> None:
    office = build_office()
    client = head_client(office)
    day = local_day(office, 14)
    now = office_now(office)

    backwards = client.post(
        url(office), release_post(day, day - dt.timedelta(days=1), "first_come", now, now + dt.timedelta(days=1))
    )
    ended = client.post(
        url(office), release_post(day, day, "first_come", now - dt.timedelta(days=2), now - dt.timedelta(days=1))
    )
    past = client.post(
        url(office), release_post(local_day(office, -1), day, "first_come", now, now + dt.timedelta(days=1))
    )

    assert backwards.status_code == ended.status_code == past.status_code == 200
    assert 'id="id_release-last_day_error"' in backwards.content.decode()
    assert "The last day cannot be before the first day." in backwards.content.decode()
    assert 'id="id_release-window_closes_at_error"' in ended.content.decode()
    assert "The first day cannot be in the past." in past.content.decode()
    assert not Release.objects.exists()


def test_posts_need_the_csrf_token() -> None:
    office = build_office()
    client = head_client(office)
    client.handler.enforce_csrf_checks = True
    assert client.post(url(office), slots_post(local_day(office, 3))).status_code == 403
    assert not Slot.objects.exists()
