"""The official channel: messages between an applicant and the office about one application, and notifications.

Officers write only here and never see the applicant's e-mail address or phone
number; every message is kept (append-only) and audited. A notification (e-mail
or SMS) carries a short code that the applicant can check in their account.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from gerbang.applications.models import PassportApplication

# Exactly one of the two cases.
ONE_CASE = (Q(application__isnull=True) & Q(visa_application__isnull=False)) | (
    Q(application__isnull=False) & Q(visa_application__isnull=True)
)


class Message(models.Model):
    class Sender(models.TextChoices):
        APPLICANT = "applicant", _("Applicant")
        OFFICE = "office", _("Immigration office")

    # The case: a passport application, or a foreigner's visa or stay-permit application (gerbang.visas).
    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="messages", null=True, blank=True
    )
    visa_application = models.ForeignKey(
        "visas.VisaApplication", on_delete=models.PROTECT, related_name="messages", null=True, blank=True
    )
    sender = models.CharField(_("from"), max_length=10, choices=Sender.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"), max_length=2000)
    sent_at = models.DateTimeField(_("sent at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["sent_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="message_not_empty"),
            models.CheckConstraint(condition=ONE_CASE, name="message_one_case"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id or self.visa_application_id} {self.sender} {self.sent_at:%Y-%m-%d %H:%M}"


class BlockedMessage(models.Model):
    """An officer's message that screening stopped: kept as evidence and shown to supervisors as a signal."""

    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    visa_application = models.ForeignKey(
        "visas.VisaApplication", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("message"), max_length=2000)
    categories = models.JSONField(_("what was found"))
    attempted_at = models.DateTimeField(_("attempted at"))

    class Meta:
        verbose_name = _("blocked message")
        verbose_name_plural = _("blocked messages")
        ordering = ["-attempted_at"]
        constraints = [models.CheckConstraint(condition=ONE_CASE, name="blockedmessage_one_case")]

    def __str__(self) -> str:
        return f"{self.application_id or self.visa_application_id} {self.attempted_at:%Y-%m-%d %H:%M}"


class Notification(models.Model):
    """An e-mail or SMS to an applicant, written in the same transaction as its cause and sent after commit."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications")
    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="notifications", null=True, blank=True
    )
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    # Short, random, unique: "is this message really from the office?" (checked in the applicant's account).
    code = models.CharField(_("check code"), max_length=8, unique=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), max_length=2000)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["sent_at", "created_at"])]
        constraints = [models.CheckConstraint(condition=Q(code__regex=r"^[A-Z2-9]{8}$"), name="notification_code")]

    def __str__(self) -> str:
        return self.code
