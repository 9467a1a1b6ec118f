"""Who holds each step of a case, and what each step recorded.

The application's status and timeline live in ``gerbang.applications``; the
workflow table there names, for each casework action, the duty it belongs to
(:data:`gerbang.casework.rules.DUTY_OF_ACTION`). An officer acts on a case
only through an open :class:`Assignment` that Gerbang drew for them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from gerbang.applications.models import Document, PassportApplication
from gerbang.organisation.models import Counter, Office


class Duty(models.TextChoices):
    VERIFICATION = "verification", _("Document verification")
    INTERVIEW = "interview", _("Photo, fingerprints and interview")
    DECISION = "decision", _("Decision")
    REFUSAL_REVIEW = "refusal_review", _("Second review of a refusal")
    APPEAL = "appeal", _("Appeal")
    ISSUING = "issuing", _("Printing and handover")


class Relationship(models.TextChoices):
    SELF = "self", _("Myself")
    SPOUSE = "spouse", _("Spouse")
    PARENT = "parent", _("Parent")
    CHILD = "child", _("Child")
    SIBLING = "sibling", _("Brother or sister")
    IN_LAW = "in_law", _("Relative by marriage")
    OTHER = "other", _("Other relative or close person")


class ConflictDeclaration(models.Model):
    """An officer's declaration of a NIK they must never act on: their own, or a relative's."""

    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="conflicts")
    nik = models.CharField(_("NIK"), max_length=16)
    relationship = models.CharField(_("relationship"), max_length=10, choices=Relationship.choices)
    declared_at = models.DateTimeField(_("declared at"))
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("declared relative")
        verbose_name_plural = _("declared relatives")
        constraints = [
            models.CheckConstraint(condition=Q(nik__regex=r"^[0-9]{16}$"), name="conflict_nik_16"),
            models.UniqueConstraint(
                fields=["officer", "nik"], condition=Q(withdrawn_at__isnull=True), name="conflict_unique_open"
            ),
        ]
        indexes = [models.Index(fields=["nik"])]

    def __str__(self) -> str:
        return f"{self.officer_id}: {self.get_relationship_display()}"


class Assignment(models.Model):
    """One duty on one application, held by one officer whom Gerbang drew (or an office head reassigned)."""

    class Ended(models.TextChoices):
        DONE = "done", _("Done")
        REASSIGNED = "reassigned", _("Reassigned")
        CLOSED = "closed", _("Case closed")

    # The case: a passport application, or a foreigner's visa or stay-permit application (gerbang.visas).
    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="assignments", null=True, blank=True
    )
    visa_application = models.ForeignKey(
        "visas.VisaApplication", on_delete=models.PROTECT, related_name="assignments", null=True, blank=True
    )
    duty = models.CharField(_("duty"), max_length=20, choices=Duty.choices)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments")
    # The office whose roster the officer was drawn from: another office of the division for a remote decision.
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(_("assigned at"))
    # Empty: drawn by Gerbang. Otherwise the office head who reassigned, with the reason.
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    # How many eligible officers the draw chose among, and the chosen one's weight (for supervision).
    pool_size = models.PositiveSmallIntegerField(_("officers eligible"), default=0)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    ended_because = models.CharField(_("ended because"), max_length=12, choices=Ended.choices, blank=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["assigned_at", "pk"]
        indexes = [models.Index(fields=["officer", "ended_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "duty"], condition=Q(ended_at__isnull=True), name="assignment_one_open_per_duty"
            ),
            models.UniqueConstraint(
                fields=["visa_application", "duty"],
                condition=Q(ended_at__isnull=True),
                name="assignment_one_open_per_visa_duty",
            ),
            models.CheckConstraint(
                condition=(Q(application__isnull=True) & Q(visa_application__isnull=False))
                | (Q(application__isnull=False) & Q(visa_application__isnull=True)),
                name="assignment_one_case",
            ),
            models.CheckConstraint(
                condition=Q(assigned_by__isnull=True) | ~Q(reason=""), name="assignment_reassigned_with_reason"
            ),
            models.CheckConstraint(
                condition=(Q(ended_at__isnull=True) & Q(ended_because=""))
                | (Q(ended_at__gte=F("assigned_at")) & ~Q(ended_because="")),
                name="assignment_ended_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id or self.visa_application_id} {self.duty} -> {self.officer_id}"

    @property
    def case(self) -> Any:
        """The passport application or the visa application this step belongs to."""
        return self.application if self.application_id is not None else self.visa_application


class DocumentReview(models.Model):
    """A document verifier's verdict on one document of one version."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    class Reason(models.TextChoices):
        UNREADABLE = "unreadable", _("Unreadable or incomplete copy")
        MISMATCH = "mismatch", _("Does not match the application's data")
        EXPIRED = "expired", _("Expired or no longer valid")
        WRONG_DOCUMENT = "wrong_document", _("Not the document asked for")
        SUSPECTED_FORGERY = "suspected_forgery", _("Suspected forgery or alteration")

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="document_reviews")
    version = models.PositiveIntegerField(_("version"))
    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="reviews")
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("document review")
        verbose_name_plural = _("document reviews")
        constraints = [
            models.CheckConstraint(
                condition=(Q(outcome="accepted") & Q(reason="")) | (Q(outcome="rejected") & ~Q(reason="")),
                name="document_review_rejection_has_reason",
            ),
            models.UniqueConstraint(fields=["version", "document"], name="document_review_once_per_version"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id} v{self.version}: {self.outcome}"


class Biometrics(models.Model):
    """The photo from the capture station and the fingerprint capture, at a counter."""

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="biometrics")
    photo_name = models.CharField(_("photo stored as"), max_length=200, unique=True)
    photo_sha256 = models.CharField(_("photo SHA-256"), max_length=64)
    capture_station = models.CharField(_("capture station"), max_length=60)
    fingerprint_device = models.CharField(_("fingerprint device id"), max_length=60)
    fingerprints_captured = models.PositiveSmallIntegerField(_("fingers captured"))
    fingerprint_template_sha256 = models.CharField(_("fingerprint template SHA-256"), max_length=64)
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("biometrics")
        verbose_name_plural = _("biometrics")
        constraints = [
            models.CheckConstraint(
                condition=Q(fingerprints_captured__gte=0) & Q(fingerprints_captured__lte=10),
                name="biometrics_fingers_0_to_10",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.at:%Y-%m-%d}"


class Interview(models.Model):
    """Structured interview notes and the interviewer's outcome."""

    class Outcome(models.TextChoices):
        CONSISTENT = "consistent", _("Consistent: refer for decision")
        CONCERNS = "concerns", _("Concerns noted: refer for decision")

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="interviews")
    purpose_of_travel = models.CharField(_("purpose of travel"), max_length=200)
    identity_consistent = models.BooleanField(_("identity and documents consistent with the person"))
    originals_seen = models.BooleanField(_("original documents seen"))
    notes = models.TextField(_("notes"), max_length=4000, blank=True)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="+")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("interview")
        verbose_name_plural = _("interviews")
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome="consistent") | ~Q(notes=""), name="interview_concerns_have_notes"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.outcome}"


class RefusalReason(models.TextChoices):
    """Legal grounds for refusing a passport (Law 6/2011 on Immigration, art. 31 and its regulations)."""

    FALSE_INFORMATION = "false_information", _("False information or forged documents")
    TRAVEL_BAN = "travel_ban", _("Subject to a travel ban (prevention order)")
    COURT_ORDER = "court_order", _("Subject to a court order or criminal proceedings")
    IDENTITY_NOT_PROVEN = "identity_not_proven", _("Identity not proven")
    DOUBLE_PASSPORT = "double_passport", _("Already holds a valid passport of the same kind")
    SUSPECTED_TRAFFICKING = "suspected_trafficking", _("Suspected non-procedural migrant work or trafficking")


class Decision(models.Model):
    """A decision on a case: the adjudicator's, the second reviewer's on a refusal, or the appeal's."""

    class Stage(models.TextChoices):
        DECISION = "decision", _("Decision")
        REVIEW = "review", _("Second review of a refusal")
        APPEAL = "appeal", _("Appeal")

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REFUSE = "refuse", _("Refuse")
        MORE_DOCUMENTS = "more_documents", _("Ask for more documents")

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="decisions")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("legal reason"), max_length=24, choices=RefusalReason.choices, blank=True)
    note = models.TextField(_("reasons"), max_length=4000)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="refuse") | ~Q(reason=""), name="decision_refusal_has_legal_reason"
            ),
            models.CheckConstraint(condition=~Q(note=""), name="decision_has_reasons"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.stage}: {self.outcome}"


class Booklet(models.Model):
    """A blank passport booklet of an office's controlled stock: its serial and pre-printed passport number."""

    class Status(models.TextChoices):
        IN_STOCK = "in_stock", _("In stock")
        ISSUED = "issued", _("Printed for an application")
        SPOILED = "spoiled", _("Spoiled")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="booklets")
    serial = models.CharField(_("booklet serial"), max_length=20, unique=True)
    passport_number = models.CharField(_("passport number"), max_length=8, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.IN_STOCK)
    received_at = models.DateTimeField(_("received at"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="booklets", null=True, blank=True
    )
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    spoiled_reason = models.CharField(_("why spoiled"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("passport booklet")
        verbose_name_plural = _("passport booklets")
        ordering = ["office", "serial"]
        constraints = [
            models.CheckConstraint(condition=Q(passport_number__regex=r"^[A-Z][0-9]{7}$"), name="booklet_number"),
            models.CheckConstraint(
                condition=(Q(status="in_stock") & Q(application__isnull=True) & Q(used_at__isnull=True))
                | (Q(status="issued") & Q(application__isnull=False) & Q(used_at__isnull=False))
                | (Q(status="spoiled") & Q(used_at__isnull=False) & ~Q(spoiled_reason="")),
                name="booklet_status_consistent",
            ),
            # One good passport per application.
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="issued"), name="booklet_one_issued_per_application"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.serial} ({self.passport_number})"


class Passport(models.Model):
    """The passport printed for an application: number, machine-readable zone, validity, and its handover."""

    class Delivery(models.TextChoices):
        COUNTER = "counter", _("Handed over at the counter")
        POST = "post", _("Sent by post")

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="passports")
    booklet = models.OneToOneField(Booklet, on_delete=models.PROTECT, related_name="passport")
    number = models.CharField(_("passport number"), max_length=8, unique=True)
    mrz_line1 = models.CharField(_("MRZ line 1"), max_length=44)
    mrz_line2 = models.CharField(_("MRZ line 2"), max_length=44)
    issued_on = models.DateField(_("date of issue"))
    expires_on = models.DateField(_("date of expiry"))
    printed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_at = models.DateTimeField(_("printed at"))
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    delivered_at = models.DateTimeField(_("handed over or posted at"), null=True, blank=True)
    postal_tracking = models.CharField(_("postal tracking number"), max_length=40, blank=True)
    void = models.BooleanField(_("void (booklet spoiled)"), default=False)

    class Meta:
        verbose_name = _("passport")
        verbose_name_plural = _("passports")
        constraints = [
            models.CheckConstraint(condition=Q(expires_on__gt=F("issued_on")), name="passport_expires_after_issue"),
            models.UniqueConstraint(
                fields=["application"], condition=Q(void=False), name="passport_one_valid_per_application"
            ),
            models.CheckConstraint(
                condition=Q(delivery="") | (Q(delivered_at__isnull=False) & Q(delivered_by__isnull=False)),
                name="passport_delivery_recorded",
            ),
            models.CheckConstraint(
                condition=~Q(delivery="post") | ~Q(postal_tracking=""), name="passport_post_has_tracking"
            ),
        ]

    def __str__(self) -> str:
        return self.number
