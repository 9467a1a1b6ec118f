"""The applicant pays a bill at the sandbox bank's own screens and follows it on Gerbang, in a real Chromium.

The bank is the sandbox (``services/bank``) as a real process talking to the live
server; its teller pages are driven in a second browser context, as the bank's
own site. Gerbang's pages are in English (the browser asks for it).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from gerbang import browser as browser_fixtures
from gerbang.applications.models import PassportApplication
from gerbang.browser import watch_errors
from gerbang.conftest import PASSWORD
from gerbang.payments.models import Bill, Payment

from .conftest import SandboxBank
from .support import submitted_application

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The payments conftest does not offer the Playwright fixtures; pytest finds them here by name.
browser = browser_fixtures.browser
new_page = browser_fixtures.new_page
site_url = browser_fixtures.site_url

PAYER_ACCOUNT = "9876543210"
NOTIFICATION_WAIT_S = 15
NTPN = re.compile(r"[A-Z0-9]{16}")


def _rupiah(amount: int) -> str:
    return "Rp\u00a0" + f"{amount:,}".replace(",", ".")


def _sign_in_and_open_application(page: Page, application: PassportApplication) -> None:
    """The sign-in page with e-mail and password, then the application's status page from the account page."""
    page.goto("/akun/masuk/")
    page.fill("#id_username", application.filer.email)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/akun/$"))
    page.locator("main table").get_by_role("link", name="Status").click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{application.public_id}/$"))
    expect(page.locator("h1")).to_have_text("Passport application for Siti Rahayu")


def _teller_confirmation(bank_page: Page, bank_url: str, billing_code: str) -> None:
    """At the bank's teller screen: the billing code and the payer's account, up to the "Pay" confirmation."""
    bank_page.goto(bank_url + "/teller")
    expect(bank_page.locator("h1")).to_contain_text("Teller")
    bank_page.get_by_label("Billing code").fill(billing_code)
    bank_page.get_by_label("Payer's account, or cash").fill(PAYER_ACCOUNT)
    bank_page.get_by_role("button", name="Check bill").click()


def _wait_until_paid(page: Page) -> None:
    """Reload the status page until the bank's (asynchronous) notification has made the bill paid."""
    deadline = time.monotonic() + NOTIFICATION_WAIT_S
    while True:
        page.reload()
        try:
            expect(page.locator("#bill-status")).to_have_text("Paid", timeout=1_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_the_applicant_pays_at_the_teller_sees_the_bill_paid_and_anyone_can_check_the_receipt(
    new_page: Callable[[], Page], site_url: str, sandbox_bank: SandboxBank, settings: Any
) -> None:
    settings.GERBANG_PUBLIC_URL = site_url  # the receipt's verification link and QR code point at this server
    application, bill = submitted_application()
    amount = _rupiah(bill.amount)

    page = new_page()
    errors = watch_errors(page)
    _sign_in_and_open_application(page, application)
    expect(page.locator("#bill-status")).to_have_text("Waiting for payment")
    expect(page.get_by_role("link", name="Receipt", exact=True)).to_have_count(0)
    expect(page.locator("section.bill")).to_contain_text(amount)
    billing_code = page.locator(".billing-code").inner_text().strip()
    assert billing_code == bill.billing_code

    # The bank's own site, in its own browser context: the bill as Gerbang reports it, then payment.
    bank_page = new_page()
    _teller_confirmation(bank_page, sandbox_bank.url, billing_code)
    expect(bank_page.locator("h1")).to_contain_text("Confirm payment")
    bill_table = bank_page.locator("table.bill")
    expect(bill_table).to_contain_text("Siti Rahayu")
    expect(bill_table.locator("strong")).to_have_text(amount)
    expect(bank_page.locator("main")).to_contain_text(f"account ending {PAYER_ACCOUNT[-4:]}")
    pay_button = re.compile(r"^Pay Rp\s" + re.escape(amount.removeprefix("Rp\u00a0")) + r"\b")
    bank_page.get_by_role("button", name=pay_button).click()
    expect(bank_page).to_have_url(re.compile(r"/receipts/SBX[0-9]{13}$"))
    expect(bank_page.locator("h1")).to_contain_text("Receipt")
    expect(bank_page.locator("table.receipt")).to_contain_text(amount)
    ntpn = bank_page.locator(".ntpn").inner_text().strip()
    ntb = bank_page.locator(".ntb").inner_text().strip()
    assert NTPN.fullmatch(ntpn), ntpn

    # Back on Gerbang: the bank notifies in the background; the status page shows the bill paid.
    _wait_until_paid(page)
    expect(page.locator("section.bill")).to_contain_text(ntpn)
    expect(page.locator("form.ntpn-check")).to_have_count(0)
    page.get_by_role("link", name="Receipt", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/permohonan/{application.public_id}/kuitansi/$"))
    expect(page.locator("h1")).to_have_text("Payment receipt")
    expect(page.locator("#ntpn")).to_have_text(ntpn)
    expect(page.locator("main dl")).to_contain_text(ntb)
    expect(page.locator("main dl")).to_contain_text(amount)
    qr = page.locator('main img[alt="QR code that opens the public check of this receipt"]')
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code did not render"
    verify_link = page.locator("main a", has_text="/kuitansi/")
    verify_url = verify_link.get_attribute("href")
    assert verify_url == f"{site_url}/kuitansi/{ntpn}/{billing_code}/", verify_url
    expect(verify_link).to_have_text(verify_url)
    assert errors == []

    # Anyone (no session) follows the link on the receipt: genuine, with a masked name and the amount.
    anonymous = new_page()
    anonymous_errors = watch_errors(anonymous)
    answer = anonymous.goto(verify_url)
    assert answer is not None and answer.status == 200
    expect(anonymous.locator("#verdict")).to_contain_text("Genuine")
    details = anonymous.locator("main dl")
    expect(details).to_contain_text("S*** R*****")
    expect(details).to_contain_text(amount)
    expect(details).to_contain_text(ntpn)
    expect(anonymous.locator("main")).not_to_contain_text("Siti Rahayu")
    assert anonymous_errors == []

    # A forged NTPN on the same billing code, and the genuine NTPN on another code: not genuine.
    # The page answers 404, which Chromium logs on the console; nothing else may appear there.
    forged = ntpn[:-1] + ("A" if ntpn[-1] != "A" else "B")
    paths = [f"/kuitansi/{forged}/{billing_code}/", f"/kuitansi/{ntpn}/{int(billing_code) ^ 1:015d}/"]
    for path in paths:
        answer = anonymous.goto(path)
        assert answer is not None and answer.status == 404, path
        expect(anonymous.locator("#verdict")).to_contain_text("Not genuine")
        expect(anonymous.locator("main")).not_to_contain_text("S*** R*****")
    assert anonymous_errors == [
        f"Failed to load resource: the server responded with a status of 404 (Not Found) ({site_url}{path})"
        for path in paths
    ]

    bill.refresh_from_db()
    assert (bill.status, bill.ntpn) == ("paid", ntpn)
    payment = Payment.objects.get(ntpn=ntpn)
    assert (payment.source, payment.channel, payment.ntb) == ("notification", "teller", ntb)
    assert PassportApplication.objects.get(pk=application.pk).status == "paid"


def test_a_lost_notification_is_found_by_the_ntpn_the_applicant_types_in(
    new_page: Callable[[], Page], sandbox_bank: SandboxBank
) -> None:
    application, bill = submitted_application()
    paid = sandbox_bank.pay(bill.billing_code, notify=False)  # the bank never tells Gerbang
    ntpn = str(paid["ntpn"])
    sandbox_bank.wait_idle()

    page = new_page()
    errors = watch_errors(page)
    _sign_in_and_open_application(page, application)
    expect(page.locator("#bill-status")).to_have_text("Waiting for payment")
    form = page.locator("form.ntpn-check")
    expect(form).to_be_visible()

    # Typed from the bank's receipt as people do: lower case, with a space in the middle.
    page.get_by_label("NTPN (16 letters and digits)").fill(f"{ntpn[:8]} {ntpn[8:]}".lower())
    page.get_by_role("button", name="Check with the bank").click()

    expect(page).to_have_url(re.compile(rf"/permohonan/{application.public_id}/$"))
    expect(page.locator(".messages")).to_contain_text("The bank confirmed your payment. The fee is now paid.")
    expect(page.locator("#bill-status")).to_have_text("Paid")
    expect(page.locator("section.bill")).to_contain_text(ntpn)
    expect(form).to_have_count(0)
    page.get_by_role("link", name="Receipt", exact=True).click()
    expect(page.locator("#ntpn")).to_have_text(ntpn)
    assert errors == []

    bill.refresh_from_db()
    assert (bill.status, bill.ntpn) == ("paid", ntpn)
    assert Payment.objects.get(ntpn=ntpn).source == "ntpn_check"


def test_the_teller_refuses_a_bill_already_paid_and_an_expired_one_and_takes_no_money(
    new_page: Callable[[], Page], sandbox_bank: SandboxBank
) -> None:
    (_application, bill), (_other, expired) = (
        submitted_application(nik) for nik in ("3173015708870001", "3173014508900002")
    )
    now = timezone.now()
    Bill.objects.filter(pk=expired.pk).update(
        issued_at=now - dt.timedelta(days=8), expires_at=now - dt.timedelta(minutes=1)
    )

    # Two tellers check the same bill; the first one takes the money.
    first, second = new_page(), new_page()
    for teller in (first, second):
        _teller_confirmation(teller, sandbox_bank.url, bill.billing_code)
        expect(teller.locator("h1")).to_contain_text("Confirm payment")
    first.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(first.locator("h1")).to_contain_text("Receipt")
    sandbox_bank.wait_idle()

    # The second teller's confirmation, still on screen, is refused: Gerbang says the bill is paid.
    second.get_by_role("button", name=re.compile(r"^Pay ")).click()
    expect(second.locator("h1")).to_contain_text("Not payable")
    expect(second.locator("main")).to_contain_text("This bill is already paid. No money was taken.")

    # A new inquiry for the same code at the teller says so at once.
    _teller_confirmation(second, sandbox_bank.url, bill.billing_code)
    expect(second.locator("h1")).to_contain_text("Not payable")
    expect(second.locator("main")).to_contain_text("This bill is already paid.")
    expect(second.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)

    # An expired bill cannot be paid either.
    _teller_confirmation(second, sandbox_bank.url, expired.billing_code)
    expect(second.locator("h1")).to_contain_text("Not payable")
    expect(second.locator("main")).to_contain_text("This bill has expired. No money was taken.")
    expect(second.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)

    assert Payment.objects.filter(bill=bill).count() == 1
    assert not Payment.objects.filter(bill=expired).exists()
    bill.refresh_from_db()
    expired.refresh_from_db()
    assert (bill.status, expired.status) == ("paid", "issued")
    status = sandbox_bank.wait_idle()
    assert status["payments"] == {"count": 1, "amount": bill.amount}  # the bank took the money once
    assert status["notifications"]["failed"] == 0
