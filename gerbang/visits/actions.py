"""Check-in at the front desk, walk-in priority applicants, and the counters' calls. Each action audits itself.

The front-desk officer scans the booking's QR code (or types the NIK of a
walk-in priority applicant), checks the original ID card against the NIK, sees
the registry photo beside a photo taken at the desk, and records that they
match; only then is a queue number given. Money is never taken at the office:
an application whose fee is not paid at a bank is not checked in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.applications.models import PassportApplication, document_storage
from gerbang.applications.uploads import CheckedFile
from gerbang.appointments import actions as appointments
from gerbang.appointments.models import Booking, Slot
from gerbang.audit.actions import record
from gerbang.organisation.models import Counter, Office
from gerbang.organisation.selectors import office_today

from .models import QueueDay, Visit

WALK_IN_STATUSES = appointments.BOOKABLE


@dataclass(frozen=True)
class Photo:
    """A photo as it will be stored: content, its type's extension and its SHA-256."""

    content: bytes
    extension: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @classmethod
    def from_checked(cls, checked: CheckedFile) -> Photo:
        if checked.width is None:  # a PDF passed the document checks, but a face is a photo
            raise ValidationError({"photo": _("Take a photo (JPEG or PNG), not a PDF.")})
        return cls(checked.content, checked.extension)


def _refuse(event: str, *, actor: Any, office: Office, obj: Any, reason: str, message: str, field: str) -> None:
    """Audit a refused check-in (its own transaction: the refusal stays on record) and raise the form error."""
    with transaction.atomic():
        record(event, actor=actor, obj=obj, office=office, details={"reason": reason})
    raise ValidationError({field: message})


def _check_person(
    *,
    event: str,
    actor: Any,
    office: Office,
    obj: Any,
    nik: str,
    id_card_nik: str,
    face_matches: bool,
) -> None:
    if "".join(id_card_nik.split()) != nik:
        _refuse(
            event,
            actor=actor,
            office=office,
            obj=obj,
            reason="id_card_mismatch",
            field="id_card_nik",
            message=_("The NIK on the ID card is not the applicant's NIK. The person cannot be checked in."),
        )
    if not face_matches:
        _refuse(
            event,
            actor=actor,
            office=office,
            obj=obj,
            reason="face_mismatch",
            field="face_matches",
            message=_(
                "Only a person whose face matches the registry photo is checked in. "
                "If the registry photo is outdated, send the person to the office head."
            ),
        )


def _check_paid(application: PassportApplication) -> None:
    if application.paid_at is None:
        raise ValidationError(
            {
                "application": _(
                    "The fee is not paid yet. It is paid only at a bank with the billing code; "
                    "no money is taken at the office."
                )
            }
        )


def _next_number(office: Office, day: dt.date) -> int:
    """Inside the caller's transaction: the day's next number (the UPDATE holds the row until commit)."""
    QueueDay.objects.get_or_create(office=office, day=day)
    QueueDay.objects.filter(office=office, day=day).update(last_number=F("last_number") + 1)
    return QueueDay.objects.values_list("last_number", flat=True).get(office=office, day=day)


def _store(photo: Photo) -> str:
    today = timezone.now()
    return document_storage().save(
        f"visits/{today:%Y/%m}/{secrets.token_urlsafe(24)}.{photo.extension}", ContentFile(photo.content)
    )


def _create_visit(
    *, stored: list[str], registry_photo: Photo, checkin_photo: Photo, **fields: Any
) -> tuple[Visit, dict[str, Any]]:
    registry_name = _store(registry_photo)
    stored.append(registry_name)
    checkin_name = _store(checkin_photo)
    stored.append(checkin_name)
    office: Office = fields["office"]
    day = fields["day"]
    visit = Visit.objects.create(
        number=_next_number(office, day),
        ticket=secrets.token_urlsafe(16),
        id_card_checked=True,
        face_matches=True,
        registry_photo=registry_name,
        registry_photo_sha256=registry_photo.sha256,
        checkin_photo=checkin_name,
        checkin_photo_sha256=checkin_photo.sha256,
        checked_in_at=timezone.now(),
        **fields,
    )
    details = {
        "number": visit.code,
        "slot": visit.slot_id,
        "registry_photo_sha256": registry_photo.sha256,
        "checkin_photo_sha256": checkin_photo.sha256,
    }
    return visit, details


def _atomically_with_files(work: Any) -> Visit:
    """Run ``work(stored)`` in a transaction; delete the photos it stored if the transaction fails."""
    stored: list[str] = []
    try:
        with transaction.atomic():
            visit: Visit = work(stored)
    except Exception:
        for name in stored:
            document_storage().delete(name)
        raise
    return visit


def check_in(
    *,
    booking: Booking,
    office: Office,
    actor: Any,
    id_card_nik: str,
    face_matches: bool,
    registry_photo: Photo,
    checkin_photo: Photo,
) -> Visit:
    """A booked applicant at the front desk: identity checked, then a queue number."""
    require(actor, Perm.CHECK_IN, office)
    _at_the_desk(office, actor)
    slot = booking.slot
    if slot.office_id != office.pk:
        raise ValidationError({"code": _("This appointment is at another office.")})
    today = office_today(office)
    if slot.day != today:
        raise ValidationError(
            {"code": _("This appointment is on %(day)s, not today.") % {"day": slot.day.strftime("%d-%m-%Y")}}
        )
    if booking.status != Booking.Status.ACTIVE:
        raise ValidationError(
            {"code": _("This appointment is not active (%(status)s).") % {"status": booking.get_status_display()}}
        )
    _check_paid(booking.application)
    _check_person(
        event="visits.check_in_refused",
        actor=actor,
        office=office,
        obj=booking,
        nik=booking.applicant_nik,
        id_card_nik=id_card_nik,
        face_matches=face_matches,
    )

    def work(stored: list[str]) -> Visit:
        visit, details = _create_visit(
            stored=stored,
            registry_photo=registry_photo,
            checkin_photo=checkin_photo,
            office=office,
            day=today,
            slot=slot,
            booking=booking,
            application=booking.application,
            applicant_nik=booking.applicant_nik,
            priority_reason=Visit.PriorityReason.NONE,
            checked_in_by=actor,
        )
        if booking.priority:
            visit.priority_reason = _priority_reason(booking.application, today) or Visit.PriorityReason.DISABILITY
            visit.save(update_fields=["priority_reason"])
            details["number"] = visit.code
        appointments.mark_attended(booking, at=visit.checked_in_at)
        record("visits.checked_in", actor=actor, obj=visit, office=office, details=details | {"booking": booking.pk})
        return visit

    try:
        return _atomically_with_files(work)
    except IntegrityError as exc:
        raise ValidationError({"code": _("This person has already been checked in today.")}) from exc


def _age(born: dt.date, on: dt.date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _priority_reason(application: PassportApplication, on: dt.date) -> str:
    """The reason the birth date proves (60 or over, under 5), or "" (disability is seen and declared in person)."""
    age = _age(application.applicant_birth_date, on)
    if age >= 60:
        return Visit.PriorityReason.OVER_60
    if age < 5:
        return Visit.PriorityReason.UNDER_5
    return ""


def walk_in_application(office: Office, nik: str) -> PassportApplication | None:
    """The walk-in's submitted application at this office, found by the NIK on their ID card."""
    return (
        PassportApplication.objects.filter(
            office=office, applicant_nik="".join(nik.split()), status__in=WALK_IN_STATUSES
        )
        .order_by("-submitted_at")
        .first()
    )


def register_walk_in(
    *,
    application: PassportApplication,
    office: Office,
    actor: Any,
    disability: bool,
    id_card_nik: str,
    face_matches: bool,
    registry_photo: Photo,
    checkin_photo: Photo,
) -> Visit:
    """A priority applicant without an appointment (60 or over, under 5, disabled): a number within today's quota."""
    require(actor, Perm.CHECK_IN, office)
    _at_the_desk(office, actor)
    if application.office_id != office.pk or application.status not in WALK_IN_STATUSES:
        raise ValidationError({"nik": _("This person has no submitted application at this office.")})
    _check_paid(application)
    if Booking.objects.filter(applicant_nik=application.applicant_nik, status=Booking.Status.ACTIVE).exists():
        raise ValidationError({"nik": _("This person has an appointment: check them in with its QR code.")})
    today = office_today(office)
    reason = _priority_reason(application, today) or (Visit.PriorityReason.DISABILITY if disability else "")
    if not reason:
        raise ValidationError(
            {
                "disability": _(
                    "Walk-ins are only for priority applicants: aged 60 or over, children under 5, or people with a "
                    "disability. Others book an appointment online."
                )
            }
        )
    _check_person(
        event="visits.walk_in_refused",
        actor=actor,
        office=office,
        obj=application,
        nik=application.applicant_nik,
        id_card_nik=id_card_nik,
        face_matches=face_matches,
    )

    def work(stored: list[str]) -> Visit:
        slots = list(Slot.objects.filter(office=office, day=today).order_by("starts_at").values_list("pk", flat=True))
        slot_id = appointments.take_priority_place(slots)
        if slot_id is None:
            raise ValidationError(
                {"nik": _("Today's places for priority applicants are all taken. The person can book online.")}
            )
        visit, details = _create_visit(
            stored=stored,
            registry_photo=registry_photo,
            checkin_photo=checkin_photo,
            office=office,
            day=today,
            slot_id=slot_id,
            application=application,
            applicant_nik=application.applicant_nik,
            walk_in=True,
            priority_reason=reason,
            checked_in_by=actor,
        )
        record(
            "visits.walk_in_registered",
            actor=actor,
            obj=visit,
            office=office,
            details=details | {"application": application.reference, "reason": reason},
        )
        return visit

    try:
        return _atomically_with_files(work)
    except IntegrityError as exc:
        raise ValidationError({"nik": _("This person has already been checked in today.")}) from exc


def _waiting(office: Office, day: dt.date) -> Any:
    """Waiting visits in calling order: priority applicants first, then by number."""
    return Visit.objects.filter(office=office, day=day, status=Visit.Status.WAITING).order_by(
        Case(When(priority_reason="", then=Value(1)), default=Value(0)), "number"
    )


def current_call(counter: Counter) -> Visit | None:
    today = office_today(counter.office)
    return (
        Visit.objects.filter(counter=counter, day=today, status=Visit.Status.CALLED)
        .select_related("application")
        .order_by("-called_at")
        .first()
    )


def _at_the_desk(office: Office, actor: Any) -> None:
    """The front desk serves face to face too: only in an open counter session at the office (phone in a locker)."""
    from gerbang.duty.selectors import serving_at

    if serving_at(actor, office) is None:
        raise ValidationError(
            {"code": _("Open your counter session at the front desk first (your devices in a locker).")}
        )


def _serving_here(counter: Counter, actor: Any) -> None:
    """Only the officer whose counter session is open at this counter (shift, devices in a locker) serves there."""
    from gerbang.duty.selectors import serving_at

    session = serving_at(actor, counter.office)
    if session is None or session.counter_id != counter.pk:
        raise ValidationError(
            {"counter": _("Open your counter session at this counter first (your devices in a locker).")}
        )


def call_next(*, counter: Counter, actor: Any) -> Visit | None:
    """The counter calls the next number; ``None`` when nobody is waiting."""
    office = counter.office
    require(actor, Perm.SERVE_QUEUE, office)
    if not counter.is_active:
        raise ValidationError({"counter": _("This counter is closed.")})
    _serving_here(counter, actor)
    with transaction.atomic():
        Counter.objects.select_for_update().filter(pk=counter.pk).first()  # one call at a time per counter
        if current_call(counter) is not None:
            raise ValidationError({"counter": _("Finish the person called to this counter first.")})
        waiting = _waiting(office, office_today(office)).select_for_update(
            skip_locked=connection.features.has_select_for_update_skip_locked
        )
        visit = waiting.first()
        if visit is None:
            return None
        visit.status = Visit.Status.CALLED
        visit.counter = counter
        visit.called_at = timezone.now()
        visit.called_by = actor
        visit.calls = 1
        visit.save(update_fields=["status", "counter", "called_at", "called_by", "calls"])
        record(
            "visits.called",
            actor=actor,
            obj=visit,
            office=office,
            details={"number": visit.code, "counter": counter.number},
        )
    return visit


def _called_here(visit: Visit, counter: Counter, actor: Any) -> Visit:
    require(actor, Perm.SERVE_QUEUE, counter.office)
    _serving_here(counter, actor)
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.counter_id != counter.pk or locked.status != Visit.Status.CALLED:
        raise ValidationError({"visit": _("This number is not called to this counter.")})
    return locked


def call_again(*, visit: Visit, counter: Counter, actor: Any) -> Visit:
    with transaction.atomic():
        visit = _called_here(visit, counter, actor)
        visit.calls = F("calls") + 1
        visit.called_at = timezone.now()
        visit.save(update_fields=["calls", "called_at"])
        visit.refresh_from_db(fields=["calls"])
        record(
            "visits.called_again",
            actor=actor,
            obj=visit,
            office=counter.office,
            details={"number": visit.code, "counter": counter.number, "calls": visit.calls},
        )
    return visit


def finish(*, visit: Visit, counter: Counter, actor: Any, came: bool) -> Visit:
    """The called person was served at the counter, or did not come when called."""
    with transaction.atomic():
        visit = _called_here(visit, counter, actor)
        visit.status = Visit.Status.SERVED if came else Visit.Status.ABSENT
        visit.finished_at = timezone.now()
        visit.save(update_fields=["status", "finished_at"])
        record(
            "visits.served" if came else "visits.absent",
            actor=actor,
            obj=visit,
            office=counter.office,
            details={"number": visit.code, "counter": counter.number},
        )
    return visit
