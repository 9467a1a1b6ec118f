"""Visas and stay permits for foreign nationals.

* :class:`Foreigner`: a passport identity, read from the passport's machine-readable zone (TD3, check digits
  verified) and agreeing with what was typed. Limits and supervision count per foreigner, never per account.
* :class:`Sponsor`: the guarantor ("penjamin"), a company (business registration number and NPWP) or a citizen
  (a NIK the population registry confirmed, bound to the sponsor's account); :class:`Sponsorship` lists the
  foreigners a sponsor answers for.
* :class:`VisaKind`: the catalogue as data (index code, purpose, documents, fee, stay, extensions, eligibility);
  an administrator corrects it, audited.
* :class:`VisaApplication`: one request (a visa, an e-VoA, an ITAS registration, an extension, a change of
  status), its workflow table in ``workflow.py``; :class:`Permit`: what was issued.
* :class:`BorderMovement`: entries and exits reported by border control over signed HTTP; stays and overstays are
  computed from them, never from what an applicant types. :class:`OverstayFine`: billed through the bank.
* :class:`DenyListEntry`: kept by deny-list maintainers; checked before anything is issued.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
    UNSPECIFIED = "X", _("Unspecified")


class Foreigner(models.Model):
    """A foreign national, known by their passport (nationality + number), as its MRZ says."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The foreigner's own account, if they have one (an e-VoA applicant); a sponsor may file without it.
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="foreigner_profiles"
    )
    nationality = models.CharField(_("nationality (ISO 3166 alpha-3)"), max_length=3)
    passport_number = models.CharField(_("passport number"), max_length=9)
    surname = models.CharField(_("surname"), max_length=100)
    given_names = models.CharField(_("given names"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    passport_expiry = models.DateField(_("passport valid until"))
    mrz = models.CharField(_("machine-readable zone"), max_length=89)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("foreign national")
        verbose_name_plural = _("foreign nationals")
        ordering = ["surname", "given_names"]
        constraints = [
            models.UniqueConstraint(fields=["nationality", "passport_number"], name="foreigner_one_per_passport"),
            models.CheckConstraint(condition=Q(nationality__regex=r"^[A-Z]{3}$"), name="foreigner_nationality"),
            models.CheckConstraint(
                condition=Q(passport_number__regex=r"^[A-Z0-9]{1,9}$"), name="foreigner_passport_number"
            ),
            models.CheckConstraint(condition=~Q(nationality="IDN"), name="foreigner_not_indonesian"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.nationality} {self.passport_number})"

    @property
    def full_name(self) -> str:
        return f"{self.given_names} {self.surname}".strip()


class Sponsor(models.Model):
    class Kind(models.TextChoices):
        COMPANY = "company", _("Company")
        CITIZEN = "citizen", _("Indonesian citizen")

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sponsor")
    kind = models.CharField(_("kind of sponsor"), max_length=8, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    # A company: its business registration number (NIB, 13 digits) and tax number (NPWP, checked).
    nib = models.CharField(_("business registration number (NIB)"), max_length=13, blank=True)
    npwp = models.CharField(_("tax number (NPWP)"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=300)
    # A citizen: the NIK the registry confirmed and bound to the account (gerbang.identity).
    nik = models.CharField(_("NIK"), max_length=16, blank=True)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sponsor")
        verbose_name_plural = _("sponsors")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="company") & Q(nib__regex=r"^[0-9]{13}$") & Q(npwp__regex=r"^[0-9]{15,16}$") & Q(nik="")
                )
                | (Q(kind="citizen") & Q(nik__regex=r"^[0-9]{16}$") & Q(nib="") & Q(npwp="")),
                name="sponsor_kind_numbers",
            ),
            models.UniqueConstraint(fields=["nib"], condition=~Q(nib=""), name="sponsor_one_per_nib"),
        ]

    def __str__(self) -> str:
        return self.name


class Sponsorship(models.Model):
    """A sponsor answers for this foreigner: they file for them and see only their own foreigners."""

    sponsor = models.ForeignKey(Sponsor, on_delete=models.PROTECT, related_name="sponsorships")
    foreigner = models.ForeignKey(Foreigner, on_delete=models.PROTECT, related_name="sponsorships")
    relationship = models.CharField(_("relationship"), max_length=100)
    since = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("sponsorship")
        verbose_name_plural = _("sponsorships")
        constraints = [models.UniqueConstraint(fields=["sponsor", "foreigner"], name="sponsorship_unique")]

    def __str__(self) -> str:
        return f"{self.sponsor} -> {self.foreigner}"


class VisaKind(models.Model):
    """One entry of the catalogue: data an administrator corrects (audited), never code."""

    class Category(models.TextChoices):
        VISA = "visa", _("Visa")
        STAY_PERMIT = "stay_permit", _("Stay permit")

    code = models.SlugField(_("code"), max_length=20, unique=True)
    index_code = models.CharField(_("index"), max_length=10)
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    purpose_id = models.CharField(_("purpose (Indonesian)"), max_length=300)
    purpose_en = models.CharField(_("purpose (English)"), max_length=300)
    # Document codes (gerbang.visas.catalogue.DOCUMENTS) the applicant uploads.
    required_documents = models.JSONField(_("required documents"), default=list)
    sponsor_required = models.BooleanField(_("a sponsor files it"), default=True)
    # The fee: the tariff service (dated versions in gerbang.tariffs).
    service = models.ForeignKey(
        "tariffs.Service", verbose_name=_("fee"), on_delete=models.PROTECT, related_name="visa_kinds"
    )
    stay_days = models.PositiveIntegerField(_("stay (days)"))
    # A visa: enter within this many days of issue. A stay permit: 0.
    entry_within_days = models.PositiveIntegerField(_("enter within (days)"), default=0)
    multiple_entry = models.BooleanField(_("multiple entry"), default=False)
    extensions = models.PositiveSmallIntegerField(_("extensions allowed"), default=0)
    extension_days = models.PositiveIntegerField(_("days per extension"), default=0)
    # The stay permit an entry on this visa leads to ("itas" for E-type visas, "itk" for visit visas), if any.
    leads_to = models.CharField(_("leads to"), max_length=20, blank=True)
    # Issued by Gerbang without an officer when every automatic check passes (the e-VoA).
    automatic = models.BooleanField(_("issued automatically when clear"), default=False)
    # Eligibility as data: {"passport_months": 6, "nationalities": [...] (empty: all), "from_kinds": [...]}
    eligibility = models.JSONField(_("eligibility"), default=dict)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("visa or permit kind")
        verbose_name_plural = _("visa and permit kinds")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(stay_days__gt=0), name="visakind_stay_positive"),
            models.CheckConstraint(
                condition=Q(extensions=0) | Q(extension_days__gt=0), name="visakind_extension_has_days"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.index_code} {self.name}"

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "id").startswith("en") else self.name_id

    @property
    def purpose(self) -> str:
        return self.purpose_en if (get_language() or "id").startswith("en") else self.purpose_id


class Purpose(models.TextChoices):
    VISA = "visa", _("Visa")
    REGISTRATION = "registration", _("Stay permit after arrival")
    EXTENSION = "extension", _("Extension of a stay permit")
    CHANGE = "change", _("Change of status")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted; waiting for payment")
    PAID = "paid", _("Fee paid; documents being checked")
    VERIFIED = "verified", _("Documents checked; waiting for the decision")
    DOCUMENTS_REQUESTED = "documents_requested", _("More documents requested")
    REFUSAL_PROPOSED = "refusal_proposed", _("Refusal proposed; a second reviewer decides")
    REFUSED = "refused", _("Refused")
    APPEALED = "appealed", _("Appeal to the regional division")
    ISSUED = "issued", _("Issued")
    WITHDRAWN = "withdrawn", _("Withdrawn")


OPEN_STATUSES = [
    Status.DRAFT,
    Status.SUBMITTED,
    Status.PAID,
    Status.VERIFIED,
    Status.DOCUMENTS_REQUESTED,
    Status.REFUSAL_PROPOSED,
    Status.APPEALED,
]


class RefusalReason(models.TextChoices):
    """Legal grounds for refusing a visa or stay permit (Law 6/2011 on Immigration and its regulations)."""

    DENY_LIST = "deny_list", _("Subject to an entry ban (deny list)")
    PASSPORT_VALIDITY = "passport_validity", _("Passport not valid long enough")
    FALSE_INFORMATION = "false_information", _("False information or forged documents")
    PURPOSE_MISMATCH = "purpose_mismatch", _("The purpose of the stay does not match the visa or permit")
    SPONSOR_NOT_CREDIBLE = "sponsor_not_credible", _("The sponsor cannot guarantee the stay")
    INSUFFICIENT_FUNDS = "insufficient_funds", _("Insufficient means of subsistence")
    NOT_ELIGIBLE = "not_eligible", _("Not eligible for this permit (conditions not met)")
    PUBLIC_ORDER = "public_order", _("A threat to security or public order")


class VisaApplication(models.Model):
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("reference number"), max_length=16, blank=True)
    kind = models.ForeignKey(VisaKind, on_delete=models.PROTECT, related_name="applications")
    purpose = models.CharField(_("request"), max_length=12, choices=Purpose.choices, default=Purpose.VISA)
    foreigner = models.ForeignKey(Foreigner, on_delete=models.PROTECT, related_name="applications")
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.PROTECT, related_name="applications")
    filer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="visa_applications")
    # The office handling the case: chosen by the filer (visa), the place of stay (registration, extension).
    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="+")
    # The permit extended or changed, and the entry a registration follows.
    permit = models.ForeignKey(
        "Permit", null=True, blank=True, on_delete=models.PROTECT, related_name="follow_ups", verbose_name=_("permit")
    )
    entry = models.ForeignKey(
        "BorderMovement", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("entry")
    )
    intended_arrival = models.DateField(_("intended arrival"), null=True, blank=True)
    statement = models.CharField(_("purpose of the stay, in the filer's words"), max_length=1000, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT)
    # The automatic checks' findings (passport validity, deny list, eligibility): why it went to an officer.
    checks = models.JSONField(_("automatic checks"), default=dict, blank=True)
    requested_documents = models.JSONField(_("documents requested by an officer"), default=list, blank=True)
    request_note = models.CharField(_("officer's request"), max_length=500, blank=True)
    refusal_reason = models.CharField(
        _("legal reason for refusal"), max_length=30, choices=RefusalReason.choices, blank=True
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("fee paid at (bank time)"), null=True, blank=True)

    class Meta:
        verbose_name = _("visa or stay-permit application")
        verbose_name_plural = _("visa and stay-permit applications")
        ordering = ["-created_at"]
        constraints = [
            # Limits count per foreigner: one open application per foreigner, whoever files it.
            models.UniqueConstraint(
                fields=["foreigner"], condition=Q(status__in=OPEN_STATUSES), name="visaapp_one_open_per_foreigner"
            ),
            models.UniqueConstraint(fields=["reference"], condition=~Q(reference=""), name="visaapp_reference"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "withdrawn"]) | ~Q(reference=""), name="visaapp_submitted_reference"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["paid", "verified", "refusal_proposed", "issued"]) | Q(paid_at__isnull=False),
                name="visaapp_paid_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="refused") | ~Q(refusal_reason=""), name="visaapp_refusal_has_reason"
            ),
            models.CheckConstraint(
                condition=Q(purpose="visa") | Q(permit__isnull=False) | Q(entry__isnull=False),
                name="visaapp_followup_has_basis",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.public_id)


class VisaDecision(models.Model):
    """A decision on a visa case: the adjudicator's, the second reviewer's on a refusal, or the appeal's."""

    class Stage(models.TextChoices):
        DECISION = "decision", _("Decision")
        REVIEW = "review", _("Second review of a refusal")
        APPEAL = "appeal", _("Appeal")

    class Outcome(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REFUSE = "refuse", _("Refuse")
        MORE_DOCUMENTS = "more_documents", _("Ask for more documents")

    application = models.ForeignKey("VisaApplication", on_delete=models.PROTECT, related_name="decisions")
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(_("legal reason"), max_length=30, choices=RefusalReason.choices, blank=True)
    note = models.TextField(_("reasons"), max_length=4000)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("visa decision")
        verbose_name_plural = _("visa decisions")
        ordering = ["at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(outcome="refuse") & ~Q(reason="")) | (~Q(outcome="refuse") & Q(reason="")),
                name="visadecision_refusal_has_reason",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="visadecision_has_reasons"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.stage} {self.outcome}"


class VisaDocument(models.Model):
    """An uploaded document, checked by content (gerbang.applications.uploads) and stored under a random name."""

    application = models.ForeignKey(VisaApplication, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("document"), max_length=30)
    stored_name = models.CharField(_("stored as"), max_length=200, unique=True)
    content_type = models.CharField(_("type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    uploaded_at = models.DateTimeField(_("uploaded at"))
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visa document")
        verbose_name_plural = _("visa documents")
        ordering = ["kind", "-uploaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "kind"], condition=Q(superseded_at__isnull=True), name="visadoc_current_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(content_type__in=["image/jpeg", "image/png", "application/pdf"]), name="visadoc_type"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({self.content_type})"


class VisaStep(models.Model):
    """One entry of the application's timeline: every transition, with its time and who made it."""

    application = models.ForeignKey(VisaApplication, on_delete=models.PROTECT, related_name="steps")
    action = models.CharField(_("action"), max_length=30)
    from_status = models.CharField(_("from"), max_length=20, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"))
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("step")
        verbose_name_plural = _("steps")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.application} {self.action}"


class Permit(models.Model):
    """A visa or stay permit Gerbang issued. Its number and the passport number verify it on the public page."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        USED = "used", _("Used for entry")
        SUPERSEDED = "superseded", _("Replaced by a later permit")
        REVOKED = "revoked", _("Revoked")

    number = models.CharField(_("number"), max_length=16, unique=True)
    kind = models.ForeignKey(VisaKind, on_delete=models.PROTECT, related_name="permits")
    foreigner = models.ForeignKey(Foreigner, on_delete=models.PROTECT, related_name="permits")
    sponsor = models.ForeignKey(Sponsor, null=True, blank=True, on_delete=models.PROTECT, related_name="permits")
    application = models.OneToOneField(VisaApplication, on_delete=models.PROTECT, related_name="issued_permit")
    # The permit this one extends or replaces (an extension, ITAS -> ITAP).
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.VALID)
    issued_at = models.DateTimeField(_("issued at"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    # A visa: enter on or before ``enter_by``; the stay then lasts ``stay_days`` from the entry.
    enter_by = models.DateField(_("enter by"), null=True, blank=True)
    stay_days = models.PositiveIntegerField(_("stay (days)"))
    # A stay permit: the stay it allows, from ``valid_from`` to ``valid_until`` (inclusive).
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    extensions_used = models.PositiveSmallIntegerField(_("extensions used"), default=0)
    mrz = models.CharField(_("machine-readable zone"), max_length=89, blank=True)
    # When the holder (and the sponsor) were reminded that the permit ends soon.
    reminded_at = models.DateTimeField(_("expiry reminder sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("permit")
        verbose_name_plural = _("permits")
        ordering = ["-issued_at"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="permit_period"),
            models.CheckConstraint(condition=Q(number__regex=r"^[A-Z0-9]{6,16}$"), name="permit_number_format"),
        ]

    def __str__(self) -> str:
        return self.number


class BorderMovement(models.Model):
    """An entry or exit reported by border control (signed), the source of truth for stays."""

    class Direction(models.TextChoices):
        ENTRY = "entry", _("Entry")
        EXIT = "exit", _("Exit")

    event_id = models.CharField(_("event id"), max_length=64, unique=True)
    direction = models.CharField(_("direction"), max_length=5, choices=Direction.choices)
    nationality = models.CharField(_("nationality"), max_length=3)
    passport_number = models.CharField(_("passport number"), max_length=9)
    at = models.DateTimeField(_("at"))
    port = models.CharField(_("port"), max_length=10)
    foreigner = models.ForeignKey(Foreigner, null=True, blank=True, on_delete=models.PROTECT, related_name="movements")
    # The permit the person entered on (a visa, an e-VoA, or a stay permit for a re-entry).
    permit = models.ForeignKey(Permit, null=True, blank=True, on_delete=models.PROTECT, related_name="movements")
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("border movement")
        verbose_name_plural = _("border movements")
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["nationality", "passport_number", "at"])]
        constraints = [
            models.CheckConstraint(condition=Q(nationality__regex=r"^[A-Z]{3}$"), name="movement_nationality"),
            models.CheckConstraint(condition=Q(port__regex=r"^[A-Z0-9]{2,10}$"), name="movement_port"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.nationality} {self.passport_number} {self.at:%Y-%m-%d}"


class OverstayFine(models.Model):
    """Days stayed beyond the permit, from the border events, times the tariff; billed through the bank."""

    foreigner = models.ForeignKey(Foreigner, on_delete=models.PROTECT, related_name="fines")
    entry = models.OneToOneField(BorderMovement, on_delete=models.PROTECT, related_name="fine")
    exit = models.ForeignKey(BorderMovement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    permit = models.ForeignKey(Permit, on_delete=models.PROTECT, related_name="fines")
    allowed_until = models.DateField(_("stay allowed until"))
    days = models.PositiveIntegerField(_("days over"))
    amount = models.PositiveBigIntegerField(_("amount (rupiah)"))
    bill = models.OneToOneField("payments.Bill", on_delete=models.PROTECT, related_name="overstay_fine")
    computed_at = models.DateTimeField(_("computed at"))

    class Meta:
        verbose_name = _("overstay fine")
        verbose_name_plural = _("overstay fines")
        constraints = [models.CheckConstraint(condition=Q(days__gt=0) & Q(amount__gt=0), name="fine_positive")]

    def __str__(self) -> str:
        return f"{self.foreigner} {self.days} d"


class DenyListEntry(models.Model):
    """A passport, or a name and birth date, refused a visa; kept by deny-list maintainers."""

    nationality = models.CharField(_("nationality"), max_length=3)
    passport_number = models.CharField(_("passport number"), max_length=9, blank=True)
    surname = models.CharField(_("surname"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=300)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(_("added at"))
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)
    removal_reason = models.CharField(_("reason for removal"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("deny-list entry")
        verbose_name_plural = _("deny-list entries")
        constraints = [
            models.CheckConstraint(
                condition=~Q(passport_number="") | (~Q(surname="") & Q(birth_date__isnull=False)),
                name="denylist_identifies",
            ),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | ~Q(removal_reason=""), name="denylist_removed_with_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nationality} {self.passport_number or self.surname}"
