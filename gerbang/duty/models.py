"""Who is on duty where, whose devices are in which locker, who serves at which counter, and spot checks.

"On duty" and "working hours" everywhere in Gerbang mean a :class:`Shift` of
this roster. An officer serves at a counter only in a :class:`CounterSession`,
which needs a current shift at that counter and an active
:class:`DeviceDeposit` confirmed by a locker attendant (another person).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from gerbang.accounts.models import Role
from gerbang.organisation.models import Counter, Office


class Shift(models.Model):
    """One officer's duty at an office: a role, and for counter roles the counter, between two times."""

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="shifts")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="shifts", null=True, blank=True)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    planned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(_("planned at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["office", "role", "starts_at"]), models.Index(fields=["officer", "starts_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="shift_ends_after_start"),
            # Nobody plans their own duty.
            models.CheckConstraint(condition=~Q(planned_by=F("officer")), name="shift_not_self_planned"),
        ]

    def __str__(self) -> str:
        return f"{self.officer} {self.role} {self.starts_at:%Y-%m-%d %H:%M}"


class Locker(models.Model):
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="lockers")
    number = models.PositiveSmallIntegerField(_("number"))
    is_active = models.BooleanField(_("in use"), default=True)

    class Meta:
        verbose_name = _("device locker")
        verbose_name_plural = _("device lockers")
        ordering = ["office", "number"]
        constraints = [
            models.UniqueConstraint(fields=["office", "number"], name="locker_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="locker_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.office.code} #{self.number}"


class DeviceDeposit(models.Model):
    """An officer's devices in a locker, confirmed by an attendant at deposit and again at return."""

    locker = models.ForeignKey(Locker, on_delete=models.PROTECT, related_name="deposits")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deposits")
    devices = models.CharField(_("devices"), max_length=200)
    deposited_at = models.DateTimeField(_("deposited at"))
    attendant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    return_attendant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )

    class Meta:
        verbose_name = _("device deposit")
        verbose_name_plural = _("device deposits")
        ordering = ["-deposited_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(attendant=F("officer")), name="deposit_attendant_not_officer"),
            models.CheckConstraint(
                condition=Q(return_attendant__isnull=True) | ~Q(return_attendant=F("officer")),
                name="deposit_return_attendant_not_officer",
            ),
            models.CheckConstraint(
                condition=(Q(returned_at__isnull=True) & Q(return_attendant__isnull=True))
                | (Q(returned_at__gte=F("deposited_at")) & Q(return_attendant__isnull=False)),
                name="deposit_return_confirmed",
            ),
            models.UniqueConstraint(
                fields=["officer"], condition=Q(returned_at__isnull=True), name="deposit_one_active_per_officer"
            ),
            models.UniqueConstraint(
                fields=["locker"], condition=Q(returned_at__isnull=True), name="deposit_one_active_per_locker"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} in locker {self.locker_id}"


class CounterSession(models.Model):
    """An officer serving at a counter: bound to the counter, the officer's shift and their device deposit."""

    class Closed(models.TextChoices):
        BY_OFFICER = "officer", _("Closed by the officer")
        DEVICES_RETURNED = "devices_returned", _("Devices returned")
        SHIFT_ENDED = "shift_ended", _("Shift ended")

    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="sessions")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="counter_sessions")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="sessions")
    deposit = models.ForeignKey(DeviceDeposit, on_delete=models.PROTECT, related_name="sessions")
    opened_at = models.DateTimeField(_("opened at"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_because = models.CharField(_("closed because"), max_length=20, choices=Closed.choices, blank=True)

    class Meta:
        verbose_name = _("counter session")
        verbose_name_plural = _("counter sessions")
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["counter"], condition=Q(closed_at__isnull=True), name="counter_session_one_open_per_counter"
            ),
            models.UniqueConstraint(
                fields=["officer"], condition=Q(closed_at__isnull=True), name="counter_session_one_open_per_officer"
            ),
            models.CheckConstraint(
                condition=(Q(closed_at__isnull=True) & Q(closed_because=""))
                | (Q(closed_at__gte=F("opened_at")) & ~Q(closed_because="")),
                name="counter_session_closed_with_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} at counter {self.counter_id}"


class SpotCheck(models.Model):
    """A supervisor's surprise check of an officer at work, and what was found."""

    class Finding(models.TextChoices):
        CLEAN = "clean", _("Nothing found")
        PHONE_AT_DESK = "phone_at_desk", _("A phone or other device at the desk")
        CASH_IN_DRAWER = "cash_in_drawer", _("Cash in a drawer or at the desk")
        NO_DEPOSIT = "no_deposit", _("Serving without devices in a locker")
        NOT_ON_ROSTER = "not_on_roster", _("Serving outside the roster")
        UNKNOWN_PERSON = "unknown_person", _("A non-applicant or intermediary at the counter")
        OTHER = "other", _("Other finding (see the note)")

    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="spot_checks")
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="spot_checks")
    counter = models.ForeignKey(Counter, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    checked_at = models.DateTimeField(_("checked at"))
    finding = models.CharField(_("finding"), max_length=20, choices=Finding.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    supervisor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("spot check")
        verbose_name_plural = _("spot checks")
        ordering = ["-checked_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(supervisor=F("officer")), name="spot_check_not_of_oneself"),
            models.CheckConstraint(condition=~Q(finding="other") | ~Q(note=""), name="spot_check_other_needs_note"),
        ]

    def __str__(self) -> str:
        return f"{self.officer_id} {self.checked_at:%Y-%m-%d %H:%M}: {self.finding}"

    @property
    def is_adverse(self) -> bool:
        return self.finding != self.Finding.CLEAN
