"""The applicant's receipt (page and PDF) and the public check of any receipt."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gerbang.accounts.decorators import applicant_required
from gerbang.applications.selectors import application_for_filer

from . import actions, receipts
from .bank_client import BankUnavailable
from .models import Bill, Payment


def _paid_bill(request: HttpRequest, public_id: str) -> tuple[Bill, Payment]:
    application = application_for_filer(request.user, public_id)
    # The payment whose NTPN the bill carries: credited on arrival, or accepted later by two finance officers.
    payment = (
        Payment.objects.select_related("bank", "bill")
        .filter(bill__application=application, bill__status=Bill.Status.PAID, bill__ntpn=F("ntpn"))
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
    # Only the exact numbers: a real NTPN with characters added to it is not that receipt.
    exact = len(ntpn) == 16 and len(billing_code) == 15
    found = receipts.verified_payment(ntpn, billing_code) if exact else None
    context = {"ntpn": ntpn[:16], "billing_code": billing_code[:15], "genuine": found is not None}
    if found is not None:
        bill, _payment = found
        context |= {"masked_name": receipts.mask_name(bill.payer_name), "amount": bill.amount, "paid_at": bill.paid_at}
    return render(request, "payments/verify.html", context, status=200 if found else 404)


NTPN_OUTCOMES = {
    "credited": (messages.SUCCESS, gettext_lazy("The bank confirmed your payment. The fee is now paid.")),
    "duplicate": (messages.INFO, gettext_lazy("Gerbang had already received this payment from the bank.")),
    "exception": (
        messages.WARNING,
        gettext_lazy(
            "The bank has this payment, but Gerbang cannot credit it to your bill automatically (for example it "
            "was paid after the bill expired, or the amount differs). A finance officer will resolve it; you do "
            "not need to pay again or go to the office."
        ),
    ),
    "other_bill": (messages.ERROR, gettext_lazy("This NTPN belongs to a payment for another billing code.")),
    "not_found": (
        messages.ERROR,
        gettext_lazy("No bank has a payment with this NTPN. Check it against your bank receipt."),
    ),
}


@applicant_required
@require_POST
def ntpn_check(request: HttpRequest, public_id: str) -> HttpResponse:
    """The applicant paid but the bill still shows unpaid: ask the banks about the NTPN on their receipt."""
    application = application_for_filer(request.user, public_id)
    try:
        outcome = actions.check_ntpn(application, request.POST.get("ntpn", ""), actor=request.user)
    except ValidationError as exc:
        for message in exc.message_dict.get("ntpn", exc.messages):
            messages.error(request, message)
    except BankUnavailable:
        messages.error(request, _("The bank cannot be reached right now. Please try again in a few minutes."))
    else:
        level, text = NTPN_OUTCOMES[outcome]
        messages.add_message(request, level, text)
    return redirect("applications:detail", public_id=application.public_id)
