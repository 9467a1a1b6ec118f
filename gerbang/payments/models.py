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
        ]

    def __str__(self) -> str:
        return self.billing_code


class Payment(models.Model):
    """A payment a bank proved (a signed notification, later a statement entry). Never changed or deleted."""

    class Source(models.TextChoices):
        NOTIFICATION = "notification", _("Signed notification")
        STATEMENT = "statement", _("Bank statement")

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
    """Money received that could not be credited: it waits for a finance officer, never silently dropped."""

    class Reason(models.TextChoices):
        UNKNOWN_CODE = "unknown_code", _("Unknown billing code")
        WRONG_AMOUNT = "wrong_amount", _("Amount differs from the bill")
        ALREADY_PAID = "already_paid", _("The bill was already paid")
        AFTER_EXPIRY = "after_expiry", _("Paid after the bill expired")
        BILL_CANCELLED = "bill_cancelled", _("The bill was cancelled")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REFUND = "refund", _("Refund instructed")
        ACCEPTED = "accepted", _("Accepted")

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="exception")
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(_("opened at"))
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment exception")
        verbose_name_plural = _("payment exceptions")

    def __str__(self) -> str:
        return f"{self.payment} · {self.reason}"
