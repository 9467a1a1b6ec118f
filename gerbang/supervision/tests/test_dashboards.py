"""The supervision dashboards over HTTP: who sees which unit, the drill-down, the figures, CSV and charts."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gerbang.accounts.models import Role, User
from gerbang.applications.models import PassportApplication, Step
from gerbang.appointments.models import Booking, Slot
from gerbang.audit.actions import record
from gerbang.audit.models import AuditEvent, Checkpoint
from gerbang.casework.models import Assignment, Biometrics, Interview
from gerbang.conftest import build_office, build_staff, build_user, grant, last_audit_id, staff_client
from gerbang.duty.models import DeviceDeposit, Locker, SpotCheck
from gerbang.organisation.models import Counter, Office, ServiceUnit
from gerbang.payments.models import Bank, Bill, Payment, PaymentException
from gerbang.supervision import metrics
from gerbang.supervision.charts import Bar, bar_chart
from gerbang.supervision.models import Report, Signal, VisitFeedback
from gerbang.tariffs.models import Service
from gerbang.visas.models import Foreigner, VisaApplication, VisaKind
from gerbang.visits.models import Visit

pytestmark = pytest.mark.django_db

EN = {"accept-language": "en"}
_n = itertools.count(1)


def nik() -> str:
    return f"3273015708{next(_n):06d}"


def passport_case(office: Office, *, status: str = "paid", **extra: Any) -> PassportApplication:
    n = next(_n)
    now = timezone.now()
    fields: dict[str, Any] = {
        "filer": build_user(),
        "applicant_nik": nik(),
        "applicant_name": f"Pemohon {n}",
        "applicant_birth_date": dt.date(1990, 1, 1),
        "applicant_sex": "F",
        "kind": "renewal",
        "product": "regular",
        "validity_years": 5,
        "office": office,
        "status": status,
        "reference": f"PAS{n:09d}",
        "submitted_at": now - dt.timedelta(days=10),
        "paid_at": now - dt.timedelta(days=9),
    }
    fields.update(extra)
    return PassportApplication.objects.create(**fields)


def step(case: PassportApplication, from_status: str, to_status: str, at: dt.datetime) -> Step:
    return Step.objects.create(application=case, action=to_status, from_status=from_status, to_status=to_status, at=at)


def counter(office: Office, number: int = 1) -> Counter:
    unit = ServiceUnit.objects.filter(office=office).first()
    assert unit is not None
    return Counter.objects.get_or_create(unit=unit, number=number)[0]


@dataclass
class World:
    a: Office
    b: Office
    c: Office
    head_a: User
    supervisor: User
    auditor: User
    clerk: User
    officer: User
    counter: Counter
    passport: PassportApplication
    visa: VisaApplication


@pytest.fixture
def world() -> World:
    """Division 32 with offices A and B, division 33 with office C; figures planted at office A."""
    now = timezone.now()
    a, b = build_office("Kantor A", province_code="32"), build_office("Kantor B", province_code="32")
    c = build_office("Kantor C", province_code="33")
    head_a = build_staff(Role.OFFICE_HEAD, office=a)
    supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=a.division)
    auditor = build_staff(Role.DIRECTORATE_AUDITOR)
    clerk = build_staff(Role.FRONT_DESK, office=a)
    officer = build_staff(Role.DOCUMENT_VERIFIER, office=a)
    officer.full_name = "Petugas Verifikasi"
    officer.save(update_fields=["full_name"])
    desk = counter(a)

    # Time in the "paid" step: 2 h, 4 h and 10 h -> median 4 h, 95th percentile 10 h.
    cases = []
    for hours in (2, 4, 10):
        case = passport_case(a, status="verified")
        entered = now - dt.timedelta(days=5)
        step(case, "draft", "submitted", entered - dt.timedelta(days=1))
        step(case, "submitted", "paid", entered)
        step(case, "paid", "verified", entered + dt.timedelta(hours=hours))
        cases.append(case)
    passport = cases[0]
    Assignment.objects.create(
        application=passport,
        duty="verification",
        officer=officer,
        office=a,
        assigned_at=now - dt.timedelta(days=5),
        ended_at=now - dt.timedelta(days=5) + dt.timedelta(hours=2),
        ended_because="done",
    )
    # Printed: one by the promised day, one after it.
    on_time = passport_case(a, status="printed", ready_by=timezone.localdate() + dt.timedelta(days=1))
    step(on_time, "approved", "printed", now - dt.timedelta(days=1))
    late = passport_case(a, status="printed", ready_by=timezone.localdate() - dt.timedelta(days=14))
    step(late, "approved", "printed", now - dt.timedelta(days=2))
    # Office B has one paid case waiting; office C one too.
    passport_case(b)
    passport_case(c)

    # Appointments three days ago: two no-shows, one attended.
    slot = Slot.objects.create(
        office=a,
        starts_at=now - dt.timedelta(days=3),
        day=(now - dt.timedelta(days=3)).date(),
        part_of_day="am",
        capacity=10,
        booked=3,
    )
    for status in ("no_show", "no_show", "attended"):
        case = passport_case(a, status="submitted", paid_at=None)
        Booking.objects.create(
            slot=slot,
            application=case,
            applicant_nik=case.applicant_nik,
            source="first_come",
            status=status,
            created_at=now - dt.timedelta(days=6),
            checked_in_at=now - dt.timedelta(days=3) if status == "attended" else None,
        )

    # Counter work: an interview without a locker deposit, biometrics with one.
    Interview.objects.create(
        application=passport,
        purpose_of_travel="tourism",
        identity_consistent=True,
        originals_seen=True,
        outcome="consistent",
        counter=desk,
        officer=officer,
        at=now - dt.timedelta(days=2),
    )
    locker = Locker.objects.create(office=a, number=1)
    DeviceDeposit.objects.create(
        locker=locker,
        officer=officer,
        devices="phone",
        deposited_at=now - dt.timedelta(days=1, hours=1),
        attendant=head_a,
    )
    Biometrics.objects.create(
        application=passport,
        photo_name=f"photo-{passport.pk}",
        photo_sha256="a" * 64,
        capture_station="cs-1",
        fingerprint_device="fp-1",
        fingerprints_captured=10,
        fingerprint_template_sha256="b" * 64,
        counter=desk,
        officer=officer,
        at=now - dt.timedelta(days=1),
    )
    with transaction.atomic():
        record("duty.counter_session_refused", actor=officer, obj=desk, office=a, details={"reason": "no_deposit"})

    # Spot checks: one finding, one clean.
    for finding in ("cash_in_drawer", "clean"):
        SpotCheck.objects.create(
            office=a,
            officer=officer,
            counter=desk,
            checked_at=now - dt.timedelta(days=2),
            finding=finding,
            supervisor=head_a,
            recorded_at=now - dt.timedelta(days=2),
        )

    # Two answered visit questions at the counter: satisfaction 2 and 5 (average 3.5), one asked for money.
    for i, (money, satisfaction) in enumerate([(True, 2), (False, 5)]):
        case = cases[1 + i]
        visit = Visit.objects.create(
            office=a,
            day=(now - dt.timedelta(days=2)).date(),
            number=i + 1,
            ticket=f"T{case.pk}",
            slot=slot,
            application=case,
            applicant_nik=case.applicant_nik,
            walk_in=True,
            priority_reason="over_60",
            id_card_checked=True,
            face_matches=True,
            registry_photo="r.jpg",
            registry_photo_sha256="c" * 64,
            checkin_photo="c.jpg",
            checkin_photo_sha256="d" * 64,
            checked_in_at=now - dt.timedelta(days=2),
            checked_in_by=clerk,
            status="served",
            counter=desk,
            called_at=now - dt.timedelta(days=2),
            called_by=officer,
            finished_at=now - dt.timedelta(days=2),
        )
        VisitFeedback.objects.create(
            visit=visit,
            token=f"tok-{visit.pk}",
            office=a,
            counter=desk,
            officer=officer,
            applicant=case.filer,
            prompted_at=now - dt.timedelta(days=2),
            answered_at=now - dt.timedelta(days=2),
            asked_for_money=money,
            satisfaction=satisfaction,
        )

    # A complaint past its answer deadline, an open signal, a payment exception.
    Report.objects.create(
        code="LAP-TEST-1",
        office=a,
        category="levy",
        text="Diminta uang",
        level="division",
        division=a.division,
        received_at=now - dt.timedelta(days=5),
        answer_due=now - dt.timedelta(days=2),
        close_due=now + dt.timedelta(days=1),
    )
    Signal.objects.create(kind="slow_case", key="slow_case:test", office=a, first_seen_at=now, last_seen_at=now)
    bank = Bank.objects.create(code="bank-uji", name="Bank Uji")
    bill = Bill.objects.create(
        billing_code="123456789012345",
        application=passport,
        payer_name="Pemohon",
        amount=350000,
        items=[],
        status="paid",
        issued_at=now - dt.timedelta(days=10),
        expires_at=now - dt.timedelta(days=8),
        paid_at=now - dt.timedelta(days=9),
        ntpn="NTPN000000000001",
    )
    payment = Payment.objects.create(
        bank=bank,
        notification_id="n-1",
        source="notification",
        billing_code=bill.billing_code,
        bill=bill,
        amount=1000,
        paid_at=now - dt.timedelta(days=1),
        ntb="NTB1",
        ntpn="NTPN000000000002",
        channel="teller",
        terminal_id="T1",
        payer_ref="p",
        outcome="exception",
        received_at=now - dt.timedelta(days=1),
    )
    PaymentException.objects.create(payment=payment, reason="wrong_amount", opened_at=now - dt.timedelta(days=1))

    # A visa case the officer held.
    service = Service.objects.create(code="visa-uji", category="visa", name_id="Visa uji", name_en="Test visa")
    kind = VisaKind.objects.create(
        code="c1-uji",
        index_code="C1",
        category="visa",
        name_id="Visa kunjungan",
        name_en="Visit visa",
        purpose_id="Kunjungan",
        purpose_en="Visit",
        service=service,
        stay_days=60,
    )
    foreigner = Foreigner.objects.create(
        nationality="AUS",
        passport_number="PA1234567",
        surname="Smith",
        given_names="Jane",
        birth_date=dt.date(1985, 5, 5),
        sex="F",
        passport_expiry=dt.date(2035, 1, 1),
        mrz="x",
        created_by=clerk,
    )
    visa = VisaApplication.objects.create(
        reference="VIS000000001",
        kind=kind,
        foreigner=foreigner,
        filer=build_user(),
        office=a,
        status="verified",
        submitted_at=now - dt.timedelta(days=4),
        paid_at=now - dt.timedelta(days=4),
    )
    Assignment.objects.create(
        visa_application=visa, duty="verification", officer=officer, office=a, assigned_at=now - dt.timedelta(days=3)
    )
    return World(a, b, c, head_a, supervisor, auditor, clerk, officer, desk, passport, visa)


def overview_url() -> str:
    return reverse("staff:supervision")


def division_url(office: Office) -> str:
    return reverse("staff:supervision_division", args=[office.division.province_code])


def office_url(office: Office) -> str:
    return reverse("staff:supervision_office", args=[office.code])


def counters_url(office: Office) -> str:
    return reverse("staff:supervision_counters", args=[office.code])


def officer_url(office: Office, officer: User) -> str:
    return reverse("staff:supervision_officer", args=[office.code, officer.pk])


def rows_of(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- Who sees what -----------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_sign_in(world: World) -> None:
    for url in (overview_url(), office_url(world.a), counters_url(world.a), officer_url(world.a, world.officer)):
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:staff_login"))


def test_staff_without_supervision_get_404(world: World) -> None:
    client = staff_client(world.clerk)
    for url in (
        overview_url(),
        division_url(world.a),
        office_url(world.a),
        counters_url(world.a),
        officer_url(world.a, world.officer),
        office_url(world.a) + "?format=csv",
    ):
        assert client.get(url).status_code == 404, url


def test_office_head_sees_only_their_office(world: World) -> None:
    client = staff_client(world.head_a)
    response = client.get(overview_url() + "?days=7")
    assert response.status_code == 302
    assert response["Location"] == office_url(world.a) + "?days=7"
    assert client.get(office_url(world.a)).status_code == 200
    assert client.get(counters_url(world.a)).status_code == 200
    assert client.get(officer_url(world.a, world.officer)).status_code == 200
    for url in (
        office_url(world.b),
        office_url(world.c),
        counters_url(world.b),
        officer_url(world.b, world.officer),
        division_url(world.a),
        division_url(world.c),
        office_url(world.b) + "?format=csv",
        reverse("staff:supervision_division", args=["99"]),
    ):
        assert client.get(url).status_code == 404, url


def test_regional_supervisor_sees_their_division(world: World) -> None:
    client = staff_client(world.supervisor)
    response = client.get(overview_url())
    assert response.status_code == 302
    assert response["Location"] == division_url(world.a)
    page = client.get(division_url(world.a))
    assert page.status_code == 200
    names = [row["name"] for row in page.context["rows"]]
    assert names == ["Kantor A", "Kantor B"]
    assert office_url(world.c) not in page.content.decode()
    assert client.get(office_url(world.b)).status_code == 200
    assert client.get(division_url(world.c)).status_code == 404
    assert client.get(office_url(world.c)).status_code == 404
    csv_rows = rows_of(client.get(division_url(world.a) + "?format=csv"))
    assert [r["code"] for r in csv_rows] == [world.a.code, world.b.code]


def test_head_of_two_offices_gets_a_row_per_office(world: World) -> None:
    grant(world.head_a, Role.OFFICE_HEAD, office=world.c)
    client = staff_client(world.head_a)
    page = client.get(overview_url())
    assert page.status_code == 200
    assert [row["code"] for row in page.context["rows"]] == [world.a.code, world.c.code]
    html = page.content.decode()
    assert f'href="{office_url(world.a)}"' in html and f'href="{office_url(world.c)}"' in html
    assert f'href="{division_url(world.a)}"' not in html
    assert client.get(division_url(world.c)).status_code == 404
    assert client.get(office_url(world.b)).status_code == 404
    csv_rows = rows_of(client.get(overview_url() + "?format=csv"))
    assert [r["code"] for r in csv_rows] == [world.a.code, world.c.code]


def test_a_regional_supervisor_heading_an_office_elsewhere_sees_that_offices_answers_nowhere(world: World) -> None:
    # The supervisor of division 33 (office C) also heads office A in division 32, where the answers were planted.
    region = build_staff(Role.REGIONAL_SUPERVISOR, division=world.c.division)
    grant(region, Role.OFFICE_HEAD, office=world.a)
    client = staff_client(region)
    page = client.get(overview_url(), headers=EN)
    assert page.status_code == 200
    rows = {row["code"]: row for row in page.context["rows"]}
    assert set(rows) == {"33", world.a.code}
    assert rows[world.a.code]["feedback_hidden"] is True and rows["33"]["feedback_hidden"] is False
    assert rows[world.a.code]["figures"].feedback_answered == 0 and rows[world.a.code]["figures"].money_asked == 0
    assert rows[world.a.code]["figures"].spot_findings == 1  # the office's other figures are its head's to see
    assert page.context["total"].money_asked == 0 and page.context["total"].satisfaction is None
    html = page.content.decode()
    row_a = html.split(f'id="unit-{world.a.code}"', 1)[1].split("</tr>", 1)[0]
    assert "division only" in row_a
    assert "Applicants who say they were asked for money" in html  # the division's own chart stays
    by_code = {r["code"]: r for r in rows_of(client.get(overview_url() + "?format=csv"))}
    assert by_code[world.a.code]["satisfaction_avg"] == "" and by_code[world.a.code]["asked_for_money"] == ""
    assert by_code[world.a.code]["feedback_answered"] == "" and by_code[world.a.code]["spot_check_findings"] == "1"
    assert by_code["33"]["feedback_answered"] == "0"
    # The division above office A sees its answers: 2, one of them "asked for money".
    above = {r["code"]: r for r in rows_of(staff_client(world.supervisor).get(division_url(world.a) + "?format=csv"))}
    assert above[world.a.code]["feedback_answered"] == "2" and above[world.a.code]["asked_for_money"] == "1"


def test_auditor_sees_every_division(world: World) -> None:
    client = staff_client(world.auditor)
    page = client.get(overview_url(), headers=EN)
    assert page.status_code == 200
    codes = [row["code"] for row in page.context["rows"]]
    assert "32" in codes and "33" in codes
    for url in (division_url(world.a), division_url(world.c), office_url(world.c), counters_url(world.b)):
        assert client.get(url).status_code == 200, url
    # The exception on office A's bill counts once, in division 32.
    by_code = {row["code"]: row["figures"] for row in page.context["rows"]}
    assert by_code["32"].exceptions_open == 1
    assert by_code["33"].backlog_passports == 1


# --- Drill-down ----------------------------------------------------------------------------------------------


def test_drill_down_from_directorate_to_case(world: World) -> None:
    client = staff_client(world.auditor)
    overview = client.get(overview_url()).content.decode()
    assert f'href="{division_url(world.a)}"' in overview
    division = client.get(division_url(world.a)).content.decode()
    assert f'href="{office_url(world.a)}"' in division
    office = client.get(office_url(world.a)).content.decode()
    assert f'href="{officer_url(world.a, world.officer)}?days=30"' in office
    assert f'href="{counters_url(world.a)}?days=30"' in office
    assert f"{reverse('staff:signals')}?office={world.a.code}" in office
    mark = last_audit_id()
    officer = client.get(officer_url(world.a, world.officer), headers=EN)
    assert officer.status_code == 200
    html = officer.content.decode()
    assert f'href="{reverse("staff:case", args=[world.passport.reference])}"' in html
    assert f'href="{reverse("staff:visa_case", args=[world.visa.reference])}"' in html
    event = AuditEvent.objects.get(id__gt=mark, action="supervision.officer_viewed")
    assert event.actor_id == world.auditor.pk
    assert event.office_id == world.a.pk
    assert event.object_id == str(world.officer.pk)
    assert event.details["days"] == 30


def test_officer_page_only_for_officers_of_that_office(world: World) -> None:
    client = staff_client(world.auditor)
    # The officer never worked at office B; the clerk holds no step at A; an applicant is no officer.
    assert client.get(officer_url(world.b, world.officer)).status_code == 404
    assert client.get(officer_url(world.a, world.clerk)).status_code == 404
    assert client.get(officer_url(world.a, world.passport.filer)).status_code == 404
    assert client.get(reverse("staff:supervision_officer", args=[world.a.code, 999999])).status_code == 404


# --- Figures ----------------------------------------------------------------------------------------------


def test_office_figures_from_a_known_dataset(world: World) -> None:
    response = staff_client(world.head_a).get(office_url(world.a), headers=EN)
    assert response.status_code == 200
    f = response.context["figures"]
    paid = next(s for s in response.context["passport_steps"] if s.status == "paid")
    assert (paid.cases, paid.median_h, paid.p95_h) == (3, 4.0, 10.0)
    assert "submitted" in {s.status for s in response.context["passport_steps"]}
    assert "draft" not in {s.status for s in response.context["passport_steps"]}
    assert (f.printed, f.on_time, f.on_time_pct) == (2, 1, 50)
    assert (f.no_shows, f.attended, f.no_show_pct) == (2, 1, 67)
    assert (f.spot_checks, f.spot_findings) == (2, 1)
    assert (f.counter_acts, f.acts_without_deposit, f.locker_compliance_pct) == (2, 1, 50)
    assert (f.sessions_refused, f.refused_no_deposit) == (1, 1)
    assert (f.feedback_answered, f.satisfaction, f.money_asked) == (2, 3.5, 1)
    assert (f.reports_received, f.reports_overdue) == (1, 1)
    assert (f.exceptions_opened, f.exceptions_open) == (1, 1)
    assert f.signals_open == 1
    assert f.backlog_passports == 5  # three verified and two printed (waiting for handover)
    html = response.content.decode()
    assert 'id="passport-steps-paid"' in html
    assert "4 h" in html and "10 h" in html
    (row,) = response.context["officers"]
    assert row.officer_id == world.officer.pk
    assert (row.steps_taken, row.steps_done, row.steps_open) == (2, 1, 1)
    assert (row.visits_served, row.spot_findings, row.acts_without_deposit, row.money_asked) == (2, 1, 1, 1)


def test_period_narrows_the_figures(world: World) -> None:
    client = staff_client(world.head_a)
    week = client.get(office_url(world.a) + "?days=7").context["figures"]
    assert week.no_shows == 2
    response = client.get(office_url(world.a) + "?days=nonsense")
    assert response.context["period"].days == 30
    # Seven days up to six days from now start a day ago: the slot, the checks and the answers fall before.
    p = metrics.period("7", timezone.now() + dt.timedelta(days=6))
    f = metrics.office_figures(Office.objects.filter(pk=world.a.pk), p)[world.a.pk]
    assert (f.no_shows, f.spot_checks, f.feedback_answered, f.counter_acts) == (0, 0, 0, 0)
    assert f.backlog_passports == 5  # the backlog is as it is now, whatever the period


def test_counter_page_figures(world: World) -> None:
    client = staff_client(world.supervisor)
    response = client.get(counters_url(world.a), headers=EN)
    (row,) = [r for r in response.context["rows"] if r.counter_id == world.counter.pk]
    assert (row.visits_served, row.feedback_answered, row.satisfaction, row.money_asked) == (2, 2, 3.5, 1)
    assert (row.spot_checks, row.spot_findings, row.refused) == (2, 1, 1)
    assert (row.counter_acts, row.acts_without_deposit) == (2, 1)
    csv_rows = rows_of(client.get(counters_url(world.a) + "?format=csv"))
    (line,) = [r for r in csv_rows if r["counter_id"] == str(world.counter.pk)]
    assert line["satisfaction_avg"] == "3.5"
    assert line["asked_for_money"] == "1"
    assert line["spot_check_findings"] == "1"


def test_the_applicants_answers_go_to_the_level_above_the_office(world: World) -> None:
    """The office head sees the counters and the officers, but not what applicants said about them."""
    head = staff_client(world.head_a)
    for url in (counters_url(world.a), office_url(world.a)):
        html = head.get(url, headers=EN).content.decode()
        assert 'id="feedback-hidden"' in html and "asked for money, by counter" not in html
        lines = rows_of(head.get(url + "?format=csv"))
        assert lines and "asked_for_money" not in lines[0] and "satisfaction_avg" not in lines[0]
    above = staff_client(world.supervisor)
    html = above.get(office_url(world.a), headers=EN).content.decode()
    assert 'id="feedback-hidden"' not in html
    assert "asked_for_money" in rows_of(above.get(office_url(world.a) + "?format=csv"))[0]


# --- CSV ---------------------------------------------------------------------------------------------------


def test_csv_on_every_level(world: World) -> None:
    client = staff_client(world.auditor)
    directorate = rows_of(client.get(overview_url() + "?format=csv&days=90"))
    (d32,) = [r for r in directorate if r["code"] == "32"]
    assert d32["days"] == "90"
    assert d32["no_shows"] == "2"
    assert d32["spot_check_findings"] == "1"
    assert d32["satisfaction_avg"] == "3.5"
    assert "passports_submitted" in directorate[0]
    division = rows_of(client.get(division_url(world.a) + "?format=csv"))
    (a,) = [r for r in division if r["code"] == world.a.code]
    assert (a["name"], a["no_shows"], a["on_time_pct"]) == ("Kantor A", "2", "50")
    officers = rows_of(client.get(office_url(world.a) + "?format=csv"))
    (o,) = officers
    assert (o["name"], o["steps_done"], o["median_hours_held"]) == ("Petugas Verifikasi", "1", "2.0")
    mark = last_audit_id()
    cases = rows_of(client.get(officer_url(world.a, world.officer) + "?format=csv"))
    assert {c["reference"] for c in cases} == {world.passport.reference, world.visa.reference}
    assert AuditEvent.objects.filter(id__gt=mark, action="supervision.officer_viewed", details__csv=True).exists()


def test_csv_cells_are_never_formulas(world: World) -> None:
    world.officer.full_name = "=HYPERLINK(1)"
    world.officer.save(update_fields=["full_name"])
    (o,) = rows_of(staff_client(world.head_a).get(office_url(world.a) + "?format=csv"))
    assert o["name"] == "'=HYPERLINK(1)"


# --- Charts and the audit log -------------------------------------------------------------------------------


def test_bar_chart_labels_are_escaped_and_readable() -> None:
    svg = str(bar_chart("Antrean <kantor>", [Bar("<b>Kantor</b> A", 3), Bar("Kantor B", 0.5, "50%")]))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg
    assert "&lt;b&gt;Kantor&lt;/b&gt; A" in svg
    assert "<title" in svg and "Antrean &lt;kantor&gt;" in svg
    assert ">3</text>" in svg and ">50%</text>" in svg
    assert "style=" not in svg and "<script" not in svg
    empty = str(bar_chart("Kosong", []))
    assert "<rect" not in empty


def test_pages_carry_charts_without_inline_styles(world: World) -> None:
    client = staff_client(world.auditor)
    for url in (overview_url(), division_url(world.a), office_url(world.a), counters_url(world.a)):
        html = client.get(url, headers=EN).content.decode()
        assert "<svg" in html, url
        assert "style=" not in html, url
        assert "<script" not in html, url
    office = client.get(office_url(world.a), headers=EN).content.decode()
    assert "Passport: Renewal" in office  # the bar label of the volumes chart
    division = client.get(division_url(world.a), headers=EN).content.decode()
    assert ">Kantor A</text>" in division


def test_witness_unknown_or_cosigned(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    client = staff_client(world.auditor)
    page = client.get(overview_url(), headers=EN)
    assert page.context["audit"].witness == "unknown"
    assert "Unknown: the witness could not be reached" in page.content.decode()
    assert page.context["audit"].unsealed > 0  # nothing seals events in these tests
    Checkpoint.objects.create(tree_size=3, root_hash="0" * 64, signed_at=timezone.now(), note="head")
    when = timezone.now()
    verifier = SimpleNamespace(verify_cosignature=lambda text: (SimpleNamespace(size=3), when))
    monkeypatch.setattr(metrics.witness_client, "latest_cosigned", lambda timeout=10.0: "note")
    monkeypatch.setattr(metrics.witness_client, "witness_verifier", lambda: verifier)
    assert metrics.audit_health().witness == "cosigned"
    late = SimpleNamespace(verify_cosignature=lambda text: (SimpleNamespace(size=2), when))
    monkeypatch.setattr(metrics.witness_client, "witness_verifier", lambda: late)
    health = metrics.audit_health(timezone.now() + dt.timedelta(hours=1))
    assert (health.witness, health.witness_alarm) == ("behind", True)
    # A newer head signed since: the wait counts from the oldest head the witness has not cosigned.
    Checkpoint.objects.create(tree_size=5, root_hash="1" * 64, signed_at=when + dt.timedelta(minutes=50), note="h2")
    health = metrics.audit_health(when + dt.timedelta(hours=1))
    # (Heads signed by earlier tests may be older still: audit rows outlive transactional tests.)
    oldest = Checkpoint.objects.filter(tree_size__gt=2).order_by("id").values_list("signed_at", flat=True)[0]
    assert health.checkpoint_size == 5 and health.uncosigned_since == oldest
    assert health.uncosigned_s == int((when + dt.timedelta(hours=1) - oldest).total_seconds()) >= 3600  # not 600


# --- The staff console's card -----------------------------------------------------------------------------


def test_staff_console_links_to_supervision(world: World) -> None:
    auditor = staff_client(world.auditor).get(reverse("staff:dashboard")).content.decode()
    for name in ("staff:supervision", "staff:signals", "staff:reports"):
        assert f'href="{reverse(name)}"' in auditor
    head = staff_client(world.head_a).get(reverse("staff:dashboard")).content.decode()
    assert f'href="{reverse("staff:supervision")}"' in head
    assert f'href="{reverse("staff:reports")}"' not in head
    clerk = staff_client(world.clerk).get(reverse("staff:dashboard")).content.decode()
    assert f'href="{reverse("staff:supervision")}"' not in clerk


def test_queries_do_not_grow_with_the_offices(world: World) -> None:
    """Figures are grouped per office in one query each: more offices, the same number of queries."""
    client = staff_client(world.auditor)
    with CaptureQueriesContext(connection) as before:
        assert client.get(overview_url()).status_code == 200
    for _ in range(5):
        extra = build_office(province_code="34")
        passport_case(extra)
        SpotCheck.objects.create(
            office=extra,
            officer=world.officer,
            checked_at=timezone.now(),
            finding="phone_at_desk",
            supervisor=world.auditor,
            recorded_at=timezone.now(),
        )
    with CaptureQueriesContext(connection) as after:
        page = client.get(overview_url())
    assert page.status_code == 200
    assert len(after) == len(before)
