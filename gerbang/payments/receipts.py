"""Receipts: what the applicant keeps, and what anyone can check with the QR code on it."""

from __future__ import annotations

from io import BytesIO

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from PIL import Image, ImageDraw

from .models import Bill, Payment


def mask_name(name: str) -> str:
    """``Siti Rahayu`` -> ``S*** R*****``: enough to recognise, too little to learn a name from."""
    return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())


def verification_url(bill: Bill) -> str:
    path = reverse("public:receipt_verify", kwargs={"ntpn": bill.ntpn, "billing_code": bill.billing_code})
    return settings.GERBANG_PUBLIC_URL.rstrip("/") + path


def qr_data_uri(bill: Bill) -> str:
    return str(segno.make(verification_url(bill), error="m").svg_data_uri(scale=4))


def verified_payment(ntpn: str, billing_code: str) -> tuple[Bill, Payment] | None:
    """The paid bill and its crediting payment when both numbers belong together; otherwise ``None``."""
    bill = Bill.objects.filter(ntpn=ntpn, billing_code=billing_code, status=Bill.Status.PAID).first()
    if bill is None:
        return None
    # Credited on arrival, or an exception two finance officers accepted: either way the bill carries its NTPN.
    payment = Payment.objects.select_related("bank").filter(bill=bill, ntpn=ntpn).first()
    return (bill, payment) if payment is not None else None


def receipt_pdf(bill: Bill, payment: Payment) -> bytes:
    """An A6 receipt drawn with Pillow (text and the QR code) and saved as a one-page PDF."""
    page = Image.new("RGB", (874, 1240), "white")  # A6 at 200 dpi
    draw = ImageDraw.Draw(page)
    lines = [
        "GERBANG - BUKTI PEMBAYARAN / PAYMENT RECEIPT",
        "",
        f"Kode billing / Billing code: {bill.billing_code}",
        f"Jumlah / Amount: Rp {bill.amount:,}".replace(",", "."),
        f"Atas nama / Name: {mask_name(bill.payer_name)}",
        f"Dibayar / Paid: {timezone.localtime(payment.paid_at):%Y-%m-%d %H:%M %Z}",
        f"Bank: {payment.bank.name} ({payment.channel})",
        f"NTB: {payment.ntb}",
        f"NTPN: {payment.ntpn}",
        "",
        "Periksa keaslian / Verify: scan the QR code",
    ]
    y = 60
    for line in lines:
        draw.text((60, y), line, fill="black")
        y += 40
    qr = BytesIO()
    segno.make(verification_url(bill), error="m").save(qr, kind="png", scale=8, border=2)
    qr.seek(0)
    with Image.open(qr) as code:
        page.paste(code.convert("RGB"), (60, y + 20))
    out = BytesIO()
    page.save(out, "PDF", resolution=200.0)
    return out.getvalue()
