"""The only code that changes bills and payments. Each action writes its audit event in the same transaction.

Only :func:`credit` marks a bill paid; it is called from the notification path
(:func:`receive_notification`) and, in the reconciliation step, from the
statement path. No person can record a payment: there is no screen, command or
API for it (a test pins the callers of ``credit``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from gerbang.audit.actions import record

from . import billing_codes
from .models import Bank, Bill, Payment, PaymentException


def ensure_bank(code: str, name: str, *, actor: Any) -> Bank:
    """Register a collecting bank (idempotent). Its secret is exchanged out of band: ``manage.py bank_secret``."""
    with transaction.atomic():
        bank, created = Bank.objects.get_or_create(code=code, defaults={"name": name})
        if created:
            record("payments.bank_registered", actor=actor, obj=bank, details={"code": code})
    return bank


def bill_validity(service: str) -> dt.timedelta:
    return dict(settings.BILL_VALIDITY).get(service, dt.timedelta(days=7))


def issue_bill(*, application: Any, payer_name: str, items: list[dict[str, Any]], service: str, actor: Any) -> Bill:
    """A bill for the exact amount of ``items`` (the tariff in force), payable until the service's validity ends.

    Runs inside the caller's transaction (the action that commits the applicant to the service).
    """
    amount = sum(int(item["amount"]) for item in items)
    now = timezone.now()
    for _attempt in range(10):
        code = billing_codes.new_billing_code()
        if not Bill.objects.filter(billing_code=code).exists():
            break
    else:  # pragma: no cover - 9 * 10^13 codes
        raise RuntimeError("could not draw an unused billing code")
    bill = Bill.objects.create(
        billing_code=code,
        application=application,
        payer_name=payer_name,
        amount=amount,
        items=items,
        issued_at=now,
        expires_at=now + bill_validity(service),
    )
    record(
        "payments.bill_issued",
        actor=actor,
        obj=bill,
        office=getattr(application, "office", None),
        details={"billing_code": code, "amount": amount, "expires_at": bill.expires_at.isoformat()},
    )
    return bill


def cancel_open_bills(application: Any, *, actor: Any, reason: str) -> int:
    """Inside the caller's transaction: the application's unpaid bill can no longer be paid."""
    cancelled = 0
    for bill in Bill.objects.select_for_update().filter(application=application, status=Bill.Status.ISSUED):
        bill.status = Bill.Status.CANCELLED
        bill.save(update_fields=["status"])
        record("payments.bill_cancelled", actor=actor, obj=bill, details={"reason": reason})
        cancelled += 1
    return cancelled


def payable(bill: Bill, at: dt.datetime | None = None) -> bool:
    """May a bank take money for this bill now? Only an issued bill before its expiry."""
    return bill.status == Bill.Status.ISSUED and (at or timezone.now()) < bill.expires_at


@dataclass(frozen=True)
class Notification:
    """A bank's payment notification, validated (docs/bank-protocol.md)."""

    notification_id: str
    bank_code: str
    billing_code: str
    amount: int
    paid_at: dt.datetime
    ntb: str
    ntpn: str
    channel: str
    terminal_id: str
    payer_ref: str


def credit(bill: Bill, payment: Payment) -> None:
    """Mark ``bill`` paid by ``payment``: the one place where money becomes "paid". Caller holds the bill's lock."""
    bill.status = Bill.Status.PAID
    bill.paid_at = payment.paid_at
    bill.ntpn = payment.ntpn
    bill.save(update_fields=["status", "paid_at", "ntpn"])
    record(
        "payments.bill_paid",
        actor=None,
        obj=bill,
        office=getattr(bill.application, "office", None),
        details={"payment": payment.pk, "bank": payment.bank.code, "ntpn": payment.ntpn, "amount": payment.amount},
    )
    if bill.application is not None:
        from gerbang.applications.actions import mark_paid

        mark_paid(bill.application, bill=bill)


def _exception_reason(bill: Bill | None, n: Notification) -> str | None:
    if bill is None:
        return PaymentException.Reason.UNKNOWN_CODE
    if bill.status == Bill.Status.PAID:
        return PaymentException.Reason.ALREADY_PAID
    if bill.status == Bill.Status.CANCELLED:
        return PaymentException.Reason.BILL_CANCELLED
    if n.amount != bill.amount:
        return PaymentException.Reason.WRONG_AMOUNT
    if n.paid_at >= bill.expires_at or bill.status == Bill.Status.EXPIRED:
        return PaymentException.Reason.AFTER_EXPIRY
    return None


def receive_notification(bank: Bank, n: Notification, *, source: str = Payment.Source.NOTIFICATION) -> str:
    """Store a proven payment once and credit it, or queue it as an exception: "credited", "exception", "duplicate"."""
    try:
        with transaction.atomic():
            return _receive(bank, n, source)
    except IntegrityError:
        # A concurrent delivery of the same notification (or the same NTPN) committed first.
        if Payment.objects.filter(bank=bank, notification_id=n.notification_id).exists() or (
            Payment.objects.filter(ntpn=n.ntpn).exists()
        ):
            return "duplicate"
        raise


def _receive(bank: Bank, n: Notification, source: str) -> str:
    if Payment.objects.filter(bank=bank, notification_id=n.notification_id).exists() or (
        Payment.objects.filter(ntpn=n.ntpn).exists()
    ):
        return "duplicate"
    bill = (
        Bill.objects.select_for_update(of=("self",))
        .select_related("application")
        .filter(billing_code=n.billing_code)
        .first()
    )
    reason = _exception_reason(bill, n)
    payment = Payment.objects.create(
        bank=bank,
        notification_id=n.notification_id,
        source=source,
        billing_code=n.billing_code,
        bill=bill,
        amount=n.amount,
        paid_at=n.paid_at,
        ntb=n.ntb,
        ntpn=n.ntpn,
        channel=n.channel,
        terminal_id=n.terminal_id,
        payer_ref=n.payer_ref,
        outcome=Payment.Outcome.EXCEPTION if reason else Payment.Outcome.CREDITED,
        received_at=timezone.now(),
    )
    record(
        "payments.payment_received",
        actor=None,
        obj=payment,
        details={
            "bank": bank.code,
            "notification_id": n.notification_id,
            "billing_code": n.billing_code,
            "amount": n.amount,
            "source": source,
            "outcome": payment.outcome,
        },
    )
    if reason:
        exception = PaymentException.objects.create(payment=payment, reason=reason, opened_at=timezone.now())
        record("payments.exception_opened", actor=None, obj=exception, details={"reason": reason})
        return "exception"
    assert bill is not None
    credit(bill, payment)
    return "credited"


def expire_bills(now: dt.datetime | None = None) -> int:
    """Bills unpaid past their expiry plus the grace for late notifications become ``expired`` (a periodic task)."""
    cutoff = (now or timezone.now()) - settings.BILL_LATE_NOTIFICATION_GRACE
    expired = 0
    for pk in Bill.objects.filter(status=Bill.Status.ISSUED, expires_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            bill = Bill.objects.select_for_update().get(pk=pk)
            if bill.status != Bill.Status.ISSUED:
                continue
            bill.status = Bill.Status.EXPIRED
            bill.save(update_fields=["status"])
            record("payments.bill_expired", actor=None, obj=bill)
            expired += 1
    return expired
