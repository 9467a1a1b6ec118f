"""After the bank's proof: the applicant's receipt (page, PDF, QR) and the public check of it."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from gerbang.payments.receipts import mask_name, verification_url

from .support import make_bank, notification, send, submitted_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(settings: Any, tmp_path: Path) -> Any:
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR)
    application, bill = submitted_application()
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "credited"}
    bill.refresh_from_db()
    client = Client()
    client.force_login(application.filer)
    return application, bill, client


def test_the_status_page_shows_paid_and_the_receipt_has_the_ntpn_and_a_qr_code(paid: Any) -> None:
    application, bill, client = paid
    status = client.get(f"/permohonan/{application.public_id}/", headers={"accept-language": "en"}).content.decode()
    assert "Fee paid" in status and bill.ntpn in status and "/kuitansi/" in status
    page = client.get(f"/permohonan/{application.public_id}/kuitansi/").content.decode()
    assert bill.ntpn in page and "data:image/svg+xml" in page and verification_url(bill) in page
    pdf = client.get(f"/permohonan/{application.public_id}/kuitansi.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert len(PdfReader(BytesIO(pdf.content)).pages) == 1
    # Someone else's receipt is "not found".
    stranger = Client()
    stranger.force_login(application.filer.__class__.objects.create_user(email="x@example.test", password="x"))
    assert stranger.get(f"/permohonan/{application.public_id}/kuitansi/").status_code == 404


def test_anyone_can_check_a_receipt_and_sees_only_a_masked_name_and_the_amount(paid: Any) -> None:
    _application, bill, _client = paid
    genuine = Client().get(f"/kuitansi/{bill.ntpn}/{bill.billing_code}/", headers={"accept-language": "en"})
    html = genuine.content.decode()
    assert genuine.status_code == 200 and "Genuine" in html
    assert mask_name(bill.payer_name) == "S*** R*****" and "S*** R*****" in html and "Siti Rahayu" not in html
    assert "350.000" in html
    forged = Client().get(f"/kuitansi/{bill.ntpn}/123456789012345/", headers={"accept-language": "en"})
    assert forged.status_code == 404 and "Not genuine" in forged.content.decode()
    assert Client().get(f"/kuitansi/ABCDEF0123456789/{bill.billing_code}/").status_code == 404
    # The real numbers with characters added are not that receipt.
    assert Client().get(f"/kuitansi/{bill.ntpn}XYZ/{bill.billing_code}/").status_code == 404
    assert Client().get(f"/kuitansi/{bill.ntpn}/{bill.billing_code}9/").status_code == 404


def test_an_unpaid_application_has_no_receipt() -> None:
    application, _bill = submitted_application()
    client = Client()
    client.force_login(application.filer)
    assert client.get(f"/permohonan/{application.public_id}/kuitansi/").status_code == 404
    assert client.get(f"/permohonan/{application.public_id}/kuitansi.pdf").status_code == 404
