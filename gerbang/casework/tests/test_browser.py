"""The whole journey, from a resident's registration to the passport in her hands, in a real Chromium.

The population registry and the collecting bank are the sandbox services as real
processes. Set-up outside the browser is only what an office does before the
day starts: the division's two offices and their staff on the roster, devices in
lockers and counter sessions open (``support.two_offices``), and today's
first-come slots. Everything else goes through the pages: the resident registers,
applies with real files, books, pays at the bank's teller screen; each officer
signs in with the password and the hardware token's code and works the case that
Gerbang drew for them; the applicant follows it on her status page and reads the
office's message.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gerbang.accounts.models import User
from gerbang.applications.models import PassportApplication
from gerbang.applications.tests.samples import jpeg_bytes, pdf_bytes, png_bytes
from gerbang.applications.tests.support import load_demo_tariffs
from gerbang.applications.tests.test_browser import REFERENCE, _register_and_sign_in, _start_application
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Release
from gerbang.browser import watch_errors
from gerbang.casework import rules
from gerbang.casework.models import Duty
from gerbang.conftest import RegistryService
from gerbang.core import mrz
from gerbang.duty.tests.support import office_head
from gerbang.identity.tests.support import BUDI, SITI
from gerbang.organisation.models import Office
from gerbang.payments.tests.conftest import SandboxBank
from gerbang.payments.tests.test_browser import _teller_confirmation, _wait_until_paid
from gerbang.visits.actions import office_today
from gerbang.visits.tests.test_browser import _expect_loaded, _sign_in_staff

from .support import two_offices

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "siti.journey@example.test"
BOOKLETS = [("BK000101", "C1234567"), ("BK000102", "C1234568")]
OFFICE_MESSAGE = "Your documents are in order. Bring your original ID card to your appointment."
APPLICANT_REPLY = "Thank you, I will bring it."
DONE = "Done: the case moved on and the applicant was told."


def _first_come_slots_today(office: Office) -> None:
    """Today's morning slot at ``office``, released first come by its head (as the office would, the day before)."""
    head = office_head(office)
    today = office_today(office)
    appointments.create_slots(office=office, day=today, times=[dt.time(8)], capacity=5, priority_capacity=0, actor=head)
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


def _fill_in_and_submit(page: Page, office: Office, files: dict[str, Path]) -> str:
    """Steps 2 to 5 of the form (as the applications' browser test does), at ``office``; the reference shown."""
    expect(page.locator(".step-count")).to_have_text("Step 2 of 5")
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/langkah/passport/$"))
    page.get_by_label("Electronic passport", exact=True).check()
    page.get_by_label("10 years (adults only)").check()
    page.select_option("#id_office", label=office.name)
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/langkah/documents/$"))
    for input_id, path in files.items():
        page.set_input_files(f"#{input_id}", path)
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/langkah/review/$"))
    expect(page.locator(".messages")).to_contain_text("Saved 3 document(s).")
    page.get_by_label("I declare that what I entered and uploaded is true and complete.").check()
    page.get_by_role("button", name="Submit the application").click()
    expect(page).to_have_url(re.compile(r"/permohonan/[0-9a-f-]{36}/$"))
    expect(page.locator("#status")).to_have_text("Submitted")
    expect(page.locator(".reference")).to_have_text(REFERENCE)
    return page.locator(".reference").inner_text().strip()


def _open_case_from_worklist(page: Page, application: PassportApplication, step: str, status: str) -> None:
    """From the staff console: "Cases drawn for me", the one row (the step and the status), then the case page."""
    page.get_by_role("link", name="Cases drawn for me").click()
    expect(page).to_have_url(re.compile(r"/staf/kasus/$"))
    expect(page.locator("h1")).to_have_text("My cases")
    rows = page.locator("#worklist tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text(
        [application.reference, step, status, application.office.name, re.compile(r"\S"), re.compile(r"\S")]  # type: ignore[union-attr]
    )
    rows.get_by_role("link", name=application.reference).click()
    expect(page).to_have_url(re.compile(rf"/staf/kasus/{application.reference}/$"))
    expect(page.locator("#case-status")).to_have_text(status)


def _record(page: Page, step: str) -> None:
    """Submit the step's form on the case page and see it done."""
    page.locator(f"#step-{step}").get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text(DONE)


def test_the_full_journey_from_registration_to_handover(
    new_page: Callable[[], Page], registry: RegistryService, sandbox_bank: SandboxBank, tmp_path: Path
) -> None:
    load_demo_tariffs()
    stage = two_offices()
    home = stage.home
    _first_come_slots_today(home)
    files = {"id_ktp": tmp_path / "ktp.jpg", "id_kk": tmp_path / "kk.pdf", "id_civil_record": tmp_path / "akta.png"}
    files["id_ktp"].write_bytes(jpeg_bytes(exif_gps=True))
    files["id_kk"].write_bytes(pdf_bytes())
    files["id_civil_record"].write_bytes(png_bytes())
    desk_photo = tmp_path / "desk.jpg"
    desk_photo.write_bytes(jpeg_bytes(320, 400))
    capture_photo = tmp_path / "capture.jpg"
    capture_photo.write_bytes(jpeg_bytes(480, 600))
    fingerprints = tmp_path / "fingerprints.fmr"
    fingerprints.write_bytes(b"FMR\x00 20\x00" + bytes(range(256)) * 4)
    errors: dict[str, list[str]] = {}

    def page_for(name: str, user: User | None = None) -> Page:
        page = new_page()
        errors[name] = watch_errors(page)
        if user is not None:
            _sign_in_staff(page, user)
        return page

    # 1. Siti registers (the registry confirms her NIK), applies at the home office with real files, submits.
    applicant = page_for("applicant")
    _register_and_sign_in(applicant, EMAIL)
    _start_application(applicant)
    reference = _fill_in_and_submit(applicant, home, files)
    application = PassportApplication.objects.get(reference=reference.replace("-", ""))
    assert application.office_id == home.pk and application.applicant_nik == SITI["nik"]

    # 2. She books today's slot first come; the booking issues the bill, which she pays at the bank's teller.
    expect(applicant.locator("section.appointment")).to_contain_text("First come, first served for these days:")
    offered = applicant.locator("section.appointment li")
    expect(offered).to_have_count(1)
    offered.get_by_role("button", name="Book").click()
    expect(applicant.locator("#booking")).to_contain_text("Your appointment: ")
    expect(applicant.locator("#booking")).to_contain_text(f" at {home.name}.")
    expect(applicant.locator("#bill-status")).to_have_text("Waiting for payment")
    billing_code = applicant.locator(".billing-code").inner_text().strip()
    assert re.fullmatch(r"\d{15}", billing_code), billing_code

    teller = new_page()  # the bank's own site, not Gerbang's: its console is not watched
    _teller_confirmation(teller, sandbox_bank.url, billing_code)
    expect(teller.locator("h1")).to_contain_text("Confirm payment")
    expect(teller.locator("table.bill")).to_contain_text(SITI["full_name"])
    teller.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(teller.locator("h1")).to_contain_text("Receipt")
    ntpn = teller.locator(".ntpn").inner_text().strip()
    _wait_until_paid(applicant)
    expect(applicant.locator("#status")).to_have_text("Fee paid")
    expect(applicant.locator("section.bill")).to_contain_text(ntpn)

    # 3. The office head receives blank booklets into the office's stock, on the office's cases page.
    head = page_for("head", stage.staff["head"])
    cases_card = head.locator(".card", has=head.get_by_role("heading", name="Cases and booklets"))
    cases_card.get_by_role("link", name=home.name).click()
    expect(head).to_have_url(re.compile(rf"/staf/kantor/{home.code}/kasus/$"))
    expect(head.locator("h1")).to_have_text(f"Cases at {home.name}")
    expect(head.locator("#stock")).to_have_text("In stock: 0 · printed: 0 · spoiled: 0")
    head.get_by_label("Booklets received").fill("\n".join(f"{serial} {number}" for serial, number in BOOKLETS))
    head.get_by_role("button", name="Add to the stock").click()
    expect(head.locator(".messages")).to_contain_text("2 booklets added to the stock.")
    expect(head.locator("#stock")).to_have_text("In stock: 2 · printed: 0 · spoiled: 0")

    # 4a. The document verifier Gerbang drew accepts every document and writes to the applicant.
    assert rules.open_assignment(application, Duty.VERIFICATION).officer == stage.staff["verifier"]  # type: ignore[union-attr]
    verifier = page_for("verifier", stage.staff["verifier"])
    _open_case_from_worklist(verifier, application, "Document verification", "Fee paid")
    expect(verifier.locator("h1")).to_have_text(reference)
    review = verifier.locator("#step-review_documents")
    choices = review.locator("select")
    expect(choices).to_have_count(3)
    for n in range(3):
        choices.nth(n).select_option(label="Accept")
    _record(verifier, "review_documents")
    expect(verifier.locator("#case-status")).to_have_text("Documents verified")
    expect(verifier.locator("#step-review_documents")).to_have_count(0)
    verifier.get_by_label("Message to the applicant").fill(OFFICE_MESSAGE)
    verifier.get_by_role("button", name="Send").click()
    expect(verifier.locator(".messages")).to_contain_text("Your message was sent through Gerbang.")
    expect(verifier.locator("#conversation li")).to_have_count(1)
    expect(verifier.locator("#conversation li.office")).to_contain_text(OFFICE_MESSAGE)

    # 4b. At the office: the front desk scans the code on her phone, checks her ID card and face, takes a photo.
    applicant.reload()
    expect(applicant.locator("#status")).to_have_text("Documents verified")
    _expect_loaded(applicant.locator("#checkin").get_by_role("img", name="QR code of your check-in code"))
    code = applicant.locator("#checkin-code").inner_text().strip()
    desk = page_for("desk", stage.staff["front_desk"])
    desk.goto(f"/staf/kantor/{home.code}/kedatangan/")
    expect(desk.locator("h1")).to_have_text(f"Check-in: {home.name}")
    desk.get_by_label("Booking code (scan the QR code)").fill(code)
    desk.get_by_role("button", name="Find the appointment").click()
    expect(desk.locator("#appointment")).to_contain_text(application.reference)
    expect(desk.locator("#appointment")).to_contain_text("paid at a bank")
    _expect_loaded(desk.locator("#registry-photo"))
    desk.get_by_label("NIK on the original ID card").fill(SITI["nik"])
    desk.get_by_label("Photo taken now at the desk").set_input_files(desk_photo)
    desk.get_by_label("The person's face matches the registry photo").check()
    desk.get_by_role("button", name="Check in and give a queue number").click()
    expect(desk).to_have_url(re.compile(r"/staf/kunjungan/\d+/tiket/$"))
    expect(desk.locator(".messages")).to_contain_text("Checked in: number A-001.")
    applicant.reload()
    expect(applicant.locator("#visit .queue-number")).to_have_text("A-001")

    # 4c. The interviewer at their counter: the capture station's photo and the fingerprint file, then the interview.
    assert rules.open_assignment(application, Duty.INTERVIEW).officer == stage.staff["interviewer"]  # type: ignore[union-attr]
    interviewer = page_for("interviewer", stage.staff["interviewer"])
    _open_case_from_worklist(interviewer, application, "Photo, fingerprints and interview", "Documents verified")
    biometrics = interviewer.locator("#step-take_biometrics")
    biometrics.get_by_label("Photo from the capture station").set_input_files(capture_photo)
    biometrics.get_by_label("Capture station id").fill("CAP-01")
    biometrics.get_by_label("Fingerprint scanner device id").fill("FP-7731")
    expect(biometrics.get_by_label("Fingers captured")).to_have_value("10")
    biometrics.get_by_label("Fingerprint capture file from the scanner").set_input_files(fingerprints)
    _record(interviewer, "take_biometrics")
    expect(interviewer.locator("#case-status")).to_have_text("Photo and fingerprints taken")
    interview = interviewer.locator("#step-interview")
    interview.get_by_label("Purpose of travel").fill("Umrah")
    interview.get_by_label("The person, the ID card and the documents are consistent").check()
    interview.get_by_label("I saw the original documents").check()
    interview.get_by_label("Consistent: refer for decision").check()
    interview.get_by_label("Notes").fill("Travels with her family in March.")
    _record(interviewer, "interview")
    expect(interviewer.locator("#case-status")).to_have_text("Interviewed; waiting for the decision")
    expect(interviewer.locator("main")).to_contain_text("(service standard)")
    expect(interviewer.locator("section.step")).to_have_count(0)  # the interviewer never decides

    # 4d. The adjudicator Gerbang drew at the division's other office approves.
    decision = rules.open_assignment(application, Duty.DECISION)
    assert decision is not None and decision.office_id == stage.other.pk
    assert decision.officer in (stage.staff["adjudicator"], stage.staff["reviewer"])
    adjudicator = page_for("adjudicator", decision.officer)
    _open_case_from_worklist(adjudicator, application, "Decision", "Interviewed; waiting for the decision")
    deciding = adjudicator.locator("#step-decide")
    deciding.get_by_label("Approve").check()
    deciding.get_by_label("Reasons").fill("Documents, biometrics and interview are consistent.")
    _record(adjudicator, "decide")
    expect(adjudicator.locator("#case-status")).to_have_text("Approved; the passport is being printed")
    expect(adjudicator.locator("main")).to_contain_text("Documents, biometrics and interview are consistent.")

    # 4e. The issuing officer prints on the next blank booklet (the MRZ is on the page) and hands it over.
    assert rules.open_assignment(application, Duty.ISSUING).officer == stage.staff["issuer"]  # type: ignore[union-attr]
    issuer = page_for("issuer", stage.staff["issuer"])
    _open_case_from_worklist(issuer, application, "Printing and handover", "Approved; the passport is being printed")
    issuer.get_by_role("button", name="Print on the next blank booklet").click()
    expect(issuer.locator(".messages")).to_contain_text(DONE)
    expect(issuer.locator("#case-status")).to_have_text("Passport printed; ready for handover")
    number = BOOKLETS[0][1]
    expect(issuer.locator("main")).to_contain_text(f"Number {number}, valid until ")
    line1, line2 = issuer.locator("#mrz").inner_text().strip().splitlines()
    assert mrz.check_td3(line1, line2), (line1, line2)
    assert line1.startswith("P<IDN") and "SITI" in line1 and "RAHAYU" in line1, line1
    assert line2.startswith(f"{number}<"), line2
    # Someone else's ID card: refused, and the passport stays at the counter.
    handover = issuer.locator("#step-hand_over")
    handover.get_by_label("NIK on the original ID card").fill(BUDI["nik"])
    handover.get_by_label("The person is the one in the passport photo").check()
    handover.get_by_role("button", name="Record").click()
    expect(issuer.locator("#id_hand_over-id_card_nik_error")).to_have_text(
        "The NIK on the ID card is not the applicant's: do not hand over."
    )
    expect(issuer.locator("#case-status")).to_have_text("Passport printed; ready for handover")
    handover.get_by_label("NIK on the original ID card").fill(SITI["nik"])
    handover.get_by_label("The person is the one in the passport photo").check()
    _record(issuer, "hand_over")
    expect(issuer.locator("#case-status")).to_have_text("Passport handed over")
    expect(issuer.locator("section.step")).to_have_count(0)

    head.reload()
    expect(head.locator("#stock")).to_have_text("In stock: 1 · printed: 1 · spoiled: 0")

    # 5. Siti's status page: handed over, the passport's number, and every step on the timeline.
    applicant.reload()
    expect(applicant.locator("#status")).to_have_text("Passport handed over")
    expect(applicant.locator("#passport")).to_contain_text(f"Passport {number}, valid until ")
    expect(applicant.locator("#passport")).to_contain_text("Handed over to you on ")
    expect(applicant.locator("ol.timeline li")).to_have_text(
        [
            re.compile(r"· Draft$"),
            re.compile(r"· Submitted$"),
            re.compile(r"· Fee paid"),
            re.compile(r"· Documents verified"),
            re.compile(r"· Photo and fingerprints taken"),
            re.compile(r"· Interviewed; waiting for the decision"),
            re.compile(r"· Approved; the passport is being printed"),
            re.compile(r"· Passport printed; ready for handover"),
            re.compile(r"· Passport handed over"),
        ]
    )
    # Her messages: the office's, from "Immigration office" (no officer's name); she answers.
    expect(applicant.locator("#office-messages")).to_contain_text("1 message from the immigration office.")
    applicant.get_by_role("link", name="Read and write messages").click()
    expect(applicant).to_have_url(re.compile(rf"/permohonan/{application.public_id}/pesan/$"))
    expect(applicant.locator("h1")).to_have_text("Messages with the immigration office")
    from_office = applicant.locator("#conversation li.from-office")
    expect(from_office).to_have_count(1)
    expect(from_office.locator(".sender")).to_contain_text("Immigration office")
    expect(from_office.locator(".body")).to_have_text(OFFICE_MESSAGE)
    expect(applicant.locator("main")).not_to_contain_text(stage.staff["verifier"].full_name)
    applicant.get_by_label("Your message").fill(APPLICANT_REPLY)
    applicant.get_by_role("button", name="Send").click()
    expect(applicant.locator("#conversation li.from-applicant .body")).to_have_text(APPLICANT_REPLY)
    # ... and the officer sees her answer on the case page.
    issuer.reload()
    expect(issuer.locator("#conversation li.applicant")).to_contain_text(APPLICANT_REPLY)

    assert errors == {name: [] for name in errors}
    application.refresh_from_db()
    assert application.status == "handed_over"
    assert application.passports.get(void=False).number == number
