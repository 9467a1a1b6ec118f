"""Bills (billing codes), the payments banks prove, and the money that could not be credited.

Only :func:`gerbang.payments.actions.credit` marks a bill paid (a test pins its
callers). Every payment a bank reports is stored once per (bank, notification
id); money that cannot be credited becomes a :class:`PaymentException`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Bank(models.Model):
    """A collecting bank. Its HMAC secrets are not in the database: ``BANK_SECRETS_DIR/<code>.secrets``."""

    code = models.SlugField(_("bank code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    api_url = models.URLField(
        _("bank API address"),
        blank=True,
        help_text=_("Where Gerbang fetches statements and checks NTPNs; requests and answers are signed."),
    )
    account = models.CharField(
        _("collection account"), max_length=34, blank=True, help_text=_("Gerbang's account number at this bank.")
    )

    class Meta:
        verbose_name = _("bank")
        verbose_name_plural = _("banks")

    def __str__(self) -> str:
        return self.name


class Bill(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Waiting for payment")
        PAID = "paid", _("Paid")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    billing_code = models.CharField(_("billing code"), max_length=15, unique=True)
    application = models.ForeignKey(
        "applications.PassportApplication", on_delete=models.PROTECT, related_name="bills", null=True, blank=True
    )
    # A foreigner's visa or stay-permit application (gerbang.visas); an overstay fine has neither.
    visa_application = models.ForeignKey(
        "visas.VisaApplication", on_delete=models.PROTECT, related_name="bills", null=True, blank=True
    )
    payer_name = models.CharField(_("name on the bill"), max_length=200)
    amount = models.PositiveBigIntegerField(_("amount (rupiah)"))
    items = models.JSONField(_("items"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued at"))
    expires_at = models.DateTimeField(_("pay before"))
    paid_at = models.DateTimeField(_("paid at (bank time)"), null=True, blank=True)
    ntpn = models.CharField(_("NTPN"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="bill_amount_positive"),
            models.CheckConstraint(condition=Q(expires_at__gt=F("issued_at")), name="bill_expires_after_issue"),
            models.CheckConstraint(
                condition=~Q(status="paid") | (Q(paid_at__isnull=False) & ~Q(ntpn="")), name="bill_paid_has_proof"
            ),
            models.CheckConstraint(condition=Q(billing_code__regex=r"^[1-9][0-9]{14}$"), name="bill_code_15_digits"),
            # One bill waiting at a time per application.
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="issued"), name="bill_one_open_per_application"
            ),
            models.UniqueConstraint(
                fields=["visa_application"], condition=Q(status="issued"), name="bill_one_open_per_visa_application"
            ),
            models.CheckConstraint(
                condition=Q(application__isnull=True) | Q(visa_application__isnull=True), name="bill_one_purpose"
            ),
        ]

    def __str__(self) -> str:
        return self.billing_code


class Payment(models.Model):
    """A payment a bank proved (a signed notification, later a statement entry). Never changed or deleted."""

    class Source(models.TextChoices):
        NOTIFICATION = "notification", _("Signed notification")
        STATEMENT = "statement", _("Bank statement")
        NTPN_CHECK = "ntpn_check", _("Bank's signed answer to an NTPN check")

    class Outcome(models.TextChoices):
        CREDITED = "credited", _("Credited to the bill")
        EXCEPTION = "exception", _("In the exception queue")

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="payments")
    notification_id = models.CharField(_("bank's notification id"), max_length=64)
    source = models.CharField(_("source"), max_length=12, choices=Source.choices)
    billing_code = models.CharField(_("billing code paid"), max_length=40)
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, null=True, blank=True, related_name="payments")
    amount = models.PositiveBigIntegerField(_("amount (rupiah)"))
    paid_at = models.DateTimeField(_("paid at (bank time)"))
    ntb = models.CharField(_("NTB"), max_length=32)
    ntpn = models.CharField(_("NTPN"), max_length=16)
    channel = models.CharField(_("channel"), max_length=20)
    terminal_id = models.CharField(_("terminal"), max_length=40)
    payer_ref = models.CharField(_("payer reference (bank's keyed hash)"), max_length=128)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.UniqueConstraint(fields=["bank", "notification_id"], name="payment_once_per_notification"),
            models.UniqueConstraint(
                fields=["bill"], condition=Q(outcome="credited"), name="payment_one_credit_per_bill"
            ),
            models.UniqueConstraint(fields=["ntpn"], name="payment_unique_ntpn"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=~Q(outcome="credited") | Q(bill__isnull=False), name="payment_credit_has_bill"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bank.code}/{self.notification_id}"


class PaymentException(models.Model):
    """Money received that could not be credited: it waits for a finance officer, never silently dropped.

    A finance officer instructs a refund, or proposes to accept the money for
    its bill; an acceptance takes effect only when a second finance officer
    approves it (never the proposer: also a database check). Every item rests
    on a :class:`Payment`, i.e. money a bank proved.
    """

    class Reason(models.TextChoices):
        UNKNOWN_CODE = "unknown_code", _("Unknown billing code")
        WRONG_AMOUNT = "wrong_amount", _("Amount differs from the bill")
        ALREADY_PAID = "already_paid", _("The bill was already paid")
        AFTER_EXPIRY = "after_expiry", _("Paid after the bill expired")
        BILL_CANCELLED = "bill_cancelled", _("The bill was cancelled")

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for a decision")
        ACCEPTANCE_PROPOSED = "proposed", _("Acceptance waiting for a second finance officer")
        REFUND = "refund", _("Refund instructed")
        ACCEPTED = "accepted", _("Accepted and credited")

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="exception")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(_("acceptance proposed at"), null=True, blank=True)
    proposal_note = models.CharField(_("reason for acceptance"), max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution_note = models.CharField(_("resolution note"), max_length=500, blank=True)
    refund_reference = models.CharField(_("refund reference"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("payment exception")
        verbose_name_plural = _("payment exceptions")
        ordering = ["-opened_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "proposed"]) | (Q(resolved_by__isnull=False) & ~Q(resolution_note="")),
                name="exception_resolved_by_someone",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["proposed", "accepted"]) | Q(proposed_by__isnull=False),
                name="exception_acceptance_proposed",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | ~Q(resolved_by=F("proposed_by")),
                name="exception_acceptance_second_officer",
            ),
            models.CheckConstraint(
                condition=~Q(status="refund") | ~Q(refund_reference=""), name="exception_refund_has_reference"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.payment} · {self.reason}"


class Statement(models.Model):
    """A bank's end-of-day statement, reconciled once: its hash is in the audit log, its entries below."""

    class Format(models.TextChoices):
        MT940 = "mt940", "MT940"
        CAMT053 = "camt053", "camt.053"

    class Source(models.TextChoices):
        API = "api", _("Fetched over the bank's signed API")
        FILE = "file", _("File with a verified detached signature")

    bank = models.ForeignKey(Bank, on_delete=models.PROTECT, related_name="statements")
    day = models.DateField(_("day"))
    sequence = models.PositiveIntegerField(_("statement number"))
    reference = models.CharField(_("bank's reference"), max_length=35)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    source = models.CharField(_("source"), max_length=4, choices=Source.choices)
    sha256 = models.CharField(_("SHA-256 of the statement"), max_length=64)
    opening = models.BigIntegerField(_("opening balance"))
    closing = models.BigIntegerField(_("closing balance"))
    entry_count = models.PositiveIntegerField(_("entries"))
    total = models.BigIntegerField(_("total credited"))
    report = models.JSONField(_("report"), default=dict)
    reconciled_at = models.DateTimeField(_("reconciled at"))

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-day", "bank__code"]
        constraints = [
            models.UniqueConstraint(fields=["bank", "day"], name="statement_once_per_bank_day"),
            models.UniqueConstraint(fields=["bank", "sequence"], name="statement_unique_sequence"),
            models.CheckConstraint(condition=Q(closing=F("opening") + F("total")), name="statement_balances"),
        ]

    def __str__(self) -> str:
        return f"{self.bank.code} {self.day} #{self.sequence}"


class StatementEntry(models.Model):
    """One line of a statement and what reconciliation made of it."""

    class Result(models.TextChoices):
        MATCHED = "matched", _("Matched a notified payment")
        CREDITED = "credited", _("Paid but never notified: credited from the statement")
        EXCEPTION = "exception", _("Paid but never notified: in the exception queue")
        MISMATCH = "mismatch", _("Differs from the notified payment")
        UNIDENTIFIED = "unidentified", _("No NTPN: cannot be matched")

    statement = models.ForeignKey(Statement, on_delete=models.PROTECT, related_name="entries")
    position = models.PositiveIntegerField(_("line"))
    ntb = models.CharField(_("NTB"), max_length=32)
    ntpn = models.CharField(_("NTPN"), max_length=16, blank=True)
    billing_code = models.CharField(_("billing code"), max_length=40, blank=True)
    amount = models.PositiveBigIntegerField(_("amount (rupiah)"))
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="statement_entries"
    )
    result = models.CharField(_("result"), max_length=12, choices=Result.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("statement entry")
        verbose_name_plural = _("statement entries")
        constraints = [
            models.UniqueConstraint(fields=["statement", "position"], name="entry_unique_position"),
            # A payment is booked once: the same money in two statements is a mismatch, never a second match.
            models.UniqueConstraint(
                fields=["payment"], condition=~Q(result="mismatch"), name="entry_payment_matched_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.statement} line {self.position}"
