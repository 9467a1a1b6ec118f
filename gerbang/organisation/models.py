"""The organisation: Directorate General -> divisions -> offices -> service units -> counters; and holidays."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not an IANA time zone."), params={"value": value})


class Directorate(models.Model):
    """The Directorate General of Immigration: the root of the hierarchy (one row)."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("directorate general")
        verbose_name_plural = _("directorates general")

    def __str__(self) -> str:
        return self.name


class Division(models.Model):
    """A regional division: one per province, keyed by the NIK province code."""

    directorate = models.ForeignKey(Directorate, on_delete=models.PROTECT, related_name="divisions")
    province_code = models.CharField(_("province code"), max_length=2, unique=True)
    province = models.CharField(_("province"), max_length=100)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("regional division")
        verbose_name_plural = _("regional divisions")
        ordering = ["province_code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(province_code__regex=r"^[0-9]{2}$"), name="division_province_code_two_digits"
            )
        ]

    def __str__(self) -> str:
        return self.name


class OfficeClass(models.TextChoices):
    I_KHUSUS_TPI = "I Khusus TPI", _("Class I Special, with immigration checkpoint")
    I_KHUSUS_NON_TPI = "I Khusus Non TPI", _("Class I Special, without immigration checkpoint")
    I_TPI = "I TPI", _("Class I, with immigration checkpoint")
    I_NON_TPI = "I Non TPI", _("Class I, without immigration checkpoint")
    II_TPI = "II TPI", _("Class II, with immigration checkpoint")
    II_NON_TPI = "II Non TPI", _("Class II, without immigration checkpoint")


class OfficeKind(models.TextChoices):
    OFFICE = "office", _("Immigration office")
    DETENTION = "detention", _("Immigration detention centre")


class Office(models.Model):
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="offices")
    code = models.SlugField(_("code"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=OfficeKind.choices, default=OfficeKind.OFFICE)
    office_class = models.CharField(_("class"), max_length=30, choices=OfficeClass.choices)
    city = models.CharField(_("city"), max_length=100)
    address = models.CharField(_("address"), max_length=300, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, validators=[validate_timezone])
    source_url = models.URLField(_("public page"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("immigration office")
        verbose_name_plural = _("immigration offices")
        ordering = ["division__province_code", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(timezone__in=["Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura", "Asia/Pontianak"]),
                name="office_timezone_indonesian",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ServiceUnit(models.Model):
    """A place where applicants are served: the office itself or a passport service unit (ULP)."""

    class Kind(models.TextChoices):
        MAIN = "main", _("Main office hall")
        ULP = "ulp", _("Passport service unit (ULP)")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="units")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.MAIN)
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("service unit")
        verbose_name_plural = _("service units")
        constraints = [models.UniqueConstraint(fields=["office", "name"], name="service_unit_unique_name")]

    def __str__(self) -> str:
        return self.name


class Counter(models.Model):
    unit = models.ForeignKey(ServiceUnit, on_delete=models.PROTECT, related_name="counters")
    number = models.PositiveSmallIntegerField(_("number"))
    label = models.CharField(_("label"), max_length=100, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("counter")
        verbose_name_plural = _("counters")
        ordering = ["unit", "number"]
        constraints = [
            models.UniqueConstraint(fields=["unit", "number"], name="counter_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="counter_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.unit} / {self.number}"

    @property
    def office(self) -> Office:
        return self.unit.office


class Holiday(models.Model):
    """A day without appointments: a national holiday (``office`` empty) for every office, or one office's own.

    The day is a calendar date in each office's own time zone. Working-day clocks and the appointment
    calendar read holidays through :mod:`gerbang.organisation.selectors`.
    """

    day = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=200)
    office = models.ForeignKey(
        Office,
        verbose_name=_("office"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="holidays",
        help_text=_("Empty for a national holiday, observed by every office."),
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    declared_at = models.DateTimeField(_("declared at"))

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["day"], condition=Q(office__isnull=True), name="holiday_one_national_a_day"
            ),
            models.UniqueConstraint(
                fields=["office", "day"], condition=Q(office__isnull=False), name="holiday_one_per_office_a_day"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="holiday_has_name"),
        ]

    def __str__(self) -> str:
        return f"{self.day.isoformat()} {self.name}"

    @property
    def national(self) -> bool:
        return self.office_id is None
