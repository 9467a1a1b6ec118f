"""Supervision in a real Chromium: an anonymous report and its answer, an integrity signal worked through,
the dashboards drilled down to a case, and the one-tap question after a counter visit.

Set-up outside the browser is what exists before anyone looks: offices, staff and their roles (built as
``gerbang/conftest.py`` and ``casework/tests/support.py`` do), a paid case, officers' blocked messages and a
spot check, and the schedules' runs (``refresh_signals``, ``ask_due``) called as the worker would. Everything a
person does goes through the pages: the reporter with no account and no cookie, officers signed in with the
password and their hardware token's code, the applicant following the link of the notification.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Response, expect

from gerbang import browser as playwright_fixtures
from gerbang.accounts.models import Role
from gerbang.browser import watch_errors
from gerbang.casework.tests.support import Stage, check_in, paid_application, two_offices
from gerbang.channel.models import BlockedMessage
from gerbang.conftest import build_office, build_staff, staff_client
from gerbang.duty import actions as duty
from gerbang.duty.selectors import serving_at
from gerbang.duty.tests.support import counter, office_head, verified
from gerbang.supervision import feedback
from gerbang.supervision.models import Report, Signal, SignalKind, VisitFeedback
from gerbang.supervision.signals import refresh_signals
from gerbang.visits import actions as visits
from gerbang.visits.models import Visit
from gerbang.visits.tests.test_browser import _sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The Playwright fixtures (this folder has no conftest.py of its own), taken by name.
browser = playwright_fixtures.browser
new_page = playwright_fixtures.new_page
site_url = playwright_fixtures.site_url

TRACKING_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
REPORT_TEXT = "At the counter an officer said my passport would be faster if I paid him Rp 500.000 in cash."
ANSWER = "Thank you. We have opened an inquiry at this office and will write again when it is settled."
BLOCKED = ("Hubungi WA saya 0812-3456-7890 ya", "Atau telepon 0813 2222 3333 sore ini")
DISMISSAL = "Checked with the officer: the numbers were the office's own hotline, not a private one."


def _no_cookies_from(page: Page, prefix: str) -> list[str]:
    """Collect, from now on, the Set-Cookie headers of every answer under ``prefix`` (there must be none)."""
    found: list[str] = []

    def on_response(response: Response) -> None:
        if urlsplit(response.url).path.startswith(prefix):
            cookie = response.all_headers().get("set-cookie")
            if cookie:
                found.append(f"{response.url}: {cookie}")

    page.on("response", on_response)
    return found


def _follow(page: Page, code: str) -> None:
    """The reporter's follow-up page: type the code, see the report."""
    page.goto("/lapor/lacak/")
    expect(page.locator("h1")).to_have_text("Follow a report")
    page.get_by_label("Tracking code").fill(code)
    page.locator("#follow-report").click()
    expect(page.locator("h1")).to_have_text("Your report")


# --- 1. An anonymous report, answered by the division's supervisor ----------------------------------------------


def test_an_anonymous_report_is_filed_without_a_cookie_and_answered_by_the_division(
    new_page: Callable[[], Page],
) -> None:
    office = build_office(province_code="32")
    build_office(province_code="33")  # another division's office, also in the list
    supervisor = build_staff(Role.REGIONAL_SUPERVISOR, division=office.division)

    reporter = new_page()
    errors = watch_errors(reporter)
    reporter.goto("/")
    before = reporter.context.cookies()  # whatever the home page set (its CSRF token); /lapor/ must add nothing
    set_cookies = _no_cookies_from(reporter, "/lapor/")
    reporter.locator("footer a[href='/lapor/']").click()
    expect(reporter).to_have_url(re.compile(r"/lapor/$"))
    expect(reporter.locator("h1")).to_have_text("Report abuse anonymously")
    expect(reporter.locator("#anonymity-note")).to_contain_text("sets no cookie")
    reporter.get_by_label("Office concerned").select_option(label=f"{office.name} ({office.city})")
    reporter.get_by_label("Illegal levy (asked for money or a gift)").check()
    reporter.get_by_label("Your report").fill(REPORT_TEXT)
    reporter.get_by_role("button", name="Send the report").click()

    expect(reporter.locator("h1")).to_have_text("Your report was received")
    code = reporter.locator("#tracking-code").inner_text().strip()
    assert TRACKING_CODE.fullmatch(code), code
    assert "/lapor/" in reporter.url and code not in reporter.url
    assert reporter.context.cookies() == before
    report = Report.objects.get()
    assert report.office == office and report.division == office.division

    reporter.get_by_role("link", name="Follow your report with its tracking code").click()
    expect(reporter).to_have_url(re.compile(r"/lapor/lacak/"))
    reporter.get_by_label("Tracking code").fill(code.lower().replace("-", " "))  # case and hyphens do not matter
    reporter.locator("#follow-report").click()
    expect(reporter.locator("h1")).to_have_text("Your report")
    expect(reporter.locator("#report-status")).to_have_text("Received, waiting for an answer")
    expect(reporter.locator("main")).to_contain_text(REPORT_TEXT)
    expect(reporter.locator("#no-messages")).to_have_text("No answer yet.")
    assert reporter.context.cookies() == before
    assert set_cookies == []
    assert errors == []

    # The division's supervisor: staff console, the reports, the report (by number, never by its code).
    handler = new_page()
    handler_errors = watch_errors(handler)
    _sign_in_staff(handler, supervisor)
    card = handler.locator("#supervision-card")
    expect(card.locator("h3")).to_have_text("Supervision")
    card.get_by_role("link", name="Anonymous reports and complaints").click()
    expect(handler).to_have_url(re.compile(r"/staf/pengawasan/laporan/$"))
    expect(handler.locator("h1")).to_have_text("Anonymous reports")
    row = handler.locator(f"#report-{report.pk}")
    expect(row).to_contain_text(office.name)
    expect(row).to_contain_text("Received, waiting for an answer")
    row.get_by_role("link", name=f"#{report.pk}").click()
    expect(handler).to_have_url(re.compile(rf"/staf/pengawasan/laporan/{report.pk}/$"))
    expect(handler.locator("h1")).to_have_text(f"Anonymous report #{report.pk}")
    expect(handler.locator("#report-text")).to_have_text(REPORT_TEXT)
    assert code not in handler.content() and code.replace("-", "") not in handler.content()
    handler.get_by_label("Message").fill(ANSWER)
    handler.get_by_role("button", name="Send the answer").click()
    expect(handler.locator(".messages")).to_contain_text("Your answer was sent to the reporter.")
    expect(handler.locator("#report-status")).to_have_text("Answered, being handled")
    expect(handler.locator("#report-messages")).to_contain_text(ANSWER)
    assert handler_errors == []

    # The reporter comes back in a fresh browser (no cookie at all) with only the code.
    later = new_page()
    later_errors = watch_errors(later)
    later_cookies = _no_cookies_from(later, "/lapor/")
    _follow(later, code)
    expect(later.locator("#report-status")).to_have_text("Answered, being handled")
    answer = later.locator("#report-messages li")
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("Supervisor")
    expect(answer).to_contain_text(ANSWER)
    expect(answer).not_to_contain_text(supervisor.full_name)  # the handler's name stays on the staff side
    assert later.context.cookies() == []
    assert later_cookies == [] and later_errors == []


# --- 2. An integrity signal, read and worked by the office head -------------------------------------------------


def test_the_office_head_reads_a_blocked_contact_signal_and_its_evidence_then_opens_an_investigation(
    new_page: Callable[[], Page], settings: Any, tmp_path: Path
) -> None:
    # Two blocked messages plant the signal here (settings' calibrated threshold is higher).
    settings.INTEGRITY_THRESHOLDS = {**settings.INTEGRITY_THRESHOLDS, "blocked_min": 2.0}
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    officer = stage.staff["verifier"]
    sender = staff_client(officer)
    sender.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    for body in BLOCKED:
        page = sender.post(f"/staf/kasus/{application.reference}/", {"do": "message", "message-body": body})
        assert page.status_code == 200 and b"Phone numbers cannot be sent" in page.content
    blocked = list(BlockedMessage.objects.filter(application=application).order_by("id"))
    assert len(blocked) == 2
    duty.record_spot_check(
        office=stage.home,
        officer=stage.staff["interviewer"],
        finding="phone_at_desk",
        counter=counter(stage.home),
        actor=office_head(stage.home),
    )
    refresh_signals(audit=False)
    signal = Signal.objects.get(kind=SignalKind.BLOCKED_CONTACT, officer=officer)
    assert Signal.objects.filter(kind=SignalKind.SPOT_CHECK, office=stage.home).exists()

    head = new_page()
    errors = watch_errors(head)
    _sign_in_staff(head, stage.staff["head"])
    card = head.locator("#supervision-card")
    expect(card.locator("h3")).to_have_text("Supervision")
    expect(card.get_by_role("link", name="Anonymous reports and complaints")).to_have_count(0)  # not the office's
    card.get_by_role("link", name="Integrity signals").click()
    expect(head).to_have_url(re.compile(r"/staf/pengawasan/sinyal/$"))
    expect(head.locator("h1")).to_have_text("Integrity signals")
    expect(head.locator("table.signals tbody tr")).to_have_count(2)  # the blocked messages and the spot check
    row = head.locator(f"#signal-{signal.pk}")
    expect(row).to_contain_text(officer.full_name)
    expect(row).to_contain_text("Open")
    row.get_by_role("link", name="Attempts to send contact details through the official channel").click()

    expect(head).to_have_url(re.compile(rf"/staf/pengawasan/sinyal/{signal.pk}/$"))
    expect(head.locator("#signal-status")).to_have_text("Open")
    expect(head.locator("#explanation")).to_contain_text(
        "The official channel blocked 2 messages of this officer (in 1 cases)"
    )
    links = head.locator("#evidence a")
    expect(links).to_have_count(2)
    head.get_by_role("link", name=f"Blocked message {blocked[0].pk}", exact=True).click()
    expect(head).to_have_url(re.compile(rf"/sinyal/{signal.pk}/bukti/blocked_message/{blocked[0].pk}/$"))
    expect(head.locator("#evidence-record")).to_contain_text(BLOCKED[0])
    expect(head.locator("#evidence-record")).to_contain_text(officer.full_name)
    head.get_by_role("link", name="Back to the signal").click()
    expect(head).to_have_url(re.compile(rf"/sinyal/{signal.pk}/$"))

    head.get_by_role("button", name="Acknowledge").click()
    expect(head.locator(".messages")).to_contain_text("The signal's status was changed and recorded in the audit log.")
    expect(head.locator("#signal-status")).to_have_text("Acknowledged")
    expect(head.get_by_role("button", name="Acknowledge")).to_have_count(0)
    # Dismissing a signal about the office is for the level above: the head is told so, nothing changes.
    head.get_by_label("Note (required to dismiss or reopen: why?)").fill(DISMISSAL)
    head.get_by_role("button", name="Dismiss with this reason").click()
    expect(head.locator("#signal-error")).to_have_text(
        "Only the regional division or the directorate can dismiss or reopen a signal about an office."
    )
    expect(head.locator("#signal-status")).to_have_text("Acknowledged")
    head.get_by_role("button", name="Open an investigation").click()
    # The note typed for the refused dismissal goes with the investigation.
    expect(head.locator("#signal-status")).to_have_text(f"Under investigation: {DISMISSAL}")
    history = head.locator("table.history tbody tr")
    # Found by the schedule, the evidence read, acknowledged, investigated: each by whom.
    expect(history.locator("td:nth-child(3)")).to_have_text(
        [
            "Found by Gerbang supervision.signal_raised",
            "Evidence looked at supervision.evidence_viewed",
            "Acknowledged supervision.signal_acknowledged",
            "Investigation opened supervision.signal_investigating",
        ]
    )
    expect(history.locator("td:nth-child(2)")).to_have_text(["Gerbang"] + [stage.staff["head"].full_name] * 3)

    # The list shows both signals, this one under investigation.
    head.get_by_role("link", name="All signals").click()
    expect(head.locator("table.signals tbody tr")).to_have_count(2)
    expect(head.locator(f"#signal-{signal.pk}")).to_contain_text("Under investigation")
    # The one console entry is the refused dismissal's status (422: the form came back with its error).
    assert len(errors) == 1 and "status of 422" in errors[0] and f"/sinyal/{signal.pk}/" in errors[0], errors


# --- 3. The dashboards, from the directorate down to a case ------------------------------------------------------


def test_the_directorate_auditor_drills_down_from_the_divisions_to_an_officers_case(
    new_page: Callable[[], Page], settings: Any, tmp_path: Path
) -> None:
    stage: Stage = two_offices(province_code="32")
    application = paid_application(stage.home, settings, tmp_path)
    officer = stage.staff["verifier"]
    auditor = build_staff(Role.DIRECTORATE_AUDITOR)
    division = stage.home.division

    page = new_page()
    errors = watch_errors(page)
    _sign_in_staff(page, auditor)
    page.locator("#supervision-card").get_by_role("link", name="Dashboards of the offices you supervise").click()
    expect(page).to_have_url(re.compile(r"/staf/pengawasan/$"))
    expect(page.locator("h1")).to_have_text("Supervision: the Directorate General")
    units = page.locator("#units")
    expect(units.locator(f"#unit-{division.province_code}")).to_be_visible()
    expect(page.locator("#charts figure.chart svg").first).to_be_visible()

    units.get_by_role("link", name=division.name).click()
    expect(page).to_have_url(re.compile(rf"/staf/pengawasan/divisi/{division.province_code}/$"))
    expect(page.locator("h1")).to_have_text(f"Supervision: {division.name}")
    expect(page.locator("#units tbody tr")).to_have_count(2)  # the division's two offices
    page.locator("#units").get_by_role("link", name=stage.home.name).click()

    expect(page).to_have_url(re.compile(rf"/staf/pengawasan/kantor/{stage.home.code}/$"))
    expect(page.locator("h1")).to_have_text(f"Supervision: {stage.home.name}")
    page.locator(f"#officer-{officer.pk}").get_by_role("link", name=officer.full_name).click()

    expect(page).to_have_url(re.compile(rf"/staf/pengawasan/kantor/{stage.home.code}/petugas/{officer.pk}/"))
    expect(page.locator("h1")).to_have_text(f"{officer.full_name} at {stage.home.name}")
    cases = page.locator("#cases tbody tr")
    expect(cases).to_have_count(1)
    expect(cases).to_contain_text("open")
    cases.get_by_role("link", name=application.reference).click()

    expect(page).to_have_url(re.compile(rf"/staf/kasus/{application.reference}/$"))
    expect(page.locator("#case-status")).to_have_text("Fee paid")
    assert errors == []


# --- 4. The one-tap question after a counter visit ---------------------------------------------------------------


def _served_visit(stage: Stage, settings: Any, tmp_path: Path) -> Visit:
    """A paid application checked in at the front desk, called to its counter and served there."""
    application = paid_application(stage.home, settings, tmp_path)
    visit = check_in(application, stage.staff["front_desk"])
    officer = verified(stage.staff["front_desk"])
    session = serving_at(officer, stage.home)
    assert session is not None
    called = visits.call_next(counter=session.counter, actor=officer)
    assert called is not None and called.pk == visit.pk
    return visits.finish(visit=called, counter=session.counter, actor=officer, came=True)


def test_one_tap_after_a_visit_says_money_was_asked_and_leads_to_the_anonymous_report(
    new_page: Callable[[], Page], settings: Any, tmp_path: Path
) -> None:
    stage = two_offices()
    visit = _served_visit(stage, settings, tmp_path)
    assert feedback.ask_due() == 1
    asked = VisitFeedback.objects.get(visit=visit)
    asked.applicant.preferred_language = "en"
    asked.applicant.save(update_fields=["preferred_language"])

    page = new_page()  # nobody signed in: the link's token is the key
    errors = watch_errors(page)
    page.goto(f"/umpan-balik/{asked.token}/")
    expect(page.locator("h1")).to_have_text("How was your visit?")
    expect(page.locator("main")).to_contain_text(stage.home.name)
    row = page.locator("#feedback-yes")
    expect(row.locator("legend")).to_have_text("Someone asked me for money or a gift")
    expect(page.locator("button.feedback-star")).to_have_count(10)
    row.get_by_role("button", name=re.compile(r"^2 ★")).click()

    expect(page).to_have_url(re.compile(rf"/umpan-balik/{re.escape(asked.token)}/$"))
    expect(page.locator("h1")).to_have_text("Thank you")
    expect(page.locator("#feedback-thanks")).to_be_visible()
    link = page.locator("#feedback-report").get_by_role("link", name="Report it anonymously")
    expect(link).to_have_attribute("href", "/lapor/")
    asked.refresh_from_db()
    assert asked.asked_for_money is True and asked.satisfaction == 2 and asked.answered_at is not None
    link.click()
    expect(page).to_have_url(re.compile(r"/lapor/$"))
    expect(page.locator("h1")).to_have_text("Report abuse anonymously")
    assert errors == []
