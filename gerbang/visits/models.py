"""A visit to an office: check-in that proves who came, the queue number, the call to a counter.

A visit is made at the front desk, either from a booking (its QR code) or for a
walk-in priority applicant within the day's priority quota. Either way the
officer has checked the ID card against the NIK and seen the registry photo
beside a photo taken at check-in (database CHECKs: a visit exists only with
both). The counter that calls the number shows both photos again, so the
person served is the person who booked.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class QueueDay(models.Model):
    """The last queue number given at an office on a day (office time); numbers are taken with a guarded UPDATE."""

    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day (office time)"))
    last_number = models.PositiveIntegerField(_("last number given"), default=0)

    class Meta:
        verbose_name = _("queue day")
        verbose_name_plural = _("queue days")
        constraints = [models.UniqueConstraint(fields=["office", "day"], name="queue_day_unique")]

    def __str__(self) -> str:
        return f"{self.office_id} {self.day}: {self.last_number}"


class Visit(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        CALLED = "called", _("Called to a counter")
        SERVED = "served", _("Served")
        ABSENT = "absent", _("Did not come when called")

    class PriorityReason(models.TextChoices):
        NONE = "", _("None")
        OVER_60 = "over_60", _("Aged 60 or over")
        UNDER_5 = "under_5", _("Child under 5")
        DISABILITY = "disability", _("Disability")

    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="visits")
    day = models.DateField(_("day (office time)"))
    number = models.PositiveIntegerField(_("queue number"))
    ticket = models.CharField(_("ticket code"), max_length=32, unique=True)
    slot = models.ForeignKey("appointments.Slot", on_delete=models.PROTECT, related_name="visits")
    booking = models.OneToOneField(
        "appointments.Booking", on_delete=models.PROTECT, null=True, blank=True, related_name="visit"
    )
    application = models.ForeignKey("applications.PassportApplication", on_delete=models.PROTECT, related_name="visits")
    applicant_nik = models.CharField(_("applicant's NIK"), max_length=16)
    walk_in = models.BooleanField(_("walk-in priority applicant"), default=False)
    priority_reason = models.CharField(
        _("priority reason"), max_length=12, choices=PriorityReason.choices, blank=True, default=""
    )
    # What the front-desk officer checked, in person.
    id_card_checked = models.BooleanField(_("ID card checked against the NIK"))
    face_matches = models.BooleanField(_("face matches the registry photo"))
    registry_photo = models.CharField(_("registry photo (stored copy)"), max_length=200)
    registry_photo_sha256 = models.CharField(_("registry photo SHA-256"), max_length=64)
    checkin_photo = models.CharField(_("photo taken at check-in"), max_length=200)
    checkin_photo_sha256 = models.CharField(_("check-in photo SHA-256"), max_length=64)
    checked_in_at = models.DateTimeField(_("checked in at"))
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # The queue.
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.WAITING)
    counter = models.ForeignKey("organisation.Counter", on_delete=models.PROTECT, null=True, blank=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    calls = models.PositiveSmallIntegerField(_("times called"), default=0)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["office", "day", "number"]
        constraints = [
            models.UniqueConstraint(fields=["office", "day", "number"], name="visit_unique_number"),
            models.UniqueConstraint(fields=["office", "day", "applicant_nik"], name="visit_one_per_person_per_day"),
            models.CheckConstraint(
                condition=Q(id_card_checked=True, face_matches=True)
                & ~Q(registry_photo_sha256="")
                & ~Q(checkin_photo_sha256=""),
                name="visit_identity_checked",
            ),
            models.CheckConstraint(
                condition=(Q(walk_in=True, booking__isnull=True) & ~Q(priority_reason=""))
                | Q(walk_in=False, booking__isnull=False),
                name="visit_booked_or_priority_walk_in",
            ),
            models.CheckConstraint(
                condition=Q(status="waiting") | Q(counter__isnull=False, called_at__isnull=False),
                name="visit_called_at_a_counter",
            ),
        ]
        indexes = [models.Index(fields=["office", "day", "status"], name="visit_queue")]

    def __str__(self) -> str:
        return self.code

    @property
    def code(self) -> str:
        """What the display calls: ``P-007`` for priority applicants (served first), ``A-012`` for the others."""
        return f"{'P' if self.priority_reason else 'A'}-{self.number:03d}"
