"""Slots at an office, their release (by lottery or first come, first served), the draw, requests and bookings.

Capacity is guarded in the database: a slot's ``booked`` never exceeds its
``capacity`` (a CHECK), nor does any pool (priority quota, express quota, the
general places outside both) exceed its share (CHECKs), and bookings take a
place with one conditional UPDATE.
A booking belongs to a submitted application and its applicant's NIK: at most
one active booking per NIK (a partial unique index). The lottery's public
record (commitments, root, secrets, result digest) is on :class:`Draw`;
docs/lottery.md says how anyone can recompute it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class PartOfDay(models.TextChoices):
    MORNING = "am", _("Morning")
    AFTERNOON = "pm", _("Afternoon")


class Slot(models.Model):
    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="slots")
    starts_at = models.DateTimeField(_("starts at"))
    day = models.DateField(_("day (office time)"))
    part_of_day = models.CharField(_("part of day"), max_length=2, choices=PartOfDay.choices)
    capacity = models.PositiveIntegerField(_("places"))
    priority_capacity = models.PositiveIntegerField(_("places for priority applicants"), default=0)
    booked = models.PositiveIntegerField(_("booked"), default=0)
    priority_booked = models.PositiveIntegerField(_("booked by priority applicants"), default=0)
    # Places for express-service applications only, booked first come in any open release; never in the lottery.
    express_capacity = models.PositiveIntegerField(_("places for express service"), default=0)
    express_booked = models.PositiveIntegerField(_("booked by express applications"), default=0)

    class Meta:
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["office", "starts_at"], name="slot_unique_time"),
            models.CheckConstraint(condition=Q(capacity__gt=0), name="slot_capacity_positive"),
            models.CheckConstraint(condition=Q(booked__lte=F("capacity")), name="slot_never_overbooked"),
            models.CheckConstraint(
                condition=Q(priority_booked__lte=F("priority_capacity")), name="slot_priority_never_overbooked"
            ),
            models.CheckConstraint(
                condition=Q(express_booked__lte=F("express_capacity")), name="slot_express_never_overbooked"
            ),
            # The quotas are parts of the places, not extra places.
            models.CheckConstraint(
                condition=Q(capacity__gte=F("priority_capacity") + F("express_capacity")), name="slot_quotas_within"
            ),
            models.CheckConstraint(
                condition=Q(booked__gte=F("priority_booked") + F("express_booked")), name="slot_quota_bookings_counted"
            ),
            # General places (outside both quotas) never eat into a quota: booked - priority_booked -
            # express_booked <= capacity - priority_capacity - express_capacity.
            models.CheckConstraint(
                condition=Q(
                    booked__lte=F("capacity")
                    - F("priority_capacity")
                    - F("express_capacity")
                    + F("priority_booked")
                    + F("express_booked")
                ),
                name="slot_general_never_overbooked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def express_left(self) -> int:
        """Places left in the express quota (express-service applications only)."""
        return self.express_capacity - self.express_booked

    @property
    def priority_left(self) -> int:
        """Places left in the priority quota."""
        return self.priority_capacity - self.priority_booked

    @property
    def general_left(self) -> int:
        """Places left outside both quotas (anyone but express-service applications)."""
        return (self.capacity - self.priority_capacity - self.express_capacity) - (
            self.booked - self.priority_booked - self.express_booked
        )

    @property
    def group(self) -> str:
        """The lottery's slot group: ``<office code>/<day>/<am|pm>``."""
        return f"{self.office.code}/{self.day.isoformat()}/{self.part_of_day}"


class Release(models.Model):
    """The slots of an office over some days, released by lottery (the default) or first come, first served."""

    class Mode(models.TextChoices):
        LOTTERY = "lottery", _("Lottery")
        FIRST_COME = "first_come", _("First come, first served")

    class Status(models.TextChoices):
        OPEN = "open", _("Taking requests")
        DRAWN = "drawn", _("Drawn")

    office = models.ForeignKey("organisation.Office", on_delete=models.PROTECT, related_name="releases")
    mode = models.CharField(_("mode"), max_length=12, choices=Mode.choices, default=Mode.LOTTERY)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    window_opens_at = models.DateTimeField(_("requests from"))
    window_closes_at = models.DateTimeField(_("requests until"))
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        constraints = [
            models.CheckConstraint(condition=Q(last_day__gte=F("first_day")), name="release_days_in_order"),
            models.CheckConstraint(
                condition=Q(window_closes_at__gt=F("window_opens_at")), name="release_window_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.office_id} {self.first_day}..{self.last_day} ({self.mode})"


class Draw(models.Model):
    """The lottery's public record. Gerbang's secret is published only after the witness revealed its own."""

    release = models.OneToOneField(Release, on_delete=models.PROTECT, related_name="draw")
    public_id = models.CharField(_("draw id"), max_length=64, unique=True)
    gerbang_commitment = models.CharField(_("Gerbang's commitment"), max_length=64)
    gerbang_secret = models.CharField(_("Gerbang's secret"), max_length=64)
    witness_commitment = models.CharField(_("witness's commitment"), max_length=64)
    witness_commit_signature = models.CharField(_("witness's signature of its commitment"), max_length=200)
    root = models.CharField(_("Merkle root of the requests"), max_length=64, blank=True)
    request_count = models.PositiveIntegerField(_("requests"), null=True, blank=True)
    witness_secret = models.CharField(_("witness's secret"), max_length=64, blank=True)
    witness_reveal_signature = models.CharField(_("witness's signature of its reveal"), max_length=200, blank=True)
    capacity = models.JSONField(_("capacity per slot group"), default=dict)
    result = models.JSONField(_("result (allocations and waiting list)"), default=dict)
    result_digest = models.CharField(_("result digest"), max_length=64, blank=True)
    drawn_at = models.DateTimeField(_("drawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        constraints = [
            models.CheckConstraint(
                condition=Q(drawn_at__isnull=True) | (~Q(root="") & ~Q(witness_secret="") & ~Q(result_digest="")),
                name="draw_drawn_has_record",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class LotteryRequest(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", _("Waiting for the draw")
        ALLOCATED = "allocated", _("Allocated a slot")
        WAITING = "waiting", _("On the waiting list")
        FORFEITED = "forfeited", _("Allocated, but the application no longer needed it")

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="requests")
    application = models.ForeignKey("applications.PassportApplication", on_delete=models.PROTECT, related_name="+")
    applicant_nik = models.CharField(_("applicant's NIK"), max_length=16)
    pseudonym = models.CharField(_("pseudonymous request id"), max_length=32, unique=True)
    priority = models.BooleanField(_("priority applicant"), default=False)
    choices = models.JSONField(_("choices (slot groups, in order)"))
    created_at = models.DateTimeField(_("requested at"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    rank = models.PositiveIntegerField(_("place in the draw order"), null=True, blank=True)

    class Meta:
        verbose_name = _("lottery request")
        verbose_name_plural = _("lottery requests")
        constraints = [
            models.UniqueConstraint(fields=["release", "applicant_nik"], name="request_one_per_nik_per_release"),
        ]

    def __str__(self) -> str:
        return self.pseudonym


class Booking(models.Model):
    """An appointment: a place in a slot for a submitted application and its applicant's NIK.

    Not transferable. It ends attended (checked in at the office), cancelled, rescheduled (replaced by the
    booking whose ``rescheduled_from`` it is; that one cannot be rescheduled again) or as a no-show.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Booked")
        CANCELLED = "cancelled", _("Cancelled")
        RESCHEDULED = "rescheduled", _("Rescheduled")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("Did not attend")

    class Source(models.TextChoices):
        LOTTERY = "lottery", _("Lottery")
        WAITING_LIST = "waiting_list", _("Waiting list")
        FIRST_COME = "first_come", _("First come, first served")
        RESCHEDULED = "rescheduled", _("Rescheduled by the applicant")

    slot = models.ForeignKey(Slot, on_delete=models.PROTECT, related_name="bookings")
    application = models.ForeignKey(
        "applications.PassportApplication", on_delete=models.PROTECT, related_name="bookings"
    )
    applicant_nik = models.CharField(_("applicant's NIK"), max_length=16)
    priority = models.BooleanField(_("in the priority quota"), default=False)
    source = models.CharField(_("how it was allocated"), max_length=12, choices=Source.choices)
    request = models.ForeignKey(LotteryRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("booked at"))
    cancelled_at = models.DateTimeField(_("cancelled or rescheduled at"), null=True, blank=True)
    checked_in_at = models.DateTimeField(_("checked in at"), null=True, blank=True)
    rescheduled_from = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="rescheduled_to",
        verbose_name=_("rescheduled from"),
    )

    class Meta:
        verbose_name = _("booking")
        verbose_name_plural = _("bookings")
        constraints = [
            models.UniqueConstraint(
                fields=["applicant_nik"], condition=Q(status="active"), name="booking_one_active_per_nik"
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(status="active"), name="booking_one_active_per_application"
            ),
            models.CheckConstraint(
                condition=(Q(status="attended") & Q(checked_in_at__isnull=False))
                | (~Q(status="attended") & Q(checked_in_at__isnull=True)),
                name="booking_attended_iff_checked_in",
            ),
            models.CheckConstraint(
                condition=(Q(status__in=["cancelled", "rescheduled"]) & Q(cancelled_at__isnull=False))
                | (~Q(status__in=["cancelled", "rescheduled"]) & Q(cancelled_at__isnull=True)),
                name="booking_ended_iff_cancelled_at",
            ),
            models.CheckConstraint(
                condition=(Q(source="rescheduled") & Q(rescheduled_from__isnull=False))
                | (~Q(source="rescheduled") & Q(rescheduled_from__isnull=True)),
                name="booking_rescheduled_source_iff_from",
            ),
            models.CheckConstraint(condition=~Q(rescheduled_from=F("pk")), name="booking_not_rescheduled_from_itself"),
        ]

    def __str__(self) -> str:
        return f"{self.slot} · {self.applicant_nik[:6]}…"
