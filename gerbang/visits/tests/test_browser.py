"""Check-in at the front desk and the counter's call, in a real Chromium.

Set-up as in ``test_visits.py``: today's first-come slots, Siti (a resident of the
sandbox population registry, a real process) booked and paid through a signed bank
notification. Then everything goes through the pages: the applicant's QR code, a
front-desk officer's check-in with the registry photo and a real photo file, a
document verifier's counter screen, the public queue display and the ticket. Staff
sign in with the password and their hardware token's code, as at the office.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Locator, Page, expect

from gerbang.accounts.models import Role, User
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking, Release, Slot
from gerbang.audit.models import AuditEvent
from gerbang.browser import sign_in_staff_password, watch_errors
from gerbang.conftest import PASSWORD, RegistryService, build_office, build_staff, last_audit_id, totp_code
from gerbang.duty import actions as duty
from gerbang.duty.tests.support import attendant, office_head, on_duty, serving
from gerbang.duty.tests.support import counter as duty_counter
from gerbang.identity.tests.support import BUDI, SITI
from gerbang.organisation.models import Counter, Office, ServiceUnit
from gerbang.payments.tests.support import make_bank, notification, send, submitted_application
from gerbang.visits.actions import office_today
from gerbang.visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOADED = "img => img.complete && img.naturalWidth > 0"


def _booked_and_paid(office: Office, settings: Any, tmp_path: Path) -> Booking:
    """Today's first-come slots at ``office``; Siti's submitted application booked in the first and paid at a bank."""
    head = build_staff(Role.OFFICE_HEAD, office=office)
    head.is_verified = lambda: True  # type: ignore[attr-defined]  # past the second factor, as the staff pages make them
    today = office_today(office)
    slot, _later = appointments.create_slots(
        office=office, day=today, times=[dt.time(8), dt.time(13)], capacity=3, priority_capacity=1, actor=head
    )
    now = timezone.now()
    appointments.open_release(
        office=office,
        first_day=today,
        last_day=today,
        window_opens_at=now - dt.timedelta(hours=1),
        window_closes_at=now + dt.timedelta(hours=1),
        actor=head,
        mode=Release.Mode.FIRST_COME,
    )
    application, _no_bill = submitted_application(SITI["nik"], bill=False)
    PassportApplication.objects.filter(pk=application.pk).update(office=office)
    application.refresh_from_db()
    booking = appointments.book_first_come(application=application, slot=slot, actor=application.filer)
    # The bank's signed notification pays the bill the booking issued.
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR)
    bill = application.bills.get(status="issued")
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "credited"}
    booking.refresh_from_db()
    assert booking.application.paid_at is not None
    return booking


def _sign_in_applicant(page: Page, application: PassportApplication) -> None:
    page.goto("/akun/masuk/")
    page.fill("#id_username", application.filer.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/akun/$"))
    page.locator("main table").get_by_role("link", name="Status").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{application.public_id}/$"))


def _sign_in_staff(page: Page, user: User) -> None:
    """Password, then the code of the staff member's hardware token (the second factor)."""
    sign_in_staff_password(page, user.email, PASSWORD)
    page.fill("#id_code", totp_code(TOTPDevice.objects.get(user=user)))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/staf/$"))


def _expect_loaded(image: Locator) -> None:
    expect(image).to_be_visible()
    image.evaluate("img => img.decode()")  # waits for the image; rejects (and fails the test) if it is broken
    assert image.evaluate(LOADED), f"{image} did not load"


def test_the_front_desk_checks_siti_in_and_a_counter_calls_her_number(
    new_page: Callable[[], Page], registry: RegistryService, settings: Any, tmp_path: Path
) -> None:
    office = build_office()
    booking = _booked_and_paid(office, settings, tmp_path)
    application = booking.application
    counter = Counter.objects.create(unit=ServiceUnit.objects.get(office=office), number=1)
    desk_officer = build_staff(Role.FRONT_DESK, office=office)
    serving(desk_officer, on_duty(desk_officer, office, Role.FRONT_DESK, at_counter=duty_counter(office, 100)))
    verifier = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    # On the roster at counter 1, devices in a locker (confirmed by the attendant); the session is opened below.
    on_duty(verifier, office, Role.DOCUMENT_VERIFIER, at_counter=counter)
    locker = duty.ensure_lockers(office, 2, actor=office_head(office))[-1]  # the desk officer's is in the first
    duty.deposit_devices(locker=locker, officer=verifier, devices="phone", actor=attendant(office))
    photo = tmp_path / "desk.jpg"
    photo.write_bytes(jpeg_bytes(320, 400))
    before = last_audit_id()

    # The applicant's status page: the check-in code and its QR code.
    applicant = new_page()
    applicant_errors = watch_errors(applicant)
    _sign_in_applicant(applicant, application)
    expect(applicant.locator("#booking")).to_contain_text("Your appointment")
    checkin = applicant.locator("#checkin")
    expect(checkin.locator("h2")).to_have_text("Check-in code")
    _expect_loaded(checkin.get_by_role("img", name="QR code of your check-in code"))
    code = applicant.locator("#checkin-code").inner_text().strip()
    assert code

    # The front desk scans the code (the scanner types it into the focused field).
    desk = new_page()
    desk_errors = watch_errors(desk)
    _sign_in_staff(desk, desk_officer)
    desk.goto(f"/staf/kantor/{office.code}/kedatangan/")
    expect(desk.locator("h1")).to_have_text(f"Check-in: {office.name}")
    scan = desk.get_by_label("Booking code (scan the QR code)")
    expect(scan).to_be_focused()  # autofocus: the scanner's keystrokes land here
    desk.keyboard.type(code)
    desk.get_by_role("button", name="Find the appointment").click()
    appointment = desk.locator("#appointment")
    expect(appointment).to_contain_text(application.reference)
    expect(appointment).to_contain_text(SITI["full_name"])
    expect(appointment).to_contain_text(f"{SITI['nik'][:6]}••••••{SITI['nik'][-4:]}")
    expect(appointment).to_contain_text("paid at a bank")
    expect(desk.locator("main")).not_to_contain_text(SITI["nik"])  # the full NIK is typed from the card, not shown
    _expect_loaded(desk.locator("#registry-photo"))

    # Another person's ID card: a field error, tied to its input for screen readers; nobody checked in.
    nik_field = desk.get_by_label("NIK on the original ID card")
    nik_field.fill(BUDI["nik"])
    desk.get_by_label("Photo taken now at the desk").set_input_files(photo)
    desk.get_by_label("The person's face matches the registry photo").check()
    desk.get_by_role("button", name="Check in and give a queue number").click()
    message = "The NIK on the ID card is not the applicant's NIK. The person cannot be checked in."
    field_error = desk.locator("#id_id_card_nik_error")
    expect(field_error).to_have_text(message)
    expect(desk.locator(".field.has-error")).to_have_count(1)
    expect(desk.locator(".field.has-error #id_id_card_nik")).to_have_count(1)
    expect(nik_field).to_have_attribute("aria-describedby", re.compile(r"\bid_id_card_nik_error\b"))
    expect(nik_field).to_have_attribute("aria-invalid", "true")
    summary_link = desk.locator('.error-summary a[href="#id_id_card_nik"]')
    expect(summary_link).to_contain_text(message)
    summary_link.click()
    expect(nik_field).to_be_focused()
    assert not Visit.objects.exists()
    refused = AuditEvent.objects.get(id__gt=before, action="visits.check_in_refused")
    assert refused.details["reason"] == "id_card_mismatch"

    # Her own ID card, a new photo (a file input is empty again after an error), the face confirmed.
    nik_field.fill(SITI["nik"])
    desk.get_by_label("Photo taken now at the desk").set_input_files(photo)
    desk.get_by_label("The person's face matches the registry photo").check()
    desk.get_by_role("button", name="Check in and give a queue number").click()
    # (The address keeps the "#id_id_card_nik" of the error summary's link: browsers carry it across the redirect.)
    expect(desk).to_have_url(re.compile(r"/staf/kunjungan/\d+/tiket/(#id_id_card_nik)?$"))
    expect(desk.locator(".messages")).to_contain_text("Checked in: number A-001.")
    expect(desk.locator("#queue-number")).to_have_text("A-001")
    _expect_loaded(desk.get_by_role("img", name="QR code of the page that shows your place in the queue"))
    visit = Visit.objects.get()
    assert visit.code == "A-001" and visit.booking_id == booking.pk
    expect(desk.locator(".ticket")).to_contain_text(f"/antrean/tiket/{visit.ticket}/")

    # The applicant's page now shows the number instead of the code.
    applicant.reload()
    expect(applicant.locator("#visit .queue-number")).to_have_text("A-001")
    expect(applicant.locator("#visit")).to_contain_text("0 people before you.")
    expect(applicant.locator("#checkin")).to_have_count(0)

    # A document verifier at counter 1 calls the next number: both photos of the person to serve.
    officer = new_page()
    officer_errors = watch_errors(officer)
    _sign_in_staff(officer, verifier)
    officer.goto("/staf/loket/sesi/")
    officer.get_by_role("button", name="Open my session at this counter").click()
    expect(officer.get_by_role("button", name="Close my session")).to_be_visible()
    officer.goto(f"/staf/loket/{counter.pk}/antrean/")
    expect(officer.locator("main")).to_contain_text("Waiting: 1.")
    officer.get_by_role("button", name="Call the next number").click()
    expect(officer).to_have_url(re.compile(rf"/staf/loket/{counter.pk}/antrean/$"))
    called = officer.locator("#called")
    expect(called.locator("h2")).to_have_text("Now serving A-001")
    expect(called).to_contain_text(application.reference)
    _expect_loaded(officer.locator("#registry-photo"))
    _expect_loaded(officer.locator("#checkin-photo"))
    expect(officer.get_by_role("button", name="Call the next number")).to_have_count(0)

    # The public display in the waiting room.
    display = new_page()
    display_errors = watch_errors(display)
    display.goto(f"/antrean/{office.code}/")
    calling = display.locator("#calling tbody tr")
    expect(calling).to_have_count(1)
    expect(calling.locator("td")).to_have_text(["A-001", "1"])
    expect(display.locator("#waiting")).to_have_text("0 people waiting.")
    expect(display.locator("main")).not_to_contain_text(SITI["full_name"])

    # The applicant is told to go to the counter, on the status page and on the ticket page.
    applicant.reload()
    expect(applicant.locator("#visit")).to_contain_text("Please go to counter 1 now.")
    applicant.get_by_role("link", name="Follow your place in the queue").click()
    expect(applicant).to_have_url(re.compile(rf"/antrean/tiket/{visit.ticket}/$"))
    expect(applicant.locator("#queue-number")).to_have_text("A-001")
    expect(applicant.locator("#queue-place")).to_have_text("Please go to counter 1 now.")
    expect(applicant.locator("main")).to_contain_text("A-001 at counter 1")
    expect(applicant.locator("main")).not_to_contain_text(SITI["full_name"])

    assert applicant_errors == []
    assert desk_errors == []
    assert officer_errors == []
    assert display_errors == []

    visit.refresh_from_db()
    assert (visit.status, visit.counter_id, visit.calls) == ("called", counter.pk, 1)
    booking.refresh_from_db()
    assert booking.status == "attended"
    logged = list(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True))
    assert logged.count("visits.checked_in") == 1 and logged.count("visits.called") == 1
    assert logged.count("visits.photo_viewed") == 2  # the counter screen's two photos
    assert Slot.objects.get(pk=booking.slot_id).booked == 1
