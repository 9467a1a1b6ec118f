"""Fees as dated, versioned data: the tariff in force on a date is the latest version that started on or before it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class Service(models.Model):
    class Category(models.TextChoices):
        PASSPORT = "passport", _("Passport")
        VISA = "visa", _("Visa")
        STAY_PERMIT = "stay_permit", _("Stay permit")
        SURCHARGE = "surcharge", _("Additional service")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    name_id = models.CharField(_("name (Indonesian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("offered"), default=True)

    class Meta:
        verbose_name = _("service")
        verbose_name_plural = _("services")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "id").startswith("en") else self.name_id


class Tariff(models.Model):
    """One version of a fee. Versions are never edited: a change is a new version from a date."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="tariffs")
    valid_from = models.DateField(_("in force from"))
    amount = models.PositiveBigIntegerField(_("amount (rupiah)"))
    legal_basis = models.CharField(_("legal basis"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["service__sort_order", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["service", "valid_from"], name="tariff_one_version_per_day"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="tariff_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.service.code} {self.valid_from}: Rp {self.amount}"
