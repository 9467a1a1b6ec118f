"""The foreigners' journeys in a real Chromium: an e-VoA with no officer, a sponsored work visa through a refusal
and its appeal to the entry and the ITAS, and an overstay's fine paid by card.

The collecting bank (``services/bank``) and border control (``services/border``, with its test API) are the
sandbox services as real processes talking to the live server over signed HTTP. Set-up outside the browser is
what exists before the day starts (the catalogue and tariffs, a division's two offices with their officers on
duty, accounts) or what happened long ago (the overstayer's e-VoA, dated back through the ORM as the demo does).
Everything a person does goes through the pages: foreigners and sponsors on Gerbang's and the bank's screens,
officers signed in with the password and their hardware token's code; border crossings come from border control.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
import urllib.request
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from gerbang.accounts.models import User
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.applications.tests.test_browser import VERIFY_LINK
from gerbang.browser import watch_errors
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import Stage, two_offices
from gerbang.conftest import PASSWORD, build_office, build_user
from gerbang.identity.tests.support import APPLICANT_PASSWORD
from gerbang.organisation.models import Office
from gerbang.payments.tests.conftest import SandboxBank
from gerbang.payments.tests.test_browser import PAYER_ACCOUNT, _teller_confirmation
from gerbang.visas.models import BorderMovement, Foreigner, OverstayFine, Permit, Status, VisaApplication
from gerbang.visits.tests.test_browser import _sign_in_staff
from services.bank.cards import TEST_CARD

from . import test_border_api
from .support import filed, foreigner, load_data, passport_lines, pay
from .test_journey import backdate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The sandbox border control as a real process (its fixture lives with the border API's tests).
border_service = test_border_api.border_service

# How long a bank's or border control's notification may take to reach Gerbang (both retry from an outbox).
NOTIFICATION_WAIT_S = 20
DONE = "Done: the case moved on and the filer was told."
NBSP = "\u00a0"
REFUSAL_REASON = "The purpose of the stay does not match the visa or permit"


# --- Helpers ---------------------------------------------------------------------------------------------------


def _rupiah(amount: int) -> str:
    return f"Rp{NBSP}" + f"{amount:,}".replace(",", ".")


def _jpeg(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.jpg"
    path.write_bytes(jpeg_bytes(400, 300))
    return path


def _reload_until(page: Page, locator: Callable[[], Locator], text: str | re.Pattern[str]) -> None:
    """Reload ``page`` until ``locator()`` shows ``text``: what an asynchronous notification changes."""
    deadline = time.monotonic() + NOTIFICATION_WAIT_S
    while True:
        page.reload()
        try:
            expect(locator()).to_have_text(text, timeout=1_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def _sign_in_applicant(page: Page, email: str, password: str = PASSWORD) -> None:
    """The applicants' sign-in page, then "Visas and stay permits" from the account page."""
    page.goto("/akun/masuk/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/akun/$"))
    page.locator("main").get_by_role("link", name="Visas and stay permits").click()
    expect(page).to_have_url(re.compile(r"/visa/$"))
    expect(page.locator("h1")).to_have_text("Visas and stay permits")


def _fill_in_passport(page: Page, lines: tuple[str, str, str], surname: str, given_names: str, birth: str) -> None:
    line1, line2, number = lines
    page.get_by_label("Machine-readable zone, line 1").fill(line1)
    page.get_by_label("Machine-readable zone, line 2").fill(line2)
    page.get_by_label("Surname, as on the passport").fill(surname)
    page.get_by_label("Given names, as on the passport").fill(given_names)
    page.get_by_label("Date of birth").fill(birth)
    page.get_by_label("Passport number").fill(number)


def _start_visa(page: Page, kind_label: str, office: Office, statement: str) -> None:
    """From the foreigner's page: "Apply for a visa", the kind, the office, the arrival; a draft is started."""
    page.locator("#applications").get_by_role("link", name="Apply for a visa").click()
    expect(page).to_have_url(re.compile(r"/visa/orang-asing/[0-9a-f-]{36}/permohonan/$"))
    page.get_by_label(kind_label).check()
    page.get_by_label("Immigration office handling the application").select_option(label=office.name)
    arrival = timezone.localdate() + dt.timedelta(days=14)
    page.get_by_label("Intended date of arrival in Indonesia").fill(arrival.isoformat())
    page.get_by_label("Purpose of the stay, in your words").fill(statement)
    page.get_by_role("button", name="Start the application").click()
    expect(page).to_have_url(re.compile(r"/visa/permohonan/[0-9a-f-]{36}/$"))
    expect(page.locator(".messages")).to_contain_text("The application is started.")
    expect(page.locator("#status")).to_have_text("Draft")


def _upload_and_submit(page: Page, files: dict[str, tuple[str, Path]]) -> str:
    """Each document (code -> label, file) on the draft's page, then the declaration; the billing code shown."""
    for code, (label, path) in files.items():
        card = page.locator(f"#document-{code}")
        card.get_by_label(label).set_input_files(path)
        card.get_by_role("button", name="Upload").click()
        expect(page.locator(".messages")).to_contain_text(f"Saved: {label}.")
        expect(page.locator(f"#document-{code} .uploaded")).to_contain_text("image/jpeg")
    page.get_by_label("I declare that what I entered and uploaded is true and complete.").check()
    page.get_by_role("button", name="Submit the application").click()
    expect(page.locator(".messages")).to_contain_text("Submitted. Your reference number is ")
    expect(page.locator("#status")).to_have_text("Submitted; waiting for payment")
    expect(page.locator(".reference")).to_have_text(re.compile(r"^VIS-\d{4}-\d{4}-\d{4}$"))
    expect(page.locator("#bill .status")).to_have_text("Waiting for payment")
    code = page.locator(".billing-code").get_attribute("data-billing-code") or ""
    assert re.fullmatch(r"\d{15}", code), code
    shown = page.locator(".billing-code").inner_text().replace(" ", "")
    assert shown == code, (shown, code)
    return code


def _application_for(page: Page) -> VisaApplication:
    public_id = re.search(r"/visa/permohonan/([0-9a-f-]{36})/", page.url)
    assert public_id is not None, page.url
    return VisaApplication.objects.get(public_id=public_id.group(1))


def _pay_by_card(bank: Page, bank_url: str, billing_code: str, holder: str, amount: int) -> str:
    """The bank's online card screen: billing code and card, the bill as Gerbang reports it, pay; the NTPN."""
    bank.goto(bank_url + "/card")
    expect(bank.locator("h1")).to_contain_text("Card (online)")
    bank.get_by_label("Billing code").fill(billing_code)
    bank.get_by_label("Card number").fill(" ".join(TEST_CARD[i : i + 4] for i in range(0, 16, 4)))
    bank.get_by_label("Expiry month").fill("12")
    bank.get_by_label("Expiry year").fill(str(timezone.localdate().year + 2))
    bank.get_by_label("Card holder name").fill(holder)
    bank.get_by_role("button", name="Check bill").click()
    expect(bank.locator("h1")).to_contain_text("Confirm payment")
    expect(bank.locator("table.bill strong")).to_have_text(_rupiah(amount))
    expect(bank.locator("main")).to_contain_text("**** **** **** " + TEST_CARD[-4:])
    bank.get_by_role("button", name=re.compile(r"^Pay Rp")).click()
    expect(bank.locator("h1")).to_contain_text("Receipt")
    return bank.locator(".ntpn").inner_text().strip()


def _pay_at_teller(bank: Page, bank_url: str, billing_code: str, amount: int) -> str:
    _teller_confirmation(bank, bank_url, billing_code)
    expect(bank.locator("h1")).to_contain_text("Confirm payment")
    expect(bank.locator("table.bill strong")).to_have_text(_rupiah(amount))
    expect(bank.locator("main")).to_contain_text(f"account ending {PAYER_ACCOUNT[-4:]}")
    bank.get_by_role("button", name=re.compile(r"^Pay Rp")).click()
    expect(bank.locator("h1")).to_contain_text("Receipt")
    return bank.locator(".ntpn").inner_text().strip()


def _pdf_text(page: Page, site_url: str, link: Locator) -> str:
    """The PDF behind ``link``, fetched with the page's own session (headless Chromium has no PDF viewer)."""
    href = link.get_attribute("href")
    assert href is not None
    answer = page.context.request.get(site_url + href)
    assert answer.status == 200, answer.status
    assert answer.headers["content-type"] == "application/pdf"
    body = answer.body()
    assert body.startswith(b"%PDF"), body[:20]
    return "".join(p.extract_text() for p in PdfReader(BytesIO(body)).pages)


def _open_visa_case(page: Page, application: VisaApplication, index_code: str, step: str, status: str) -> None:
    """From the staff console: "Cases drawn for me", the one visa case (kind, step, status), then its page."""
    page.goto("/staf/")
    page.get_by_role("link", name="Cases drawn for me").click()
    expect(page).to_have_url(re.compile(r"/staf/kasus/$"))
    rows = page.locator("#visa-worklist tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.locator("td")).to_have_text(
        [application.reference, index_code, step, status, application.office.name, re.compile(r"\S")]
    )
    rows.get_by_role("link", name=application.reference).click()
    expect(page).to_have_url(re.compile(rf"/staf/visa/kasus/{application.reference}/$"))
    expect(page.locator("#case-status")).to_have_text(status)


def _record(page: Page, step: str) -> None:
    page.locator(f"#step-{step}").get_by_role("button", name="Record").click()
    expect(page.locator(".messages")).to_contain_text(DONE)


def _holder(application: VisaApplication, duty: str) -> User:
    return Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True).officer


def _post_json(url: str, payload: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 (local)
        url, json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (local)
        return dict(json.loads(answer.read()))


def _cross_border(border_url: str, person: Foreigner, direction: str, at: dt.datetime | None = None) -> BorderMovement:
    """Border control records a crossing (its test API); Gerbang has it once border control's report arrived."""
    payload = {
        "direction": direction,
        "nationality": person.nationality,
        "passport_number": person.passport_number,
        "port": "CGK",
    }
    if at is not None:
        payload["at"] = at.replace(microsecond=0).isoformat()
    event_id = _post_json(border_url + "/v1/test/movements", payload)["event_id"]
    deadline = time.monotonic() + NOTIFICATION_WAIT_S
    while (movement := BorderMovement.objects.filter(event_id=event_id).first()) is None:
        assert time.monotonic() < deadline, f"border control's report {event_id} did not reach Gerbang"
        time.sleep(0.1)
    return movement


# --- 1. An e-VoA with no officer ----------------------------------------------------------------------------


def test_a_foreign_national_registers_files_an_evoa_pays_by_card_and_anyone_checks_it(
    new_page: Callable[[], Page], site_url: str, sandbox_bank: SandboxBank, tmp_path: Path
) -> None:
    load_data()
    office = build_office(province_code="31")
    email = "kenji.tanaka@example.test"
    lines = passport_lines(surname="TANAKA", given_names="KENJI", nationality="JPN", sex="M")
    number = lines[2]
    page = new_page()
    errors = watch_errors(page)

    # A foreign national creates an account (no NIK), confirms the e-mail address and signs in.
    page.goto("/akun/daftar/")
    page.locator("main").get_by_role("link", name="Create an account for visas and stay permits").click()
    expect(page).to_have_url(re.compile(r"/visa/daftar/$"))
    page.fill("#id_full_name", "Kenji Tanaka")
    page.fill("#id_email", email)
    page.fill("#id_password", APPLICANT_PASSWORD)
    page.fill("#id_password_again", APPLICANT_PASSWORD)
    page.select_option("#id_language", "en")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your e-mail")
    expect(page.locator("main")).to_contain_text(email)
    sent = [m for m in mail.outbox if email in m.to]
    assert len(sent) == 1, [m.to for m in mail.outbox]
    link = VERIFY_LINK.search(str(sent[0].body))
    assert link is not None, sent[0].body
    page.goto(link.group(1))
    expect(page.locator("h1")).to_have_text("E-mail address confirmed")
    _sign_in_applicant(page, email, APPLICANT_PASSWORD)

    # The passport: a surname that differs from the MRZ is refused beside the field; then as printed.
    expect(page.locator("#way-foreigner")).to_contain_text("I am a foreign national")
    page.get_by_role("link", name="Add my passport").click()
    expect(page.locator("h1")).to_have_text("Add your passport")
    _fill_in_passport(page, lines, "Tanako", "Kenji", "1988-04-12")
    page.get_by_role("button", name="Check and save").click()
    expect(page.locator("#id_surname_error")).to_have_text(
        "The surname does not match the passport's machine-readable zone."
    )
    expect(page.locator(".error-summary")).to_be_visible()
    assert not Foreigner.objects.exists()
    page.get_by_label("Surname, as on the passport").fill("Tanaka")
    page.get_by_role("button", name="Check and save").click()
    expect(page).to_have_url(re.compile(r"/visa/orang-asing/[0-9a-f-]{36}/$"))
    expect(page.locator(".messages")).to_contain_text("is recorded.")
    person = Foreigner.objects.get(passport_number=number)
    assert person.account is not None and person.account.email == email and person.nationality == "JPN"
    expect(page.locator("#passport")).to_contain_text(number)
    expect(page.locator("#passport")).to_contain_text("This is your own passport.")
    expect(page.locator("#stay")).to_contain_text("Border control has reported no entry of this passport.")

    # The e-VoA: a draft, the three documents, the declaration; the billing code.
    _start_visa(page, "B1 Electronic visa on arrival (e-VoA)", office, "Holiday in Bali")
    expect(page.locator("#fee")).to_contain_text(_rupiah(500_000))
    billing_code = _upload_and_submit(
        page,
        {
            "passport_page": ("Passport data page", _jpeg(tmp_path, "passport")),
            "photo": ("Recent colour photo", _jpeg(tmp_path, "photo")),
            "return_ticket": ("Return or onward ticket", _jpeg(tmp_path, "ticket")),
        },
    )
    expect(page.locator("#bill")).to_contain_text(_rupiah(500_000))
    application = _application_for(page)
    assert application.status == Status.SUBMITTED and application.sponsor is None

    # Paid on the bank's card screen; Gerbang issues the e-VoA by itself once the bank's notification arrives.
    ntpn = _pay_by_card(new_page(), sandbox_bank.url, billing_code, "KENJI TANAKA", 500_000)
    _reload_until(page, lambda: page.locator("#status"), "Issued")
    expect(page.locator("#bill .status")).to_have_text("Paid")
    expect(page.locator("#bill")).to_contain_text(ntpn)
    permit_number = page.locator("#permit-number").inner_text().strip()
    assert re.fullmatch(r"V\d{8}", permit_number), permit_number
    expect(page.locator("#permit")).to_contain_text("B1 Electronic visa on arrival (e-VoA)")
    expect(page.locator("#permit")).to_contain_text("30 days from the day of entry")
    permit = Permit.objects.get(number=permit_number)
    assert permit.application_id == application.pk and permit.issued_by is None
    assert not Assignment.objects.filter(visa_application=application).exists()  # no officer touched it

    # The PDF: the e-visa with the permit's number.
    content = _pdf_text(page, site_url, page.get_by_role("link", name="Download the PDF"))
    assert permit_number in content

    # Anyone checks it publicly: valid for its number and passport; the neutral answer for another passport.
    page.get_by_role("link", name="Check a visa or stay permit").click()
    expect(page).to_have_url(re.compile(r"/izin/periksa/$"))
    anyone = new_page()
    anyone_errors = watch_errors(anyone)
    anyone.goto("/izin/periksa/")
    expect(anyone.locator("h1")).to_have_text("Check a visa or stay permit")
    anyone.get_by_label("Permit or visa number").fill(permit_number)
    anyone.get_by_label("Holder's passport number").fill(number)
    anyone.get_by_role("button", name="Check").click()
    expect(anyone.locator("#verdict")).to_have_text(
        "Valid: Gerbang issued this permit to the holder of this passport, and it is in force today."
    )
    expect(anyone.locator("#permit-status")).to_have_text("Valid")
    expect(anyone.locator("main dl")).to_contain_text("JPN")
    expect(anyone.locator("main")).not_to_contain_text("Kenji Tanaka")
    wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
    anyone.get_by_label("Holder's passport number").fill(wrong)
    anyone.get_by_role("button", name="Check").click()
    expect(anyone.locator("#verdict")).to_have_text("No permit matches these two numbers.")
    expect(anyone.locator("main dl")).to_have_count(0)
    # The neutral answer is a 404, which Chromium logs on the console; nothing else may appear there.
    assert all("404" in e for e in anyone_errors), anyone_errors
    assert errors == []


# --- 2. A sponsored work visa: refused, appealed, issued; the entry and the ITAS -----------------------------


def test_a_sponsor_files_an_e23_refused_then_granted_on_appeal_and_registers_the_itas_after_entry(
    new_page: Callable[[], Page],
    site_url: str,
    sandbox_bank: SandboxBank,
    border_service: str,
    tmp_path: Path,
) -> None:
    load_data()
    stage: Stage = two_offices(province_code="31")
    sponsor_user = build_user(full_name="Dewi Lestari (HRD PT Maju Jaya)")
    lines = passport_lines(surname="SILVA", given_names="JOAO", nationality="BRA", sex="M")
    worker_number = lines[2]
    errors: dict[str, list[str]] = {}
    staff_pages: dict[int, Page] = {}

    def page_for(name: str) -> Page:
        page = new_page()
        errors[name] = watch_errors(page)
        return page

    def officer_page(user: User) -> Page:
        """The officer's own browser, signed in once (a hardware token's code is accepted only once)."""
        if user.pk not in staff_pages:
            staff_pages[user.pk] = page_for(f"officer {user.email}")
            _sign_in_staff(staff_pages[user.pk], user)
        return staff_pages[user.pk]

    # 1. The sponsor registers the company: a wrong NPWP is named beside its field; then the right one.
    sponsor = page_for("sponsor")
    _sign_in_applicant(sponsor, sponsor_user.email)
    sponsor.get_by_role("link", name="Register as a sponsor").click()
    expect(sponsor.locator("h1")).to_have_text("Register as a sponsor")
    expect(sponsor.get_by_label("Company", exact=True)).to_be_checked()
    sponsor.get_by_label("Company's registered name (company only)").fill("PT Maju Jaya")
    sponsor.get_by_label("Business registration number, NIB (company only)").fill("9120000123456")
    sponsor.get_by_label("Tax number, NPWP (company only)").fill("01.300.066.7-091.000")
    sponsor.get_by_label("Address in Indonesia").fill("Jl. Thamrin 10, Jakarta Pusat")
    sponsor.get_by_role("button", name="Register").click()
    expect(sponsor.locator("#id_npwp_error")).to_contain_text("not a valid NPWP")
    expect(sponsor.locator(".error-summary")).to_be_visible()
    sponsor.get_by_label("Tax number, NPWP (company only)").fill("013000666091000")
    sponsor.get_by_role("button", name="Register").click()
    expect(sponsor).to_have_url(re.compile(r"/visa/$"))
    expect(sponsor.locator(".messages")).to_contain_text("You are registered as a sponsor.")
    expect(sponsor.locator("#sponsor")).to_contain_text("PT Maju Jaya (Company)")
    expect(sponsor.locator("#sponsor")).to_contain_text("013000666091000")

    # 2. The worker's passport, recorded by the sponsor as his employer.
    sponsor.get_by_role("link", name="Add a foreign national").click()
    expect(sponsor.locator("h1")).to_have_text("Add a foreign national's passport")
    _fill_in_passport(sponsor, lines, "Silva", "Joao", "1988-04-12")
    sponsor.get_by_label("I sponsor this person").check()
    sponsor.get_by_label("How are you related to this person? (sponsors only)").fill("employer")
    sponsor.get_by_role("button", name="Check and save").click()
    expect(sponsor.locator(".messages")).to_contain_text("is recorded.")
    expect(sponsor.locator("#passport")).to_contain_text("Sponsored by")
    expect(sponsor.locator("#passport")).to_contain_text("PT Maju Jaya (employer)")
    worker = Foreigner.objects.get(passport_number=worker_number)
    assert worker.account is None and worker.nationality == "BRA"

    # 3. The E23 at the home office: documents, submission, payment at the bank's teller.
    _start_visa(sponsor, "E23 Limited-stay visa for workers", stage.home, "Software engineer for the Jakarta office")
    billing_code = _upload_and_submit(
        sponsor,
        {
            "passport_page": ("Passport data page", _jpeg(tmp_path, "passport")),
            "photo": ("Recent colour photo", _jpeg(tmp_path, "photo")),
            "sponsor_letter": ("Sponsor's letter of guarantee", _jpeg(tmp_path, "guarantee")),
            "employment_contract": (
                "Employment contract and approved foreign-worker plan (RPTKA)",
                _jpeg(tmp_path, "contract"),
            ),
        },
    )
    application = _application_for(sponsor)
    assert application.sponsor is not None and application.sponsor.name == "PT Maju Jaya"
    bill_amount = application.bills.get().amount
    _pay_at_teller(new_page(), sandbox_bank.url, billing_code, bill_amount)
    _reload_until(sponsor, lambda: sponsor.locator("#status"), "Fee paid; documents being checked")
    expect(sponsor.locator("#bill .status")).to_have_text("Paid")
    application.refresh_from_db()

    # 4. The verifier Gerbang drew accepts the documents.
    assert _holder(application, Duty.VERIFICATION) == stage.staff["verifier"]
    verifier = officer_page(stage.staff["verifier"])
    _open_visa_case(verifier, application, "E23", "Document verification", "Fee paid; documents being checked")
    expect(verifier.locator("#foreigner")).to_contain_text(worker_number)
    expect(verifier.locator("#sponsor")).to_contain_text("PT Maju Jaya")
    expect(verifier.locator("#documents li")).to_have_count(4)
    expect(verifier.locator("#checks")).to_contain_text("Every automatic check passed.")
    step = verifier.locator("#step-verify")
    step.get_by_label("Accept: the documents are in order").check()
    step.get_by_label("Note (when asking: what is wrong, shown to the filer)").fill("Complete and legible.")
    _record(verifier, "verify")
    expect(verifier.locator("#case-status")).to_have_text("Documents checked; waiting for the decision")
    expect(verifier.locator("section.step")).to_have_count(0)

    # 5. The adjudicator drawn at the division's other office proposes a refusal: first without its legal reason.
    proposer = _holder(application, Duty.DECISION)
    assert proposer in (stage.staff["adjudicator"], stage.staff["reviewer"])
    adjudicator = officer_page(proposer)
    _open_visa_case(adjudicator, application, "E23", "Decision", "Documents checked; waiting for the decision")
    deciding = adjudicator.locator("#step-decide")
    deciding.get_by_label("Refuse", exact=True).check()
    deciding.get_by_label("Reasons").fill("The contract describes a sales job, not software engineering.")
    deciding.get_by_role("button", name="Record").click()
    expect(adjudicator.locator("#id_decide-reason_error")).to_have_text("A refusal needs its legal reason.")
    expect(adjudicator.locator("#case-status")).to_have_text("Documents checked; waiting for the decision")
    assert not application.decisions.exists()
    # The page answers a refused form with 400, as designed; Chromium logs that, and nothing else may appear.
    console = errors[f"officer {proposer.email}"]
    assert len(console) == 1 and "status of 400" in console[0], console
    console.clear()
    deciding = adjudicator.locator("#step-decide")
    expect(deciding.get_by_label("Refuse", exact=True)).to_be_checked()
    deciding.get_by_label("Legal reason (refusal only)").select_option(label=REFUSAL_REASON)
    _record(adjudicator, "decide")
    expect(adjudicator.locator("#case-status")).to_have_text("Refusal proposed; a second reviewer decides")

    # 6. The other adjudicator, drawn for the second review, confirms the refusal.
    second = _holder(application, Duty.REFUSAL_REVIEW)
    assert second != proposer and second in (stage.staff["adjudicator"], stage.staff["reviewer"])
    reviewer = officer_page(second)
    _open_visa_case(
        reviewer, application, "E23", "Second review of a refusal", "Refusal proposed; a second reviewer decides"
    )
    expect(reviewer.locator("#decisions")).to_contain_text("The contract describes a sales job")
    review = reviewer.locator("#step-review")
    review.get_by_label("Confirm the refusal").check()
    review.get_by_label("Reasons").fill("Agreed: the contract's job is not the one stated.")
    _record(reviewer, "review")
    expect(reviewer.locator("#case-status")).to_have_text("Refused")

    # 7. The sponsor sees the refusal and its legal reason, and appeals with grounds.
    sponsor.reload()
    expect(sponsor.locator("#status")).to_have_text("Refused")
    expect(sponsor.locator("#decisions .refusal-reason").first).to_have_text(REFUSAL_REASON)
    # The summary under the decisions names the legal ground too. Checked at the end, so that the rest of the
    # journey runs: the template asks for ``get_refusal_reason_display``, which the field without choices lacks.
    ground = sponsor.locator("#decisions p", has_text="The application was refused on this legal ground")
    expect(ground).to_have_count(1)
    refused_on_ground = ground.locator("strong").inner_text().strip()
    appeal = sponsor.locator("#appeal")
    appeal.get_by_label("Grounds of the appeal").fill(
        "Page 2 of the contract names the position: senior software engineer. The job title was a template error."
    )
    appeal.get_by_role("button", name="Appeal", exact=True).click()
    expect(sponsor.locator(".messages")).to_contain_text("Your appeal is with the regional division.")
    expect(sponsor.locator("#status")).to_have_text("Appeal to the regional division")
    expect(sponsor.locator("#appeal")).to_have_count(0)

    # 8. The regional supervisor grants the appeal on the case page.
    assert _holder(application, Duty.APPEAL) == stage.staff["supervisor"]
    supervisor = officer_page(stage.staff["supervisor"])
    _open_visa_case(supervisor, application, "E23", "Appeal", "Appeal to the regional division")
    expect(supervisor.locator("#timeline")).to_contain_text("Page 2 of the contract names the position")
    granting = supervisor.locator("#step-appeal")
    granting.get_by_label("Grant: issue the permit").check()
    granting.get_by_label("Reasons").fill("The contract's page 2 shows the engineering position.")
    _record(supervisor, "appeal")
    expect(supervisor.locator("#case-status")).to_have_text("Issued")

    # 9. The sponsor sees the visa issued and downloads the e-visa: its MRZ names the worker.
    sponsor.reload()
    expect(sponsor.locator("#status")).to_have_text("Issued")
    visa_number = sponsor.locator("#permit-number").inner_text().strip()
    expect(sponsor.locator("#permit")).to_contain_text("E23 Limited-stay visa for workers")
    expect(sponsor.locator("#permit")).to_contain_text("Enter Indonesia by")
    content = _pdf_text(sponsor, site_url, sponsor.get_by_role("link", name="Download the PDF"))
    assert visa_number in content
    assert "V<IDNSILVA<<JOAO" in content.replace(" ", ""), content
    visa = Permit.objects.get(number=visa_number)
    assert visa.application_id == application.pk and visa.issued_by == stage.staff["supervisor"]

    # 10. Border control reports the worker's entry; the foreigner's page shows the stay.
    entry = _cross_border(border_service, worker, "entry")
    assert entry.foreigner == worker and entry.permit == visa
    sponsor.get_by_role("link", name="Back to the person's page").click()
    expect(sponsor.locator("h1")).to_have_text(worker.full_name)
    stay = sponsor.locator("#stay")
    expect(stay).to_contain_text("Entered")
    expect(stay).to_contain_text(f"CGK · E23 {visa_number}")
    expect(stay).to_contain_text("Stay allowed until")
    expect(sponsor.locator("#days-left")).to_contain_text("days left of the allowed stay.")
    expect(sponsor.locator("#permits")).to_contain_text("Used for entry")

    # 11. The sponsor starts the ITAS registration from that page, uploads, submits, pays by card.
    registration_link = sponsor.locator("#follow-up-registration").get_by_role(
        "link", name="Register the limited stay permit (ITAS) after arrival"
    )
    registration_link.click()
    expect(sponsor.locator("h1")).to_have_text("Register the limited stay permit (ITAS) after arrival")
    sponsor.get_by_label("Immigration office of the place of stay").select_option(label=stage.home.name)
    sponsor.get_by_role("button", name="Start the application").click()
    expect(sponsor).to_have_url(re.compile(r"/visa/permohonan/[0-9a-f-]{36}/$"))
    expect(sponsor.locator("h1")).to_contain_text("ITAS Limited stay permit")
    billing_code = _upload_and_submit(
        sponsor,
        {
            "passport_page": ("Passport data page", _jpeg(tmp_path, "passport-itas")),
            "photo": ("Recent colour photo", _jpeg(tmp_path, "photo-itas")),
            "stay_address": ("Statement of the address of stay", _jpeg(tmp_path, "address")),
        },
    )
    registration = _application_for(sponsor)
    assert registration.entry == entry and registration.purpose == "registration"
    _pay_by_card(new_page(), sandbox_bank.url, billing_code, "PT MAJU JAYA", registration.bills.get().amount)
    _reload_until(sponsor, lambda: sponsor.locator("#status"), "Fee paid; documents being checked")
    registration.refresh_from_db()

    # 12. The verifier and the drawn adjudicator approve the registration in their browsers.
    assert _holder(registration, Duty.VERIFICATION) == stage.staff["verifier"]
    _open_visa_case(verifier, registration, "ITAS", "Document verification", "Fee paid; documents being checked")
    expect(verifier.locator("#application")).to_contain_text("Entry registered")
    step = verifier.locator("#step-verify")
    step.get_by_label("Accept: the documents are in order").check()
    _record(verifier, "verify")
    expect(verifier.locator("#case-status")).to_have_text("Documents checked; waiting for the decision")
    deciding_officer = _holder(registration, Duty.DECISION)
    assert deciding_officer in (stage.staff["adjudicator"], stage.staff["reviewer"])
    adjudicator = officer_page(deciding_officer)
    _open_visa_case(adjudicator, registration, "ITAS", "Decision", "Documents checked; waiting for the decision")
    deciding = adjudicator.locator("#step-decide")
    deciding.get_by_label("Approve", exact=True).check()
    deciding.get_by_label("Reasons").fill("Entered on the E23; address of stay in Jakarta.")
    _record(adjudicator, "decide")
    expect(adjudicator.locator("#case-status")).to_have_text("Issued")

    # 13. The sponsor sees the ITAS number.
    sponsor.reload()
    expect(sponsor.locator("#status")).to_have_text("Issued")
    itas_number = sponsor.locator("#permit-number").inner_text().strip()
    assert re.fullmatch(r"ITAS\d{10}", itas_number), itas_number
    expect(sponsor.locator("#permit")).to_contain_text("ITAS Limited stay permit")
    itas = Permit.objects.get(number=itas_number)
    assert itas.application_id == registration.pk and itas.valid_from == timezone.localtime(entry.at).date()

    assert errors == {name: [] for name in errors}
    assert refused_on_ground == REFUSAL_REASON, (
        "the refused application's page states no legal ground: templates/visas/application.html renders "
        "application.get_refusal_reason_display, but VisaApplication.refusal_reason has no choices"
    )


# --- 3. An overstay, fined from border control's reports and paid by card -----------------------------------


def test_an_overstayer_sees_the_fine_on_their_page_and_pays_it_by_card(
    new_page: Callable[[], Page], sandbox_bank: SandboxBank, border_service: str, tmp_path: Path
) -> None:
    load_data()
    office = build_office(province_code="31")
    user = build_user(full_name="John Smith")
    person = foreigner(user, own=True, surname="SMITH", given_names="JOHN", nationality="GBR", sex="M")
    # His e-VoA, issued without an officer 40 days ago (the sandbox cannot wait a month).
    application = filed(user, person, "evoa", office)
    pay(application, tmp_path)
    assert application.status == Status.ISSUED
    permit = application.issued_permit
    backdate(permit, 40)

    # Border control: he entered 35 days ago on it (30 days of stay) and leaves now.
    entry = _cross_border(border_service, person, "entry", timezone.now() - dt.timedelta(days=35))
    assert entry.permit == permit
    _cross_border(border_service, person, "exit")
    fine = OverstayFine.objects.get(foreigner=person)
    assert (fine.days, fine.amount) == (6, 6_000_000)

    # He signs in: his page shows the exit, the fine of 6 days and its billing code.
    page = new_page()
    errors = watch_errors(page)
    _sign_in_applicant(page, user.email)
    page.locator("#own").get_by_role("link", name="Your stay, permits and applications").click()
    expect(page.locator("h1")).to_have_text(person.full_name)
    expect(page.locator("#stay")).to_contain_text("Left Indonesia on ")
    expect(page.locator("#stay")).to_contain_text(" through CGK.")
    fines = page.locator("#fines .fine")
    expect(fines).to_have_count(1)
    allowed_until = f"{fine.allowed_until.day} {fine.allowed_until:%B %Y}"
    expect(fines.locator("p").first).to_have_text(f"6 days beyond the stay allowed until {allowed_until}.")
    expect(fines).to_contain_text(_rupiah(6_000_000))
    expect(fines.locator(".status")).to_have_text("Waiting for payment")
    billing_code = fines.locator(".billing-code").get_attribute("data-billing-code") or ""
    assert billing_code == fine.bill.billing_code

    # He pays it on the bank's card screen; the page then shows it paid.
    ntpn = _pay_by_card(new_page(), sandbox_bank.url, billing_code, "JOHN SMITH", 6_000_000)
    _reload_until(page, lambda: page.locator("#fines .fine .status"), "Paid")
    expect(page.locator("#fines")).to_contain_text(ntpn)
    expect(page.locator("#fines .pay-how")).to_have_count(0)
    fine.bill.refresh_from_db()
    assert fine.bill.status == "paid" and fine.bill.ntpn == ntpn
    assert errors == []
