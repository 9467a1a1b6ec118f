"""The only code that changes bills and payments. Each action writes its audit event in the same transaction.

Only :func:`credit` marks a bill paid. It is called from :func:`_receive`, the
one receiving path for money a bank proved: a pushed notification, the bank's
signed answer to an applicant's NTPN check, or a statement line that was never
notified (gerbang/payments/reconciliation.py); and from
:func:`decide_acceptance`, which credits such a stored payment when two finance
officers accept it. No person can record a payment: there is no screen, command
or API for it (a test pins the callers of ``credit``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.audit.actions import record

from . import billing_codes
from .models import Bank, Bill, Payment, PaymentException


def ensure_bank(code: str, name: str, *, actor: Any, api_url: str = "", account: str = "") -> Bank:
    """Register a collecting bank, or bring its API address and account up to date (idempotent).

    Its secret is exchanged out of band: ``manage.py bank_secret``.
    """
    with transaction.atomic():
        bank, created = Bank.objects.select_for_update().get_or_create(
            code=code, defaults={"name": name, "api_url": api_url, "account": account}
        )
        if created:
            record(
                "payments.bank_registered",
                actor=actor,
                obj=bank,
                details={"code": code, "api_url": api_url, "account": account},
            )
        elif (bank.api_url, bank.account) != (api_url, account):
            before = {"api_url": bank.api_url, "account": bank.account}
            bank.api_url, bank.account = api_url, account
            bank.save(update_fields=["api_url", "account"])
            record(
                "payments.bank_changed",
                actor=actor,
                obj=bank,
                details={"before": before, "after": {"api_url": api_url, "account": account}},
            )
    return bank


def bill_validity(service: str) -> dt.timedelta:
    return dict(settings.BILL_VALIDITY).get(service, dt.timedelta(days=7))


def issue_bill(*, application: Any, payer_name: str, items: list[dict[str, Any]], service: str, actor: Any) -> Bill:
    """A bill for the exact amount of ``items`` (the tariff in force), payable until the service's validity ends.

    Runs inside the caller's transaction (the action that commits the applicant to the service). An application
    that already has a bill waiting for payment cannot have a second one (IntegrityError).
    """
    bill = _insert_bill(application=application, payer_name=payer_name, items=items, service=service, actor=actor)
    if bill is None:
        raise IntegrityError("bill_one_open_per_application: the application already has a bill waiting for payment")
    return bill


def issue_bill_unless_open(
    *, application: Any, payer_name: str, items: list[dict[str, Any]], service: str, actor: Any
) -> Bill | None:
    """Like :func:`issue_bill`, but an application whose bill is already waiting for payment keeps it (None)."""
    return _insert_bill(application=application, payer_name=payer_name, items=items, service=service, actor=actor)


def _owner(application: Any) -> tuple[bool, dict[str, Any]]:
    """A passport application, a visa or stay-permit application (gerbang.visas), or nothing (an overstay fine):
    whether it is a visa application, and the Bill filter naming it."""
    is_visa = application is not None and application._meta.label_lower == "visas.visaapplication"
    return is_visa, ({"visa_application": application} if is_visa else {"application": application})


# Fixed names only; every value is a parameter.
_INSERT_BILL = (
    "INSERT INTO payments_bill (billing_code, application_id, visa_application_id, payer_name, amount, items, "
    "issued_at, expires_at, status, paid_at, ntpn) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, NULL, '') "
    "ON CONFLICT DO NOTHING RETURNING id"
)


def _insert_bill(
    *, application: Any, payer_name: str, items: list[dict[str, Any]], service: str, actor: Any
) -> Bill | None:
    """Insert the bill with a fresh code; None if the application already has a bill waiting for payment.

    One statement in the common case: ``ON CONFLICT DO NOTHING`` answers both a drawn code already in use
    (then another is drawn: 9 * 10^13 codes) and the open bill of the application (the partial unique index
    ``bill_one_open_per_application``), without aborting the caller's transaction.
    """
    amount = sum(int(item["amount"]) for item in items)
    now = timezone.now()
    expires_at = now + bill_validity(service)
    items_field = Bill._meta.get_field("items")
    ops = connection.ops
    is_visa, owner = _owner(application)
    application_id = getattr(application, "pk", None)
    for _attempt in range(10):
        code = billing_codes.new_billing_code()
        params = [
            code,
            None if is_visa else application_id,
            application_id if is_visa else None,
            payer_name,
            amount,
            items_field.get_db_prep_save(items, connection),
            ops.adapt_datetimefield_value(now),
            ops.adapt_datetimefield_value(expires_at),
            Bill.Status.ISSUED.value,
        ]
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_BILL, params)
            row = cursor.fetchone()
        if row is not None:
            break
        if application_id is not None and Bill.objects.filter(**owner, status="issued").exists():
            return None
    else:  # pragma: no cover - 9 * 10^13 codes
        raise RuntimeError("could not draw an unused billing code")
    bill = Bill(
        pk=row[0],
        billing_code=code,
        **owner,
        payer_name=payer_name,
        amount=amount,
        items=items,
        issued_at=now,
        expires_at=expires_at,
    )
    bill._state.adding = False
    bill._state.db = connection.alias
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
    for bill in Bill.objects.select_for_update().filter(**_owner(application)[1], status=Bill.Status.ISSUED):
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
        office=getattr(bill.application or bill.visa_application, "office", None),
        details={"payment": payment.pk, "bank": payment.bank.code, "ntpn": payment.ntpn, "amount": payment.amount},
    )
    if bill.application is not None:
        from gerbang.applications.actions import mark_paid

        mark_paid(bill.application, bill=bill)
    else:
        from gerbang.visas.actions import bill_paid

        bill_paid(bill)


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
            if bill.application is not None:
                # What the bill held (a slot) goes to the next on the waiting list.
                from gerbang.appointments.actions import release_unpaid

                release_unpaid(bill.application)
            expired += 1
    return expired


# --- An applicant's NTPN check -------------------------------------------------------------------------

NTPN_CHECKS_PER_HOUR = 5


def check_ntpn(application: Any, ntpn: str, *, actor: Any) -> str:
    """The applicant typed the NTPN from a bank receipt: ask the banks now, and receive the payment if one has it.

    A bank's answer is its signed notification of that payment, so it goes through
    the same receiving path as a pushed notification. Returns "credited",
    "duplicate" (already received), "exception", "other_bill" (the payment is
    for a billing code that is not this application's) or "not_found".
    Raises ValidationError (bad format, too many checks) or BankUnavailable.
    """
    from gerbang.audit.models import AuditEvent

    from . import bank_client
    from .bank_api import parse_notification

    ntpn = "".join(ntpn.split()).upper()
    if not re.fullmatch(r"[A-Z0-9]{16}", ntpn):
        raise ValidationError({"ntpn": _("An NTPN has 16 letters and digits, as printed on the bank's receipt.")})
    recent = AuditEvent.objects.filter(
        action="payments.ntpn_checked",
        object_type=application._meta.label_lower,
        object_id=str(application.pk),
        occurred_at__gte=timezone.now() - dt.timedelta(hours=1),
    ).count()
    if recent >= NTPN_CHECKS_PER_HOUR:
        raise ValidationError({"ntpn": _("Too many checks for this application. Try again in an hour.")})
    codes = set(Bill.objects.filter(application=application).values_list("billing_code", flat=True))
    outcome, bank_code = "not_found", ""
    for bank in Bank.objects.filter(is_active=True).exclude(api_url="").order_by("code"):
        data = bank_client.lookup_ntpn(bank, ntpn)
        if data is None:
            continue
        notification, _errors = parse_notification(data)
        if notification is None:
            raise bank_client.BankUnavailable(f"{bank.code}: the NTPN check answer is not a valid notification")
        bank_code = bank.code
        if notification.billing_code not in codes:
            outcome = "other_bill"
        else:
            outcome = receive_notification(bank, notification, source=Payment.Source.NTPN_CHECK)
        break
    with transaction.atomic():
        record(
            "payments.ntpn_checked",
            actor=actor,
            obj=application,
            office=getattr(application, "office", None),
            details={"ntpn": ntpn, "bank": bank_code, "outcome": outcome},
        )
    return outcome


# --- The exception queue (finance officers) ------------------------------------------------------------

# Which reasons may end in an acceptance; every reason may end in a refund.
ACCEPTABLE = {PaymentException.Reason.AFTER_EXPIRY}


def exception_office(exception: PaymentException) -> Any:
    """The office whose finance officers resolve it; None (the directorate's) when no application is known."""
    bill = exception.payment.bill
    return bill.application.office if bill is not None and bill.application is not None else None


def _locked_exception(exception: PaymentException, actor: Any) -> PaymentException:
    locked = (
        PaymentException.objects.select_for_update(of=("self",))
        .select_related("payment__bill__application", "payment__bank")
        .get(pk=exception.pk)
    )
    require(actor, Perm.RESOLVE_PAYMENT_EXCEPTIONS, exception_office(locked))
    return locked


def _note(note: str) -> str:
    note = note.strip()
    if len(note) < 5:
        raise ValidationError({"note": _("Say what you checked and why (at least a few words).")})
    return note[:500]


def acceptance_refusal(exception: PaymentException) -> str | None:
    """Why this money cannot be accepted for its bill now, or None when it can."""
    payment, bill = exception.payment, exception.payment.bill
    if exception.reason not in ACCEPTABLE:
        return _("Only a payment made after its bill expired can be accepted; this one can only be refunded.")
    if bill is None or bill.status not in (Bill.Status.ISSUED, Bill.Status.EXPIRED):
        return _("The bill is no longer waiting for payment.")
    if payment.amount != bill.amount:
        return _("The amount differs from the bill.")
    application = bill.application
    if application is not None and (application.paid_at is not None or application.withdrawn_at is not None):
        return _("The application is already paid or was withdrawn.")
    return None


def instruct_refund(exception: PaymentException, *, actor: Any, note: str) -> PaymentException:
    """Refund the money to its payer through the bank that took it (the bank reads the instruction)."""
    note = _note(note)
    with transaction.atomic():
        exception = _locked_exception(exception, actor)
        if exception.status not in (PaymentException.Status.OPEN, PaymentException.Status.ACCEPTANCE_PROPOSED):
            raise ValidationError(
                {"status": _("Another finance officer has already dealt with this item: reload the page.")}
            )
        exception.status = PaymentException.Status.REFUND
        exception.resolved_by = actor
        exception.resolved_at = timezone.now()
        exception.resolution_note = note
        exception.refund_reference = f"RF{exception.pk:010d}"
        exception.save()
        record(
            "payments.refund_instructed",
            actor=actor,
            obj=exception,
            office=exception_office(exception),
            details={
                "reference": exception.refund_reference,
                "payment": exception.payment_id,
                "ntpn": exception.payment.ntpn,
                "amount": exception.payment.amount,
                "note": note,
            },
        )
    return exception


def propose_acceptance(exception: PaymentException, *, actor: Any, note: str) -> PaymentException:
    """First finance officer: accept the money for its bill. Takes effect only when a second officer approves."""
    note = _note(note)
    with transaction.atomic():
        exception = _locked_exception(exception, actor)
        if exception.status != PaymentException.Status.OPEN:
            raise ValidationError(
                {"status": _("Another finance officer has already dealt with this item: reload the page.")}
            )
        refusal = acceptance_refusal(exception)
        if refusal:
            raise ValidationError({"status": refusal})
        exception.status = PaymentException.Status.ACCEPTANCE_PROPOSED
        exception.proposed_by = actor
        exception.proposed_at = timezone.now()
        exception.proposal_note = note
        exception.save()
        record(
            "payments.acceptance_proposed",
            actor=actor,
            obj=exception,
            office=exception_office(exception),
            details={"payment": exception.payment_id, "note": note},
        )
    return exception


def decide_acceptance(exception: PaymentException, *, actor: Any, approve: bool, note: str) -> PaymentException:
    """Second finance officer: approve (the bill is credited with the proven payment) or send it back to open."""
    note = _note(note)
    with transaction.atomic():
        exception = _locked_exception(exception, actor)
        if exception.status != PaymentException.Status.ACCEPTANCE_PROPOSED:
            raise ValidationError(
                {"status": _("Another finance officer has already dealt with this item: reload the page.")}
            )
        if exception.proposed_by_id == actor.pk:
            raise ValidationError({"status": _("A second finance officer must decide on your proposal.")})
        office = exception_office(exception)
        if not approve:
            exception.status = PaymentException.Status.OPEN
            exception.proposed_by = None
            exception.proposed_at = None
            exception.proposal_note = ""
            exception.save()
            record("payments.acceptance_rejected", actor=actor, obj=exception, office=office, details={"note": note})
            return exception
        if exception.payment.bill_id is not None:
            exception.payment.bill = (
                Bill.objects.select_for_update(of=("self",))
                .select_related("application")
                .get(pk=exception.payment.bill_id)
            )
        refusal = acceptance_refusal(exception)
        if refusal:
            raise ValidationError({"status": refusal})
        bill = exception.payment.bill
        assert bill is not None  # acceptance_refusal refuses a payment without a bill
        if bill.application is not None:
            # A new billing code the applicant asked for meanwhile is no longer needed.
            for other in Bill.objects.select_for_update().filter(application=bill.application, status="issued"):
                if other.pk != bill.pk:
                    other.status = Bill.Status.CANCELLED
                    other.save(update_fields=["status"])
                    record("payments.bill_cancelled", actor=actor, obj=other, details={"reason": "paid late, accepted"})
        exception.status = PaymentException.Status.ACCEPTED
        exception.resolved_by = actor
        exception.resolved_at = timezone.now()
        exception.resolution_note = note
        exception.save()
        record(
            "payments.acceptance_approved",
            actor=actor,
            obj=exception,
            office=office,
            details={"payment": exception.payment_id, "bill": bill.billing_code, "note": note},
        )
        # Money a bank proved (the payment row came from a notification or a statement), credited on the
        # word of two finance officers: never money a person typed in.
        credit(bill, exception.payment)
    return exception
