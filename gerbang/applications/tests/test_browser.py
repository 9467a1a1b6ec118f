"""A resident registers, files a passport application with real uploads and follows it, in a real Chromium.

The population registry is the sandbox service (``services/registry``) as a real
process; pages are in English (the browser asks for it), the source language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from gerbang.applications.models import Document, PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.browser import watch_errors
from gerbang.conftest import build_office
from gerbang.identity.tests.support import APPLICANT_PASSWORD, SITI

from .samples import GPS_MARKER, gif_bytes, jpeg_bytes, pdf_bytes, png_bytes
from .support import load_demo_tariffs

pytestmark = pytest.mark.browser

REFERENCE = re.compile(r"PAS-\d{4}-\d{4}-\d{4}")
VERIFY_LINK = re.compile(r"https?://\S+?(/akun/verifikasi/\S+/)")


def _register_and_sign_in(page: Page, email: str) -> None:
    """From the home page: create Siti's account, open the link from the e-mail, sign in."""
    page.goto("/")
    page.locator("main").get_by_role("link", name="Create an account").click()
    expect(page.locator("h1")).to_have_text("Create an account")
    page.fill("#id_nik", SITI["nik"])
    page.fill("#id_kk", SITI["kk"])
    page.fill("#id_full_name", SITI["full_name"])
    page.fill("#id_birth_date", SITI["birth_date"])
    page.fill("#id_email", email)
    page.fill("#id_password", APPLICANT_PASSWORD)
    page.fill("#id_password_again", APPLICANT_PASSWORD)
    page.select_option("#id_language", "en")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("h1")).to_have_text("Check your e-mail")
    expect(page.locator("main")).to_contain_text(email)

    messages = [m for m in mail.outbox if email in m.to]
    assert len(messages) == 1, [m.to for m in mail.outbox]
    link = VERIFY_LINK.search(str(messages[0].body))
    assert link is not None, messages[0].body
    page.goto(link.group(1))
    expect(page.locator("h1")).to_have_text("E-mail address confirmed")

    page.locator("main").get_by_role("link", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/akun/masuk/$"))
    page.fill("#id_username", email)
    page.fill("#id_password", APPLICANT_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/akun/$"))
    expect(page.locator("h1")).to_have_text("Welcome, Siti Rahayu")


def _start_application(page: Page) -> None:
    """Step 1 on the account page: a first passport for herself."""
    page.get_by_role("link", name="Apply for a passport").click()
    expect(page.locator("h1")).to_have_text("Apply for a passport")
    page.get_by_label("Myself: Siti Rahayu").check()
    page.get_by_label("First passport", exact=True).check()
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/permohonan/[0-9a-f-]{36}/langkah/kind/$"))


def test_a_resident_registers_fills_in_the_whole_form_uploads_real_files_and_sees_the_status(
    new_page: Callable[[], Page], registry: Any, tmp_path: Path
) -> None:
    load_demo_tariffs()
    office = build_office()
    files = {
        "id_ktp": tmp_path / "ktp.jpg",
        "id_kk": tmp_path / "kk.pdf",
        "id_civil_record": tmp_path / "akta.png",
    }
    files["id_ktp"].write_bytes(jpeg_bytes(exif_gps=True))
    files["id_kk"].write_bytes(pdf_bytes())
    files["id_civil_record"].write_bytes(png_bytes())

    page = new_page()
    errors = watch_errors(page)
    _register_and_sign_in(page, "siti@example.test")
    _start_application(page)

    # Step 2: the kind, already chosen on step 1.
    expect(page.locator(".step-count")).to_have_text("Step 2 of 5")
    expect(page.get_by_label("First passport", exact=True)).to_be_checked()
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: passport and office.
    expect(page).to_have_url(re.compile(r"/langkah/passport/$"))
    page.get_by_label("Electronic passport", exact=True).check()
    page.get_by_label("10 years (adults only)").check()
    page.select_option("#id_office", label=office.name)
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: the three documents a first passport needs, as real files.
    expect(page).to_have_url(re.compile(r"/langkah/documents/$"))
    for input_id, path in files.items():
        page.set_input_files(f"#{input_id}", path)
    page.get_by_role("button", name="Save and continue").click()

    # Step 5: check the answers and the itemised fee, declare, submit.
    expect(page).to_have_url(re.compile(r"/langkah/review/$"))
    expect(page.locator(".messages")).to_contain_text("Saved 3 document(s).")
    expect(page.locator(".warning")).to_have_count(0)
    fee = page.locator("table.fee")
    expect(fee.locator("tbody tr")).to_have_count(1)
    expect(fee.locator("tbody tr td.amount")).to_have_text("Rp\u00a0950.000")
    expect(fee.locator("tfoot .amount")).to_have_text("Rp\u00a0950.000")
    page.get_by_label("I declare that what I entered and uploaded is true and complete.").check()
    page.get_by_role("button", name="Submit the application").click()

    # The status page.
    expect(page).to_have_url(re.compile(r"/permohonan/[0-9a-f-]{36}/$"))
    expect(page.locator("h1")).to_have_text("Passport application for Siti Rahayu")
    expect(page.locator("#status")).to_have_text("Submitted")
    expect(page.locator(".reference")).to_have_text(REFERENCE)
    reference = page.locator(".reference").inner_text()
    expect(page.locator(".messages")).to_contain_text(f"Your reference number is {reference}")
    timeline = page.locator("ol.timeline li")
    expect(timeline).to_have_count(2)
    expect(timeline.nth(0)).to_contain_text("Draft")
    expect(timeline.nth(1)).to_contain_text("Submitted")
    expect(page.locator("table.fee tfoot .amount")).to_have_text("Rp\u00a0950.000")
    expect(page.get_by_role("link", name="Version 1")).to_be_visible()
    documents = page.locator("main h2:text-is('Documents') + ul a")
    expect(documents).to_have_count(3)

    # The documents open: the KTP in the page, the family card through the browser's session.
    kk_href = page.get_by_role("link", name="Family card (KK)").get_attribute("href")
    assert kk_href is not None
    with page.expect_response(re.compile(r"/dokumen/\d+/$")) as opened:
        page.get_by_role("link", name=re.compile(r"^ID card \(KTP\)")).click()
    ktp = opened.value
    assert ktp.status == 200 and ktp.headers["content-type"] == "image/jpeg", ktp.headers
    assert "sandbox" in ktp.headers["content-security-policy"]
    assert ktp.body()[:3] == b"\xff\xd8\xff" and GPS_MARKER.encode() not in ktp.body()  # location removed
    kk = page.request.get(kk_href)
    assert kk.status == 200 and kk.headers["content-type"] == "application/pdf", kk.headers
    assert kk.body().startswith(b"%PDF-")
    page.go_back()
    expect(page.locator("#status")).to_have_text("Submitted")

    assert errors == []

    application = PassportApplication.objects.get()
    assert application.status == "submitted"
    assert application.reference == reference.replace("-", "")
    assert application.office_id == office.pk and application.filer.email == "siti@example.test"
    assert sorted(Document.objects.filter(application=application).values_list("kind", flat=True)) == [
        "civil_record",
        "kk",
        "ktp",
    ]
    assert AuditEvent.objects.filter(action="applications.submit", object_id=str(application.pk)).count() == 1
    viewed = AuditEvent.objects.filter(action="applications.document_viewed", object_id=str(application.pk))
    assert {event.details["kind"] for event in viewed} == {"ktp", "kk"}


def test_a_gif_named_jpg_is_refused_with_an_error_summary_and_a_field_error(
    new_page: Callable[[], Page], registry: Any, tmp_path: Path
) -> None:
    load_demo_tariffs()
    fake = tmp_path / "ktp.jpg"
    fake.write_bytes(gif_bytes())

    page = new_page()
    errors = watch_errors(page)
    _register_and_sign_in(page, "siti.gif@example.test")
    _start_application(page)
    page.goto(page.url.replace("/langkah/kind/", "/langkah/documents/"))
    expect(page.locator(".step-count")).to_have_text("Step 4 of 5")

    page.set_input_files("#id_ktp", fake)
    page.get_by_role("button", name="Upload", exact=True).click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("h2")).to_have_text("There is a problem")
    summary_link = summary.locator('a[href="#id_ktp"]')
    expect(summary_link).to_have_count(1)
    expect(summary_link).to_contain_text("This file is not a JPEG, PNG or PDF.")
    field_error = page.locator("#id_ktp_error")
    expect(field_error).to_be_visible()
    expect(field_error).to_contain_text("This file is not a JPEG, PNG or PDF.")
    expect(page.locator(".field.has-error")).to_have_count(1)
    expect(page.locator(".field.has-error #id_ktp")).to_have_count(1)
    # The field points at its error for screen readers (Django names it <id>_error).
    expect(page.locator("#id_ktp")).to_have_attribute("aria-describedby", re.compile(r"\bid_ktp_error\b"))
    expect(page.locator(".messages")).to_have_count(0)  # nothing was saved
    summary_link.click()
    expect(page).to_have_url(re.compile(r"#id_ktp$"))

    assert errors == []
    application = PassportApplication.objects.get()
    assert application.status == "draft"
    assert not Document.objects.filter(application=application).exists()
