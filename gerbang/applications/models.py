"""Passport applications: the draft, its documents, the frozen versions submitted, and the timeline.

An application is filed by an account holder (``filer``) for themselves or a
minor on their family card; limits count per applicant NIK (at most one open
application per NIK, a database constraint). Submitting freezes an immutable
:class:`ApplicationVersion` (database triggers refuse UPDATE and DELETE).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def document_storage() -> Storage:
    """The storage of applicants' documents, looked up on every use (settings may name any backend)."""
    return storages["documents"]


class Kind(models.TextChoices):
    FIRST = "first", _("First passport")
    RENEWAL = "renewal", _("Renewal")
    LOST = "lost", _("Replacement of a lost passport")
    DAMAGED = "damaged", _("Replacement of a damaged passport")


class RenewalReason(models.TextChoices):
    EXPIRED = "expired", _("The passport has expired")
    NEARLY_EXPIRED = "nearly_expired", _("The passport expires within 6 months")
    FULL = "full", _("The passport's pages are full")


class Product(models.TextChoices):
    REGULAR = "regular", _("Ordinary passport (non-electronic)")
    ELECTRONIC = "electronic", _("Electronic passport")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    DOCUMENTS_REQUESTED = "documents_requested", _("More documents requested")
    PAID = "paid", _("Fee paid")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    # The casework (gerbang.casework): from the documents checked to the passport in the applicant's hands.
    VERIFIED = "verified", _("Documents verified")
    BIOMETRICS_TAKEN = "biometrics_taken", _("Photo and fingerprints taken")
    INTERVIEWED = "interviewed", _("Interviewed; waiting for the decision")
    REFUSAL_PROPOSED = "refusal_proposed", _("Refusal proposed; a second reviewer decides")
    REFUSED = "refused", _("Refused")
    APPEALED = "appealed", _("Appeal to the regional division")
    APPROVED = "approved", _("Approved; the passport is being printed")
    PRINTED = "printed", _("Passport printed; ready for handover")
    HANDED_OVER = "handed_over", _("Passport handed over")
    POSTED = "posted", _("Passport sent by post")


# The casework statuses: an officer drawn by Gerbang holds each step (gerbang.casework).
CASEWORK_STATUSES = [
    Status.VERIFIED,
    Status.BIOMETRICS_TAKEN,
    Status.INTERVIEWED,
    Status.REFUSAL_PROPOSED,
    Status.APPEALED,
    Status.APPROVED,
    Status.PRINTED,
]
OPEN_STATUSES = [Status.DRAFT, Status.SUBMITTED, Status.DOCUMENTS_REQUESTED, Status.PAID, *CASEWORK_STATUSES]


class DocumentKind(models.TextChoices):
    KTP = "ktp", _("ID card (KTP); for a minor, a parent's ID card")
    KK = "kk", _("Family card (KK)")
    CIVIL_RECORD = "civil_record", _("Birth certificate, marriage certificate or diploma")
    OLD_PASSPORT = "old_passport", _("Data page of the old passport")
    POLICE_REPORT = "police_report", _("Police report of the loss")


class PassportApplication(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=16, blank=True)
    filer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="applications")
    applicant_nik = models.CharField(_("applicant's NIK"), max_length=16)
    applicant_name = models.CharField(_("applicant's name"), max_length=200)
    applicant_birth_date = models.DateField(_("applicant's date of birth"))
    applicant_sex = models.CharField(_("applicant's sex"), max_length=1)
    for_dependant = models.BooleanField(_("filed for a minor on the filer's family card"), default=False)
    applicant_minor = models.BooleanField(_("applicant is a minor"), default=False)
    kind = models.CharField(_("kind of application"), max_length=10, choices=Kind.choices)
    renewal_reason = models.CharField(_("reason for renewal"), max_length=16, choices=RenewalReason.choices, blank=True)
    old_passport_number = models.CharField(_("old passport number"), max_length=9, blank=True)
    police_report_number = models.CharField(_("police report number"), max_length=60, blank=True)
    police_report_date = models.DateField(_("date of the police report"), null=True, blank=True)
    product = models.CharField(_("passport"), max_length=10, choices=Product.choices, blank=True)
    validity_years = models.PositiveSmallIntegerField(_("validity (years)"), null=True, blank=True)
    express = models.BooleanField(_("same-day express service"), default=False)
    # Declared by the applicant (or the parent) for priority service; checked in person at the counter.
    declared_disability = models.BooleanField(_("declares a disability needing priority service"), default=False)
    office = models.ForeignKey(
        "organisation.Office", verbose_name=_("office"), null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    current_version = models.PositiveIntegerField(_("current version"), default=0)
    requested_documents = models.JSONField(_("documents requested by an officer"), default=list, blank=True)
    request_note = models.CharField(_("officer's request"), max_length=500, blank=True)
    parental_consent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    parental_consent_at = models.DateTimeField(_("parent's consent given at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("first submitted at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("fee paid at (bank time)"), null=True, blank=True)
    # The service standard's promise, set at the interview: ready by this date (office time, working days).
    ready_by = models.DateField(_("passport ready by"), null=True, blank=True)

    class Meta:
        verbose_name = _("passport application")
        verbose_name_plural = _("passport applications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant_nik"], condition=Q(status__in=OPEN_STATUSES), name="application_one_open_per_nik"
            ),
            models.UniqueConstraint(fields=["reference"], condition=~Q(reference=""), name="application_reference"),
            models.CheckConstraint(
                condition=Q(validity_years__isnull=True) | Q(validity_years__in=[5, 10]),
                name="application_validity_5_or_10",
            ),
            models.CheckConstraint(
                condition=~Q(applicant_minor=True, validity_years=10), name="application_10_years_adults_only"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="application_paid_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="withdrawn") | Q(paid_at__isnull=True), name="application_paid_not_withdrawn"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "withdrawn"]) | ~Q(reference=""),
                name="application_submitted_has_reference",
            ),
            models.CheckConstraint(
                condition=~Q(applicant_minor=True, status="submitted") | Q(parental_consent_at__isnull=False),
                name="application_minor_needs_consent",
            ),
            models.CheckConstraint(condition=Q(applicant_nik__regex=r"^[0-9]{16}$"), name="application_nik_16"),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.public_id)


class Document(models.Model):
    """An uploaded document, checked by content and stored under a random name; never changed or deleted."""

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("document"), max_length=20, choices=DocumentKind.choices)
    # The name under which the document storage (``storages["documents"]``) holds the file.
    stored_name = models.CharField(_("stored as"), max_length=200, unique=True)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    pages = models.PositiveSmallIntegerField(_("pages"), default=1)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["kind", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(superseded_at__isnull=True),
                name="document_current_per_kind",
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=["image/jpeg", "image/png", "application/pdf"]),
                name="document_allowed_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.content_type})"


class ApplicationVersion(models.Model):
    """What was submitted, frozen: the answers, the documents (by hash) and the fee. Never updated or deleted."""

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    content = models.JSONField(_("answers"))
    documents = models.JSONField(_("documents"))
    fee = models.JSONField(_("fee"))
    reason = models.CharField(_("reason"), max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("submitted at"))

    class Meta:
        verbose_name = _("application version")
        verbose_name_plural = _("application versions")
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.application} v{self.number}"


class Step(models.Model):
    """One entry of an application's timeline: every transition, with its time and who made it."""

    application = models.ForeignKey(PassportApplication, on_delete=models.PROTECT, related_name="steps")
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The service-level clock: working days (the office's, without its holidays) since the fee was paid.
    working_days = models.PositiveSmallIntegerField(_("working days since payment"), null=True, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.application} {self.action}"
