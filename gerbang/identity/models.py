"""Who an applicant account is: a NIK bound to it only after the population registry confirmed it.

A NIK is bound to at most one account at a time (a database constraint). A
second person claiming the same NIK gets a pending claim, settled only by an
officer who checks the person and their ID card at an office
(:class:`OfficeIdentityCheck`); the earlier account is then suspended.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class CitizenIdentity(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Verified")
        PENDING_OFFICE_CHECK = "pending_office_check", _("Waiting for a check at an office")
        SUPERSEDED = "superseded", _("Taken over by the rightful owner")
        REFUSED = "refused", _("Refused at an office")

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="identities")
    status = models.CharField(_("status"), max_length=24, choices=Status.choices)
    nik = models.CharField(_("NIK"), max_length=16)
    kk = models.CharField(_("family card number (KK)"), max_length=16)
    name = models.CharField(_("name"), max_length=200)
    birth_place = models.CharField(_("place of birth"), max_length=100, blank=True)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    father_name = models.CharField(_("father's name"), max_length=200, blank=True)
    mother_name = models.CharField(_("mother's name"), max_length=200, blank=True)
    relationship = models.CharField(_("relationship on the family card"), max_length=20, blank=True)
    # Given to the person with a pending claim, to show at an office.
    claim_code = models.CharField(_("claim code"), max_length=12, blank=True)
    registry_checked_at = models.DateTimeField(_("confirmed by the registry at"))
    activated_at = models.DateTimeField(_("active since"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("citizen identity")
        verbose_name_plural = _("citizen identities")
        constraints = [
            models.UniqueConstraint(fields=["nik"], condition=Q(status="active"), name="identity_one_account_per_nik"),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(status__in=["active", "pending_office_check"]),
                name="identity_one_nik_per_account",
            ),
            models.UniqueConstraint(
                fields=["claim_code"], condition=~Q(claim_code=""), name="identity_unique_claim_code"
            ),
            models.CheckConstraint(condition=Q(nik__regex=r"^[0-9]{16}$"), name="identity_nik_16_digits"),
            models.CheckConstraint(condition=Q(kk__regex=r"^[0-9]{16}$"), name="identity_kk_16_digits"),
            models.CheckConstraint(
                condition=~Q(status="active") | Q(activated_at__isnull=False), name="identity_active_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status="pending_office_check") | Q(claim_code__gt=""),
                name="identity_pending_has_claim_code",
            ),
        ]
        indexes = [models.Index(fields=["nik"], name="identity_nik")]

    def __str__(self) -> str:
        return self.name


class Dependant(models.Model):
    """A minor on the account holder's family card, as the registry listed them; the holder may file for them."""

    guardian = models.ForeignKey(CitizenIdentity, on_delete=models.PROTECT, related_name="dependants")
    nik = models.CharField(_("NIK"), max_length=16)
    name = models.CharField(_("name"), max_length=200)
    birth_date = models.DateField(_("date of birth"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    listed_at = models.DateTimeField(_("listed by the registry at"))

    class Meta:
        verbose_name = _("dependant")
        verbose_name_plural = _("dependants")
        ordering = ["birth_date"]
        constraints = [
            models.UniqueConstraint(fields=["guardian", "nik"], name="dependant_once_per_guardian"),
            models.CheckConstraint(condition=Q(nik__regex=r"^[0-9]{16}$"), name="dependant_nik_16_digits"),
        ]

    def __str__(self) -> str:
        return self.name


class OfficeIdentityCheck(models.Model):
    """An officer's in-person check of a contested NIK claim, and what it decided."""

    class Outcome(models.TextChoices):
        CONFIRMED = "confirmed", _("Confirmed: the claimant is the owner of the NIK")
        REFUSED = "refused", _("Refused: the claimant could not prove it")

    claim = models.OneToOneField(CitizenIdentity, on_delete=models.PROTECT, related_name="office_check")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    document_number = models.CharField(_("number of the ID card checked"), max_length=16)
    face_matches_registry_photo = models.BooleanField(_("face matches the registry photo"))
    note = models.CharField(_("note"), max_length=500)
    superseded = models.ForeignKey(
        CitizenIdentity, null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by_check"
    )
    checked_at = models.DateTimeField(_("checked at"))

    class Meta:
        verbose_name = _("identity check at an office")
        verbose_name_plural = _("identity checks at offices")
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="confirmed") | Q(face_matches_registry_photo=True),
                name="identity_check_confirmed_needs_face",
            ),
            models.CheckConstraint(condition=~Q(note=""), name="identity_check_has_note"),
        ]

    def __str__(self) -> str:
        return f"{self.claim} · {self.outcome}"


def mask_nik(nik: str) -> str:
    """The NIK as shown to anyone but its owner: region code and serial only, never the birth date."""
    if len(nik) != 16:
        return "*" * len(nik)
    return f"{nik[:6]}******{nik[12:]}"
