"""The applicant's receipt (page and PDF) and the public check of any receipt."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from gerbang.accounts.decorators import applicant_required
from gerbang.applications.selectors import application_for_filer

from . import receipts
from .models import Bill, Payment


def _paid_bill(request: HttpRequest, public_id: str) -> tuple[Bill, Payment]:
    application = application_for_filer(request.user, public_id)
    payment = (
        Payment.objects.select_related("bank", "bill")
        .filter(bill__application=application, bill__status=Bill.Status.PAID, outcome=Payment.Outcome.CREDITED)
        .first()
    )
    if payment is None or payment.bill is None:
        raise Http404
    return payment.bill, payment


@applicant_required
def receipt(request: HttpRequest, public_id: str) -> HttpResponse:
    bill, payment = _paid_bill(request, public_id)
    return render(
        request,
        "payments/receipt.html",
        {
            "bill": bill,
            "payment": payment,
            "public_id": public_id,
            "qr": receipts.qr_data_uri(bill),
            "verify_url": receipts.verification_url(bill),
        },
    )


@applicant_required
def receipt_pdf(request: HttpRequest, public_id: str) -> HttpResponse:
    bill, payment = _paid_bill(request, public_id)
    response = HttpResponse(receipts.receipt_pdf(bill, payment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="receipt-{bill.ntpn}.pdf"'
    response["Cache-Control"] = "private, no-store"
    return response


def verify(request: HttpRequest, ntpn: str, billing_code: str) -> HttpResponse:
    """Public: is this receipt genuine? Only a masked name and the amount are shown."""
    found = receipts.verified_payment(ntpn[:16], billing_code[:15])
    context = {"ntpn": ntpn[:16], "billing_code": billing_code[:15], "genuine": found is not None}
    if found is not None:
        bill, _payment = found
        context |= {"masked_name": receipts.mask_name(bill.payer_name), "amount": bill.amount, "paid_at": bill.paid_at}
    return render(request, "payments/verify.html", context, status=200 if found else 404)
