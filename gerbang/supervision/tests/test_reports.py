"""Anonymous reports over HTTP: filing, following with the tracking code, handling, disputes and escalation."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff, grant, last_audit_id, staff_client
from gerbang.core.models import RateLimitCounter
from gerbang.organisation.models import Office
from gerbang.supervision import reports
from gerbang.supervision.models import Report, ReportEntry, ReportLevel, ReportStatus

pytestmark = pytest.mark.django_db

NEW = "/lapor/"
FOLLOW = "/lapor/lacak/"
LIST = "/staf/pengawasan/laporan/"
TEXT = "Petugas loket 3 meminta uang Rp500.000 agar paspor cepat selesai."
CODE_RE = re.compile(r'id="tracking-code">([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})<')
NEUTRAL = "No report has this tracking code"


def public() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def file_report(client: Client, office: Office | None, text: str = TEXT, category: str = "levy") -> str:
    response = client.post(NEW, {"office": office.pk if office else "", "category": category, "text": text})
    assert response.status_code == 200, response.content.decode()
    match = CODE_RE.search(response.content.decode())
    assert match, response.content.decode()
    return match.group(1)


def follow(client: Client, code: str, **data: str) -> Any:
    return client.post(FOLLOW, {"code": code, **data})


def detail_url(report: Report) -> str:
    return f"{LIST}{report.pk}/"


def actions_since(start: int) -> list[str]:
    return list(AuditEvent.objects.filter(id__gt=start).order_by("id").values_list("action", flat=True))


def test_the_whole_journey_from_report_to_escalated_dispute() -> None:
    office = build_office()
    supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=office.division)
    auditor = build_staff(Role.DIRECTORATE_AUDITOR)
    start = last_audit_id()
    reporter = public()

    # The form, then the answer page with the code; no redirect, no cookie.
    page = reporter.get(NEW)
    assert page.status_code == 200
    assert office.name in page.content.decode()
    assert not page.cookies
    response = reporter.post(NEW, {"office": office.pk, "category": "levy", "text": TEXT})
    assert response.status_code == 200
    assert not response.cookies
    assert "Set-Cookie" not in response.headers
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert "Write this tracking code down now" in html
    code = CODE_RE.search(html).group(1)  # type: ignore[union-attr]
    report = Report.objects.get()
    assert report.code == code.replace("-", "")  # stored normalised
    assert report.level == ReportLevel.DIVISION and report.division == office.division
    assert report.status == ReportStatus.RECEIVED
    assert report.answer_due - report.received_at == dt.timedelta(days=3)
    assert report.close_due - report.received_at == dt.timedelta(days=5)
    filed = AuditEvent.objects.get(id__gt=start, action="supervision.report_filed")
    assert filed.actor_id is None and filed.office_id is None
    assert TEXT not in str(filed.details)

    # The reporter follows it with the code (typed in lower case, without hyphens, still found).
    page = follow(reporter, code.replace("-", "").lower())
    assert page.status_code == 200
    html = page.content.decode()
    assert "Received, waiting for an answer" in html and TEXT in html and "No answer yet" in html
    assert office.division.name in html

    # The division's supervisor sees it in the list and answers.
    staff = staff_client(supervisor)
    listing = staff.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert listing.status_code == 200
    assert f'id="report-{report.pk}"' in listing.content.decode()
    assert code not in listing.content.decode() and code.replace("-", "") not in listing.content.decode()
    page = staff.get(detail_url(report), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and TEXT in page.content.decode()
    assert code.replace("-", "") not in page.content.decode()  # handlers never see the reporter's key
    response = staff.post(detail_url(report), {"action": "answer", "message": "Kami sedang memeriksa loket 3."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.ANSWERED and report.answered_at is not None

    # The reporter reads the answer and adds information.
    html = follow(reporter, code).content.decode()
    assert "Kami sedang memeriksa loket 3." in html and "Answered, being handled" in html
    page = follow(reporter, code, action="message", message="Kejadiannya hari Senin pukul 10.")
    assert "Your message was added" in page.content.decode()
    assert "Kejadiannya hari Senin pukul 10." in page.content.decode()
    # Sending the same message again (a reload) adds nothing.
    again = follow(reporter, code, action="message", message="Kejadiannya hari Senin pukul 10.")
    assert "This message was already sent" in again.content.decode()
    assert report.entries.filter(sender=ReportEntry.From.REPORTER).count() == 1

    # The supervisor closes it with a message; the reporter disputes it, once.
    response = staff.post(detail_url(report), {"action": "close", "message": "Petugas telah diperiksa dan dimutasi."})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.CLOSED and report.closed_at is not None
    html = follow(reporter, code).content.decode()
    assert "Petugas telah diperiksa dan dimutasi." in html and "Dispute the outcome" in html
    too_short = follow(reporter, code, action="dispute", message="Tidak puas")
    assert "at least 20 characters" in too_short.content.decode()
    disputed = follow(reporter, code, action="dispute", message="Petugas yang sama masih bertugas di loket 3 hari ini.")
    assert "Your dispute was received" in disputed.content.decode()
    report.refresh_from_db()
    assert report.status == ReportStatus.DISPUTED
    assert report.dispute_due is not None and report.disputed_at is not None
    assert report.dispute_due - report.disputed_at == dt.timedelta(days=14)
    assert "Dispute the outcome" not in follow(reporter, code).content.decode()
    with pytest.raises(ValidationError, match="only once"):
        reports.dispute(report, "Sekali lagi saya tidak puas dengan hasilnya.")

    # Deadlines met so far: nothing to escalate now. Fifteen days later the dispute is overdue.
    assert reports.escalate_overdue() == 0
    later = timezone.now() + dt.timedelta(days=15)
    assert reports.escalate_overdue(now=later) == 1
    assert reports.escalate_overdue(now=later) == 0  # the same missed deadline is not escalated twice
    report.refresh_from_db()
    assert report.level == ReportLevel.DIRECTORATE and report.escalations == 1 and report.escalated_at == later
    escalated = AuditEvent.objects.get(id__gt=start, action="supervision.report_escalated")
    assert escalated.details["missed"] == ["dispute"]
    assert escalated.details["from_level"] == "division"

    # Now the directorate handles it: the auditor sees it first in the list and closes the dispute;
    # the division's supervisor no longer has it.
    auditing = staff_client(auditor)
    auditor_list = auditing.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'id="report-{report.pk}"' in auditor_list and "escalated once" in auditor_list
    assert staff.get(detail_url(report)).status_code == 404
    response = auditing.post(
        detail_url(report), {"action": "close_dispute", "message": "Petugas dipindahkan; terima kasih."}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.DISPUTE_CLOSED and report.dispute_closed_at is not None
    html = follow(reporter, code).content.decode()
    assert "Petugas dipindahkan; terima kasih." in html and "nothing more can be added" in html
    assert "Directorate General" in html

    assert actions_since(start) == [
        "supervision.report_filed",
        "supervision.report_viewed",
        "supervision.report_answered",
        "supervision.report_reporter_wrote",
        "supervision.report_closed",
        "supervision.report_disputed",
        "supervision.report_escalated",
        "supervision.report_dispute_closed",
    ]
    for event in AuditEvent.objects.filter(id__gt=start, action__startswith="supervision.report_"):
        assert "Petugas" not in str(event.details) and "Kejadiannya" not in str(event.details)
        assert event.office_id is None


def test_a_report_nobody_answers_is_escalated_once_per_missed_deadline() -> None:
    office = build_office()
    code = file_report(public(), office)
    report = Report.objects.get(code=code.replace("-", ""))
    received = report.received_at
    start = last_audit_id()

    assert reports.escalate_overdue(now=received + dt.timedelta(days=2)) == 0
    assert reports.escalate_overdue(now=received + dt.timedelta(days=3, minutes=1)) == 1
    report.refresh_from_db()
    assert (report.level, report.escalations) == (ReportLevel.DIRECTORATE, 1)
    assert report.division == office.division  # where it came from is kept
    assert reports.escalate_overdue(now=received + dt.timedelta(days=4)) == 0
    # At the directorate: the closing deadline missed too counts one more escalation, once.
    assert reports.escalate_overdue(now=received + dt.timedelta(days=5, minutes=1)) == 1
    assert reports.escalate_overdue(now=received + dt.timedelta(days=6)) == 0
    report.refresh_from_db()
    assert (report.level, report.escalations) == (ReportLevel.DIRECTORATE, 2)
    missed = [
        e.details["missed"] for e in AuditEvent.objects.filter(id__gt=start, action="supervision.report_escalated")
    ]
    assert missed == [["answer"], ["close"]]


def test_a_late_answer_is_still_a_missed_deadline_and_several_are_counted_at_once() -> None:
    office = build_office()
    supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=office.division)
    code = file_report(public(), office)
    report = Report.objects.get(code=code.replace("-", ""))
    # The schedule did not run for a week: answer and close missed, two escalations in one run.
    assert reports.escalate_overdue(now=report.received_at + dt.timedelta(days=7)) == 1
    report.refresh_from_db()
    assert (report.level, report.escalations) == (ReportLevel.DIRECTORATE, 2)
    # The division no longer handles it.
    assert staff_client(supervisor).get(detail_url(report)).status_code == 404


def test_a_report_about_no_office_goes_to_the_directorate() -> None:
    office = build_office()
    supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=office.division)
    auditor = build_staff(Role.DIRECTORATE_AUDITOR)
    file_report(public(), None, category="other")
    report = Report.objects.get()
    assert report.level == ReportLevel.DIRECTORATE and report.division is None and report.office is None
    assert f'id="report-{report.pk}"' not in staff_client(supervisor).get(LIST).content.decode()
    assert staff_client(supervisor).get(detail_url(report)).status_code == 404
    assert f'id="report-{report.pk}"' in staff_client(auditor).get(LIST).content.decode()
    assert staff_client(auditor).get(detail_url(report)).status_code == 200


def test_only_the_handlers_of_the_level_above_see_a_report() -> None:
    office = build_office(province_code="31")
    other_division_office = build_office(province_code="32")
    office_head = build_staff(Role.OFFICE_HEAD, office=office)
    other_supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=other_division_office.division)
    officer = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    # A directorate auditor who also heads the office concerned does not see reports about it.
    auditor_heading_it = build_staff(Role.DIRECTORATE_AUDITOR)
    grant(auditor_heading_it, Role.OFFICE_HEAD, office=office)
    file_report(public(), office)
    report = Report.objects.get()
    start = last_audit_id()

    for user in (office_head, other_supervisor, officer, auditor_heading_it):
        client = staff_client(user)
        assert client.get(detail_url(report)).status_code == 404
        assert client.post(detail_url(report), {"action": "close", "message": "Ditutup."}).status_code == 404
        listing = client.get(LIST)
        assert listing.status_code in (200, 404)
        assert f'id="report-{report.pk}"' not in listing.content.decode()
    assert staff_client(office_head).get(LIST).status_code == 404  # office heads do not handle reports
    assert staff_client(officer).get(f"{LIST}999999/").status_code == 404
    # Refused: nothing changed, nothing audited.
    report.refresh_from_db()
    assert report.status == ReportStatus.RECEIVED and not report.entries.exists()
    assert actions_since(start) == []
    # The tracking code is no way in for staff either.
    assert staff_client(other_supervisor).get(f"{LIST}{report.code}/").status_code == 404
    # Not signed in: to the sign-in page.
    assert Client().get(detail_url(report)).status_code == 302


def test_the_form_explains_what_is_wrong_and_saves_nothing() -> None:
    office = build_office()
    closed = build_office()
    Office.objects.filter(pk=closed.pk).update(is_active=False)
    client = public()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"office": office.pk, "category": "levy", "text": "terlalu pendek"}, "at least 20 characters"),
        ({"office": office.pk, "category": "levy", "text": "x" * 5001}, "within 5000 characters"),
        ({"office": office.pk, "category": "levy", "text": "   "}, "Write what happened."),
        ({"office": office.pk, "category": "bribe", "text": TEXT}, "Choose what happened."),
        ({"office": office.pk, "text": TEXT}, "Choose what happened."),
        ({"office": closed.pk, "category": "levy", "text": TEXT}, "Choose an office from the list."),
        ({"office": "abc", "category": "levy", "text": TEXT}, "Choose an office from the list."),
    ]
    for data, message in cases:
        response = client.post(NEW, data)
        assert response.status_code == 200
        html = response.content.decode()
        assert "There is a problem" in html and message in html, (data, html)
        assert not CODE_RE.search(html)
    assert not Report.objects.exists()
    assert closed.name not in client.get(NEW).content.decode()


def test_a_wrong_code_gets_one_neutral_answer() -> None:
    file_report(public(), build_office())
    real = Report.objects.get().code
    body = real[:-1]
    wrong_check = body + next(c for c in reports.ALPHABET if c != real[-1])
    other_valid = reports.new_code()
    answers = set()
    for typed in ("ABCD", "0000-0000-0000-0000", wrong_check, other_valid, reports.display_code(other_valid)):
        response = follow(public(), typed)
        assert response.status_code == 200
        html = response.content.decode()
        assert NEUTRAL in html and TEXT not in html
        answers.add(re.sub(r'value="[^"]*"', "", html))
    assert len(answers) == 1  # the same page, whatever was wrong
    assert "Type the tracking code" in follow(public(), "").content.decode()
    # The code never travels in a URL: GET shows only the form.
    page = public().get(FOLLOW, {"code": reports.display_code(real)})
    assert TEXT not in page.content.decode()


def test_cross_site_posts_are_refused() -> None:
    office = build_office()
    client = public()
    data = {"office": office.pk, "category": "levy", "text": TEXT}
    assert client.post(NEW, data, HTTP_ORIGIN="https://evil.example").status_code == 403
    assert client.post(NEW, data, HTTP_SEC_FETCH_SITE="cross-site").status_code == 403
    assert client.post(NEW, data, HTTP_ORIGIN="null").status_code == 403
    assert not Report.objects.exists()
    assert client.post(NEW, data, HTTP_ORIGIN="http://testserver").status_code == 200
    assert client.post(NEW, data, HTTP_SEC_FETCH_SITE="same-origin").status_code == 200
    code = reports.display_code(Report.objects.first().code)  # type: ignore[union-attr]
    refused = client.post(
        FOLLOW,
        {"code": code, "action": "message", "message": "Pesan dari situs lain."},
        HTTP_SEC_FETCH_SITE="same-site",
    )
    assert refused.status_code == 403
    assert not ReportEntry.objects.exists()


def test_a_global_limit_guards_against_floods_without_counting_anyone(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REPORTS_PER_MINUTE = 2
    settings.RATE_LIMIT_WINDOW = 60
    office = build_office()
    client = public()
    file_report(client, office)
    file_report(client, office)
    typed = "Pegawai di loket 5 meminta Rp200.000 untuk mempercepat wawancara."
    response = client.post(NEW, {"office": office.pk, "category": "levy", "text": typed})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    html = response.content.decode()
    assert "Too many reports right now" in html and 'class="error-summary"' in html
    # Nothing saved, nothing lost: the same form, with what was typed and chosen, ready to send again.
    assert typed in html and 'id="send-report"' in html
    assert response.context["form"]["office"].value() == str(office.pk)
    assert Report.objects.count() == 2
    assert set(RateLimitCounter.objects.values_list("bucket", flat=True)) <= {
        reports.FILING_BUCKET,
        reports.LOOKUP_BUCKET,
    }
    # An invalid form is not counted (it saves nothing).
    assert RateLimitCounter.objects.get(bucket=reports.FILING_BUCKET).hits == 3

    # Following a report while the look-ups are over their limit: the code and a message typed on the report's
    # page come back on the code page (the message hidden), so pressing the button again sends both.
    settings.REPORTS_PER_MINUTE = 1
    monkeypatch.setattr(reports, "LOOKUPS_PER_REPORT", 1)  # one look-up a minute
    code = reports.display_code(Report.objects.order_by("pk").first().code)  # type: ignore[union-attr]
    assert client.post(FOLLOW, {"code": code}).status_code == 200
    message = "Saya punya bukti transfer ke rekening pribadi petugas."
    busy = client.post(FOLLOW, {"code": code, "action": "message", "message": message})
    assert busy.status_code == 429 and int(busy["Retry-After"]) >= 1
    html = busy.content.decode()
    assert "Too many reports right now" in html and 'id="follow-report"' in html
    assert f'value="{code}"' in html
    assert '<input type="hidden" name="action" value="message">' in html
    assert f'<input type="hidden" name="message" value="{message}">' in html
    assert not ReportEntry.objects.filter(text=message).exists()


def test_the_staff_list_highlights_overdue_reports_escalated_first() -> None:
    office = build_office()
    auditor = build_staff(Role.DIRECTORATE_AUDITOR)
    file_report(public(), office)
    file_report(public(), office)
    file_report(public(), None)
    first, second, third = Report.objects.order_by("pk")
    past = timezone.now() - dt.timedelta(hours=1)
    Report.objects.filter(pk=second.pk).update(answer_due=past)
    Report.objects.filter(pk=third.pk).update(escalations=1, escalated_at=past)
    html = staff_client(auditor).get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert re.search(rf'<tr id="report-{second.pk}" class="overdue warning">', html)
    assert f'<tr id="report-{first.pk}">' in html
    assert html.index(f'id="report-{third.pk}"') < html.index(f'id="report-{second.pk}"')
    assert html.index(f'id="report-{second.pk}"') < html.index(f'id="report-{first.pk}"')
    assert "Overdue:" in html


def test_tracking_codes_catch_typing_errors() -> None:
    for _ in range(50):
        code = reports.new_code()
        assert len(code) == 16 and set(code) <= set(reports.ALPHABET)
        assert reports.normalise_code(reports.display_code(code).lower()) == code
        assert reports.normalise_code(" " + reports.display_code(code).replace("-", " ") + " ") == code
        for i in range(16):
            for c in reports.ALPHABET:
                if c != code[i]:
                    assert reports.normalise_code(code[:i] + c + code[i + 1 :]) is None
            if i < 15 and code[i] != code[i + 1]:
                assert reports.normalise_code(code[:i] + code[i + 1] + code[i] + code[i + 2 :]) is None
    assert not set("01OILUZ") & set(reports.ALPHABET)


def test_the_public_pages_speak_the_chosen_language_without_a_cookie() -> None:
    assert Client().get(NEW)["Content-Language"] == "id"
    response = Client().get(NEW, {"lang": "en"})
    assert response["Content-Language"] == "en"
    assert "Report abuse anonymously" in response.content.decode()
    assert 'name="lang" value="en"' in response.content.decode()
    assert not response.cookies
    response = Client().post(NEW, {"lang": "en", "category": "levy", "text": "pendek"})
    assert response["Content-Language"] == "en" and "at least 20 characters" in response.content.decode()
