"""Supervision's records: integrity signals, anonymous reports, visit feedback and client traces.

A :class:`Signal` is what a detector (``detectors.py``) found, kept once per ``key`` and refreshed by the
scheduled task; a supervisor acknowledges, investigates or dismisses it (with a reason, a database CHECK).
A :class:`Report` is an anonymous whistle-blower's report: it keeps no address, browser or account, only
its text, the office it is about and the tracking code its reporter holds. :class:`VisitFeedback` is the
one-tap question asked after a counter visit. :class:`ClientTrace` keeps keyed hashes (never the values)
of the client address and browser that filed or booked for an application: the broker fingerprint.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SignalKind(models.TextChoices):
    SLOW_CASE = "slow_case", _("Case left in one step far beyond the office's usual time")
    REFUSAL_RATE = "refusal_rate", _("Refusal rate far from the officer's peers")
    ASK_MORE_RATE = "ask_more_rate", _("'Ask for more documents' rate far from the officer's peers")
    REVERSED_ON_APPEAL = "reversed_on_appeal", _("Refusals reversed on appeal")
    VIEW_NOT_ASSIGNED = "view_not_assigned", _("Personal data viewed by someone not assigned to the case")
    VIEW_OFF_ROSTER = "view_off_roster", _("Personal data viewed outside rostered hours")
    NO_DEPOSIT = "no_deposit", _("Counter work without an active locker deposit")
    REFUSED_SESSIONS = "refused_sessions", _("Refused counter-session attempts")
    SPOT_CHECK = "spot_check", _("Spot-check finding")
    BLOCKED_CONTACT = "blocked_contact", _("Attempts to send contact details through the official channel")
    BROKER = "broker", _("One payer, terminal, device or address acting for many unrelated applicants")
    RECURRING_PAIR = "recurring_pair", _("Applicant and officer meeting again and again")
    EXPRESS_JUMP = "express_jump", _("Express share of an office jumped")
    MONEY_ASKED = "money_asked", _("Applicants say they were asked for money or a gift")
    SEAL_LAG = "seal_lag", _("Audit events not sealed in time")
    WITNESS_MISSING = "witness_missing", _("Signed audit head not cosigned by the witness")
    AUDIT_VERIFY = "audit_verify", _("Audit log verification failed")


class SignalStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("signal status", "Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    INVESTIGATING = "investigating", _("Under investigation")
    DISMISSED = "dismissed", _("Dismissed")


class Signal(models.Model):
    kind = models.CharField(_("signal"), max_length=24, choices=SignalKind.choices)
    # The kind and its subject (e.g. "slow_case:case:PAS…:verification"): one row however often it is found.
    key = models.CharField(_("key"), max_length=200, unique=True)
    office = models.ForeignKey(
        "organisation.Office", verbose_name=_("office"), null=True, blank=True, on_delete=models.PROTECT
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    counter = models.ForeignKey(
        "organisation.Counter",
        verbose_name=_("counter"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    score = models.FloatField(_("strength"), default=0)
    # The figures the plain-language explanation is written from (``explain.explain``).
    params = models.JSONField(_("figures"), default=dict)
    # [{"type": "case"|"visa_case"|"audit"|"payment"|"visit"|"blocked_message"|"spot_check"|"report", "id": …,
    #   "label": …}]: links to the records behind the signal.
    evidence = models.JSONField(_("evidence"), default=list)
    first_seen_at = models.DateTimeField(_("first found at"))
    last_seen_at = models.DateTimeField(_("last found at"))
    # False once a later run no longer finds it (kept: a supervisor's work on it stays).
    present = models.BooleanField(_("still found"), default=True)
    status = models.CharField(_("status"), max_length=14, choices=SignalStatus.choices, default=SignalStatus.OPEN)
    status_changed_at = models.DateTimeField(_("status changed at"), null=True, blank=True)
    status_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status_note = models.CharField(_("note"), max_length=1000, blank=True)
    # The strength when it was last dismissed: found again reopen_growth x stronger, it is reopened.
    dismissed_score = models.FloatField(_("strength when dismissed"), null=True, blank=True)

    class Meta:
        verbose_name = _("integrity signal")
        verbose_name_plural = _("integrity signals")
        ordering = ["-score", "-last_seen_at"]
        indexes = [models.Index(fields=["office", "status"]), models.Index(fields=["kind", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(status_note=""), name="supervision_signal_dismissed_reason"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(status_changed_by__isnull=False),
                name="supervision_signal_status_by",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class ReportCategory(models.TextChoices):
    LEVY = "levy", _("Illegal levy (asked for money or a gift)")
    BROKER = "broker", _("Broker (calo) working with staff")
    MISCONDUCT = "misconduct", _("Other misconduct by staff")
    SERVICE = "service", _("Poor service")
    OTHER = "other", _("Something else")


class ReportStatus(models.TextChoices):
    RECEIVED = "received", _("Received, waiting for an answer")
    ANSWERED = "answered", _("Answered, being handled")
    CLOSED = "closed", _("Closed")
    DISPUTED = "disputed", _("Disputed by the reporter")
    DISPUTE_CLOSED = "dispute_closed", _("Dispute closed")


class ReportLevel(models.TextChoices):
    DIVISION = "division", _("Regional division")
    DIRECTORATE = "directorate", _("Directorate General")


class Report(models.Model):
    """An anonymous report: no account, address, browser or cookie; only the tracking code's holder follows it."""

    code = models.CharField(_("tracking code"), max_length=20, unique=True)
    office = models.ForeignKey(
        "organisation.Office", verbose_name=_("office concerned"), null=True, blank=True, on_delete=models.PROTECT
    )
    category = models.CharField(_("what happened"), max_length=12, choices=ReportCategory.choices)
    text = models.TextField(_("report"))
    # Routed to the level above the office (its division); reports about no office, or escalated, go up.
    level = models.CharField(_("handled by"), max_length=12, choices=ReportLevel.choices)
    division = models.ForeignKey(
        "organisation.Division", verbose_name=_("division"), null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(_("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.RECEIVED)
    received_at = models.DateTimeField(_("received at"))
    answer_due = models.DateTimeField(_("answer due"))
    close_due = models.DateTimeField(_("close due"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    disputed_at = models.DateTimeField(_("disputed at"), null=True, blank=True)
    dispute_due = models.DateTimeField(_("dispute due"), null=True, blank=True)
    dispute_closed_at = models.DateTimeField(_("dispute closed at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalations = models.PositiveSmallIntegerField(_("times escalated"), default=0)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-received_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="directorate") | Q(division__isnull=False), name="supervision_report_division"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class ReportEntry(models.Model):
    """One message on a report, from the reporter (no author) or from the supervisor handling it (append-only)."""

    class From(models.TextChoices):
        REPORTER = "reporter", _("Reporter")
        OFFICIAL = "official", _("Supervisor")

    report = models.ForeignKey(Report, on_delete=models.PROTECT, related_name="entries")
    sender = models.CharField(_("from"), max_length=10, choices=From.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("message"))
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("report message")
        verbose_name_plural = _("report messages")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(sender="reporter") & Q(author__isnull=True))
                | (Q(sender="official") & Q(author__isnull=False)),
                name="supervision_reportentry_author",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.report_id} {self.sender} {self.at:%Y-%m-%d %H:%M}"


class VisitFeedback(models.Model):
    """The question asked after a counter visit: was anyone asking for money or a gift, and how satisfied?"""

    visit = models.OneToOneField("visits.Visit", on_delete=models.PROTECT, related_name="feedback")
    token = models.CharField(_("answer link token"), max_length=64, unique=True)
    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="+")
    counter = models.ForeignKey(
        "organisation.Counter", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    applicant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prompted_at = models.DateTimeField(_("asked at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    asked_for_money = models.BooleanField(_("asked for money or a gift"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("satisfaction (1-5)"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit feedback")
        verbose_name_plural = _("visit feedback")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(answered_at__isnull=True, asked_for_money__isnull=True, satisfaction__isnull=True)
                    | Q(
                        answered_at__isnull=False,
                        asked_for_money__isnull=False,
                        satisfaction__gte=1,
                        satisfaction__lte=5,
                    )
                ),
                name="supervision_feedback_answer",
            ),
        ]

    def __str__(self) -> str:
        return f"feedback on visit {self.visit_id}"


class TraceKind(models.TextChoices):
    SUBMIT = "submit", _("filed")
    LOTTERY = "lottery", _("asked for a place in a lottery")
    BOOKING = "booking", _("booked a slot")


class ClientTrace(models.Model):
    """Who acted for an application, as keyed hashes of the client address (/64 for IPv6) and the browser."""

    kind = models.CharField(_("what"), max_length=10, choices=TraceKind.choices)
    application = models.ForeignKey(
        "applications.PassportApplication", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visa_application = models.ForeignKey(
        "visas.VisaApplication", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client = models.CharField(_("client address (keyed hash)"), max_length=64)
    device = models.CharField(_("browser (keyed hash)"), max_length=64)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("client trace")
        verbose_name_plural = _("client traces")
        # "at": the collector reads the window, and the daily purge deletes what is older than it keeps.
        indexes = [models.Index(fields=["client"]), models.Index(fields=["device"]), models.Index(fields=["at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(application__isnull=False, visa_application__isnull=True)
                | Q(application__isnull=True, visa_application__isnull=False),
                name="supervision_trace_one_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"
