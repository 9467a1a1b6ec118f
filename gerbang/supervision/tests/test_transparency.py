"""The public transparency pages and open data, on a small dataset built row by row: figures, never people."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import zoneinfo
from typing import Any

import pytest
from django.test import Client

from gerbang.applications.models import PassportApplication, Step
from gerbang.appointments.models import Booking, Draw, Release, Slot
from gerbang.conftest import build_office, build_user
from gerbang.organisation.models import Office
from gerbang.organisation.selectors import office_today
from gerbang.supervision.models import Report
from gerbang.supervision.transparency import COLUMN_KEYS, Month, last_full_months

pytestmark = pytest.mark.django_db

SECRET_NAME = "Rahasia Sekali Pemohon"
_niks = itertools.count(3173015708990001)
_codes = itertools.count(1)


def _at(office: Office, day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=zoneinfo.ZoneInfo(office.timezone))


def _application(office: Office) -> PassportApplication:
    n = next(_niks)
    return PassportApplication.objects.create(
        filer=build_user(full_name=SECRET_NAME),
        applicant_nik=str(n),
        applicant_name=SECRET_NAME,
        applicant_birth_date=dt.date(1990, 1, 1),
        applicant_sex="F",
        kind="renewal",
        office=office,
        status="handed_over",
        reference=f"PAS{n % 10**12:012d}",
    )


def _issued(office: Office, *, issued_on: dt.date, days: int, to: str = "handed_over") -> PassportApplication:
    """Timeline rows: paid ``days`` days before the passport reached the applicant."""
    application = _application(office)
    issued = _at(office, issued_on)
    steps = [("pay", "submitted", "paid", issued - dt.timedelta(days=days)), ("print", "approved", "printed", issued)]
    steps.append(("hand_over" if to == "handed_over" else "post", "printed", to, issued))
    for action, before, after, at in steps:
        Step.objects.create(application=application, action=action, from_status=before, to_status=after, at=at)
    return application


def _report(office: Office, received: dt.datetime, closed: dt.datetime | None = None) -> Report:
    return Report.objects.create(
        code=f"LPR-TEST-{next(_codes)}",
        office=office,
        category="levy",
        text=f"{SECRET_NAME} was asked for money",
        level="division",
        division=office.division,
        received_at=received,
        answer_due=received + dt.timedelta(days=3),
        close_due=received + dt.timedelta(days=5),
        closed_at=closed,
        status="closed" if closed else "received",
    )


def _dataset() -> dict[str, Any]:
    office = build_office("Kantor Imigrasi Terbuka")
    other = build_office("Kantor Imigrasi Lain")
    months = last_full_months(3, office_today(office))
    last, before = months[-1], months[-2]
    # Passports: 2, 5 and 9 days last month (median 5), 7 days the month before; a printed one not counted.
    for days in (2, 9):
        _issued(office, issued_on=last.first + dt.timedelta(days=19), days=days)
    _issued(office, issued_on=last.first + dt.timedelta(days=20), days=5, to="posted")
    _issued(office, issued_on=before.first + dt.timedelta(days=10), days=7)
    printed = _application(office)
    Step.objects.create(
        application=printed, action="print", from_status="approved", to_status="printed", at=_at(office, last.first)
    )
    _issued(other, issued_on=last.first + dt.timedelta(days=3), days=30)
    # Slots: day 1 released (10 places, 2 holding a place; a cancelled booking does not count), day 2 not released.
    day1, day2 = last.first + dt.timedelta(days=4), last.first + dt.timedelta(days=5)
    release = Release.objects.create(
        office=office,
        first_day=day1,
        last_day=day1,
        window_opens_at=_at(office, last.first, 8),
        window_closes_at=_at(office, last.first, 16),
        status="drawn",
        created_at=_at(office, last.first, 7),
    )
    slot1 = Slot.objects.create(office=office, starts_at=_at(office, day1, 8), day=day1, part_of_day="am", capacity=10)
    Slot.objects.create(office=office, starts_at=_at(office, day2, 8), day=day2, part_of_day="am", capacity=6)
    for status in ("active", "attended", "cancelled"):
        application = _application(office)
        Booking.objects.create(
            slot=slot1,
            application=application,
            applicant_nik=application.applicant_nik,
            source="lottery",
            status=status,
            created_at=_at(office, last.first, 17),
            checked_in_at=_at(office, day1, 8) if status == "attended" else None,
            cancelled_at=_at(office, day1, 7) if status == "cancelled" else None,
        )
    draw = Draw.objects.create(
        release=release,
        public_id="draw-test-0001",
        gerbang_commitment="a" * 64,
        gerbang_secret="b" * 64,
        witness_commitment="c" * 64,
        witness_commit_signature="sig",
        root="d" * 64,
        request_count=12,
        witness_secret="e" * 64,
        result_digest="f" * 64,
        drawn_at=_at(office, last.first, 17),
    )
    # Complaints: three received last month, one of them closed last month; one about the other office.
    for n in range(3):
        received = _at(office, last.first + dt.timedelta(days=n))
        _report(office, received, received + dt.timedelta(days=2) if n == 0 else None)
    _report(other, _at(other, last.first))
    return {"office": office, "other": other, "last": last, "before": before, "draw": draw}


def _no_people(text: str) -> None:
    assert SECRET_NAME not in text
    assert "31730157089900" not in text  # no NIK
    assert re.search(r"PAS\d", text) is None  # no reference number
    assert "@example" not in text  # no e-mail address


def _month(rows: list[dict[str, Any]], month: Month) -> dict[str, Any]:
    return next(row for row in rows if row["month"] == month.key)


def test_the_office_figures_in_json_csv_and_on_the_page() -> None:
    data = _dataset()
    office, last, before = data["office"], data["last"], data["before"]
    client = Client(headers={"accept-language": "en"})

    answer = client.get(f"/transparansi/{office.code}.json")
    assert answer.status_code == 200 and "max-age=" in answer["Cache-Control"]
    _no_people(answer.content.decode())
    body = answer.json()
    assert "free to reuse" in body["licence"].lower() and set(body["columns"]) == set(COLUMN_KEYS)
    assert body["office"]["code"] == office.code and len(body["office"]["months"]) == 12
    months = body["office"]["months"]
    figures = _month(months, last)
    assert figures["passports_issued"] == 3 and figures["median_days_to_issue"] == 5.0
    assert figures["places_released"] == 10 and figures["places_booked"] == 2
    assert figures["lottery_draws"] == 1 and figures["draw_ids"] == "draw-test-0001"
    [draw] = figures["draws"]
    assert draw["id"] == "draw-test-0001" and draw["requests"] == 12
    assert draw["url"].endswith("/undian/draw-test-0001/")
    assert figures["complaints_received"] == 3 and figures["complaints_closed"] == 1
    assert figures["visas_issued"] == 0 and figures["visa_median_days_to_issue"] is None
    earlier = _month(months, before)
    assert earlier["passports_issued"] == 1 and earlier["median_days_to_issue"] == 7.0
    assert earlier["places_released"] == 0 and earlier["complaints_received"] == 0

    sheet = client.get(f"/transparansi/{office.code}.csv")
    assert sheet.status_code == 200 and sheet["Content-Type"].startswith("text/csv")
    _no_people(sheet.content.decode())
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode())))
    assert list(rows[0]) == COLUMN_KEYS and len(rows) == 12
    row = next(r for r in rows if r["month"] == last.key)
    assert row["office_code"] == office.code and row["median_days_to_issue"] == "5.0"
    assert (row["places_released"], row["places_booked"], row["lottery_draws"]) == ("10", "2", "1")
    assert (row["complaints_received"], row["complaints_closed"]) == ("3", "1")
    assert next(r for r in rows if r["month"] == before.key)["median_days_to_issue"] == "7.0"
    assert rows[0]["median_days_to_issue"] == ""  # nothing issued: an empty cell

    page = client.get(f"/transparansi/{office.code}/")
    assert page.status_code == 200 and "max-age=" in page["Cache-Control"]
    html = page.content.decode()
    _no_people(html)
    assert 'href="/undian/draw-test-0001/"' in html
    assert f'id="month-{last.key}"' in html and "5.0" in html
    assert "median_days_to_issue" in html  # the columns are explained on the page
    assert f'href="/transparansi/{office.code}.csv"' in html and f'href="/transparansi/{office.code}.json"' in html


def test_all_offices_index_and_open_data() -> None:
    data = _dataset()
    office, other, last = data["office"], data["other"], data["last"]
    client = Client(headers={"accept-language": "en"})

    page = client.get("/transparansi/")
    assert page.status_code == 200
    html = page.content.decode()
    _no_people(html)
    assert f'href="/transparansi/{office.code}/"' in html and f'href="/transparansi/{other.code}/"' in html
    assert 'href="/transparansi/data.csv"' in html and 'href="/transparansi/data.json"' in html
    assert "2 / 10" in html and "3 / 1" in html and "5.0" in html

    everything = client.get("/transparansi/data.json")
    assert everything.status_code == 200
    _no_people(everything.content.decode())
    offices = {o["code"]: o for o in everything.json()["offices"]}
    assert _month(offices[office.code]["months"], last)["median_days_to_issue"] == 5.0
    theirs = _month(offices[other.code]["months"], last)
    assert theirs["median_days_to_issue"] == 30.0 and theirs["complaints_received"] == 1
    assert theirs["places_released"] == 0 and theirs["lottery_draws"] == 0

    sheet = client.get("/transparansi/data.csv")
    assert sheet.status_code == 200
    _no_people(sheet.content.decode())
    rows = list(csv.DictReader(io.StringIO(sheet.content.decode())))
    mine = [r for r in rows if r["office_code"] == office.code]
    assert len(mine) == 12 and {r["office_code"] for r in rows} >= {office.code, other.code}
    assert next(r for r in mine if r["month"] == last.key)["places_booked"] == "2"


def test_unknown_or_closed_offices_are_not_found() -> None:
    office = build_office()
    Office.objects.filter(pk=office.pk).update(is_active=False)
    client = Client()
    for code in ("no-such-office", office.code):
        assert client.get(f"/transparansi/{code}/").status_code == 404
        assert client.get(f"/transparansi/{code}.csv").status_code == 404
        assert client.get(f"/transparansi/{code}.json").status_code == 404
    assert client.post("/transparansi/").status_code == 405


def test_months_are_the_last_full_calendar_months() -> None:
    months = last_full_months(3, dt.date(2025, 2, 14))
    assert [m.key for m in months] == ["2024-11", "2024-12", "2025-01"]
    assert months[1].after == dt.date(2025, 1, 1) and months[2].first == dt.date(2025, 1, 1)
    assert [m.key for m in last_full_months(2, dt.date(2025, 1, 31))] == ["2024-11", "2024-12"]
