"""Applicants enter an appointment lottery on their status page and follow the public draw, in a real Chromium.

The witness (``services/witness``) is a real process. The release has a short
request period; after it the test runs the draw as the worker would
(``actions.run_draw``). The groups offered are chosen so that the outcome is the
same whatever the draw's order: the two applicants in the browser always get a
place (the morning has two, and only they want it); the two who enter beforehand
(set-up) want the one afternoon place, so at least one of them waits.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Callable

import pytest
from django.utils import dateformat, timezone, translation
from playwright.sync_api import Page, expect

from gerbang.applications.models import PassportApplication
from gerbang.appointments import actions
from gerbang.appointments.models import Booking, Draw, LotteryRequest
from gerbang.appointments.selectors import group_label
from gerbang.audit.models import AuditEvent
from gerbang.browser import watch_errors
from gerbang.conftest import PASSWORD, build_office, last_audit_id

from .conftest import WitnessService
from .test_lottery import DAY, NIKS, applications_at, lottery_release, office_head, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Long enough for two sign-ins and two entries in the browser on a slow machine; the test waits out the rest.
WINDOW_S = 25
ENTERED = "Your request is in the draw. You will see the result here when the request period has closed."


def _sign_in_and_open_application(page: Page, application: PassportApplication) -> None:
    page.goto("/akun/masuk/")
    page.fill("#id_username", application.filer.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/akun/$"))
    page.locator("main table").get_by_role("link", name="Status").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{application.public_id}/$"))
    expect(page.locator("h1")).to_have_text("Passport application for Siti Rahayu")


def _when(booking: Booking) -> str:
    """The appointment's start as the (English) status page writes it: "l j F Y H:i T" in the office's time zone."""
    zone = zoneinfo.ZoneInfo(booking.slot.office.timezone)
    with translation.override("en"):
        return dateformat.format(timezone.localtime(booking.slot.starts_at, zone), "l j F Y H:i T")


def _code(page: Page, term: str) -> str:
    """The value printed beside ``term`` in the draw's record."""
    return page.locator(f"dl.draw-record dt:text-is({term!r}) + dd code").inner_text().strip()


def test_applicants_enter_the_draw_by_mouse_and_by_keyboard_see_their_appointment_and_the_public_record(
    new_page: Callable[[], Page], witness: WitnessService
) -> None:
    office = build_office()
    head = office_head(office)
    mouse_user, keyboard_user, *others = applications_at(office, 4)
    mark = last_audit_id()
    release = lottery_release(office, head, closes_in=WINDOW_S)
    draw = Draw.objects.get(release=release)
    morning, afternoon = f"{office.code}/{DAY}/am", f"{office.code}/{DAY}/pm"
    with translation.override("en"):  # the choices read as days and parts of day, not as keys
        labels = {group: group_label(group) for group in (morning, afternoon)}
    assert labels[morning].endswith(", morning") and labels[afternoon].endswith(", afternoon")
    for application in others:  # entered earlier (set-up through the action the page calls)
        actions.request_slot(application=application, release=release, choices=[afternoon], actor=application.filer)

    # The first applicant, with the mouse: the form, its labels, and the public record before the draw.
    page = new_page()
    errors = watch_errors(page)
    _sign_in_and_open_application(page, mouse_user)
    form = page.locator("form.lottery")
    expect(form).to_be_visible()
    for n in (1, 2, 3):
        select = page.get_by_label(f"Choice {n}", exact=True)
        expect(select).to_have_id(f"choice-{n}")
        expect(select.locator("option")).to_have_text(["-", labels[morning], labels[afternoon]])
    page.get_by_role("link", name="The draw's public record").click()
    expect(page).to_have_url(re.compile(rf"/undian/{draw.public_id}/$"))
    expect(page.locator("#gerbang-commitment")).to_have_text(draw.gerbang_commitment)
    expect(page.locator("#witness-commitment")).to_have_text(draw.witness_commitment)
    expect(page.locator("#draw-status")).to_contain_text("Not drawn yet")
    expect(page.locator("#root")).to_have_count(0)
    expect(page.locator("#result-digest")).to_have_count(0)
    page.go_back()
    page.get_by_label("Choice 1", exact=True).select_option(afternoon)
    page.get_by_label("Choice 2", exact=True).select_option(morning)
    page.get_by_role("button", name="Enter the draw").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{mouse_user.public_id}/$"))
    expect(page.locator(".messages")).to_have_text(ENTERED)
    # The page now shows the request and its choices in order, and no second form.
    expect(page.locator("form.lottery")).to_have_count(0)
    entry = page.locator(f"#lottery-request-{release.pk}")
    expect(entry).to_contain_text("You are in the draw")
    expect(entry.locator("ol li")).to_have_text([labels[afternoon], labels[morning]])

    # The second applicant, with the keyboard only: Tab from the record's link reaches the three choices, then
    # the button; the arrow key picks the morning (the first option after "-"); Enter submits.
    keyboard = new_page()
    keyboard_errors = watch_errors(keyboard)
    _sign_in_and_open_application(keyboard, keyboard_user)
    keyboard.get_by_role("link", name="The draw's public record").focus()
    keyboard.keyboard.press("Tab")
    expect(keyboard.locator("#choice-1")).to_be_focused()
    keyboard.keyboard.press("ArrowDown")
    expect(keyboard.locator("#choice-1")).to_have_value(morning)
    for n in (2, 3):
        keyboard.keyboard.press("Tab")
        expect(keyboard.locator(f"#choice-{n}")).to_be_focused()
        expect(keyboard.locator(f"#choice-{n}")).to_have_value("")
    keyboard.keyboard.press("Tab")
    expect(keyboard.get_by_role("button", name="Enter the draw")).to_be_focused()
    keyboard.keyboard.press("Enter")
    expect(keyboard).to_have_url(re.compile(rf"/permohonan/{keyboard_user.public_id}/$"))
    expect(keyboard.locator(".messages")).to_have_text(ENTERED)
    assert timezone.now() < release.window_closes_at, "the browser took longer than the request period: raise WINDOW_S"

    entered = {r.application_id: r.choices for r in LotteryRequest.objects.filter(release=release)}
    assert entered[mouse_user.pk] == [afternoon, morning] and entered[keyboard_user.pk] == [morning]
    assert len(entered) == 4

    # The request period closes; the worker runs the draw.
    wait_until(release.window_closes_at)
    draw = actions.run_draw(release)

    # Both applicants see their appointment (and now the bill the slot issued); no lottery form any more.
    for applicant, application in ((page, mouse_user), (keyboard, keyboard_user)):
        applicant.reload()
        booking = Booking.objects.get(application=application, status="active")
        expect(applicant.locator("#booking")).to_contain_text(f"Your appointment: {_when(booking)} at {office.name}.")
        expect(applicant.locator("form.lottery")).to_have_count(0)
        expect(applicant.locator("#bill-status")).to_have_text("Waiting for payment")
    assert Booking.objects.get(application=keyboard_user, status="active").slot.group == morning
    outcomes = dict(LotteryRequest.objects.filter(release=release).values_list("application_id", "outcome"))
    assert outcomes[mouse_user.pk] == outcomes[keyboard_user.pk] == "allocated"
    assert [outcomes[a.pk] for a in others].count("waiting") >= 1

    # One who waits has no appointment and no bill; the page gives their place on the waiting list.
    waiting = new_page()
    waiting_errors = watch_errors(waiting)
    _sign_in_and_open_application(waiting, next(a for a in others if outcomes[a.pk] == "waiting"))
    expect(waiting.locator("section.appointment")).to_be_visible()
    expect(waiting.locator("#booking")).to_have_count(0)
    expect(waiting.locator("form.lottery")).to_have_count(0)
    expect(waiting.locator("section.bill")).to_have_count(0)
    expect(waiting.locator(f"#lottery-request-{release.pk}")).to_contain_text("on its waiting list")

    # The public record after the draw: commitments, root, both secrets and the result digest.
    page.goto(f"/undian/{draw.public_id}/")
    expect(page.locator("#gerbang-commitment")).to_have_text(draw.gerbang_commitment)
    expect(page.locator("#witness-commitment")).to_have_text(draw.witness_commitment)
    expect(page.locator("#root")).to_have_text(draw.root)
    expect(page.locator("#result-digest")).to_have_text(draw.result_digest)
    assert _code(page, "Gerbang's secret") == draw.gerbang_secret
    assert _code(page, "Witness's secret") == draw.witness_secret
    expect(page.locator("#draw-status")).to_have_count(0)
    expect(page.locator("main table tbody tr")).to_have_count(4)
    for nik in NIKS[:4]:
        expect(page.locator("main")).not_to_contain_text(nik)
    record = page.request.get(f"/undian/{draw.public_id}.json").json()
    assert (record["root"], record["result_digest"]) == (draw.root, draw.result_digest)

    assert errors == []
    assert keyboard_errors == []
    assert waiting_errors == []
    logged = list(AuditEvent.objects.filter(id__gt=mark).values_list("action", flat=True))
    assert logged.count("appointments.lottery_requested") == 4 and logged.count("appointments.draw_completed") == 1
