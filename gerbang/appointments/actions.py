"""Every change to slots, releases, draws and bookings. Each action writes its audit event in the same transaction.

A place is taken with one conditional UPDATE (``booked < capacity``) and the
database's CHECK that ``booked`` never exceeds ``capacity``; one active booking
per NIK is a partial unique index. The lottery follows docs/lottery.md.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.access.permissions import Perm, require
from gerbang.applications.models import PassportApplication, Status
from gerbang.audit.actions import record
from gerbang.organisation.models import Office
from tlog import draws as draw_messages

from . import draw as lottery
from . import witness
from .models import Booking, Draw, LotteryRequest, PartOfDay, Release, Slot
from .selectors import release_capacity, release_slots

BOOKABLE = (Status.SUBMITTED, Status.PAID, Status.DOCUMENTS_REQUESTED)
MAX_CHOICES = 3


def _local(office: Office, day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, zoneinfo.ZoneInfo(office.timezone))


def create_slots(
    *, office: Office, day: dt.date, times: Sequence[dt.time], capacity: int, priority_capacity: int, actor: Any
) -> list[Slot]:
    """An office head opens slots on a day (office time). Existing times are left as they are."""
    require(actor, Perm.MANAGE_SLOTS, office)
    if capacity < 1 or not 0 <= priority_capacity <= capacity:
        raise ValidationError(
            {"capacity": _("Give at least one place; priority places cannot exceed the total places.")}
        )
    created = []
    with transaction.atomic():
        for at in sorted(set(times)):
            slot, new = Slot.objects.get_or_create(
                office=office,
                starts_at=_local(office, day, at),
                defaults={
                    "day": day,
                    "part_of_day": PartOfDay.MORNING if at.hour < 12 else PartOfDay.AFTERNOON,
                    "capacity": capacity,
                    "priority_capacity": priority_capacity,
                },
            )
            if new:
                created.append(slot)
        if not created:
            return created
        record(
            "appointments.slots_created",
            actor=actor,
            office=office,
            details={
                "day": day.isoformat(),
                "times": [s.starts_at.isoformat() for s in created],
                "capacity": capacity,
                "priority_capacity": priority_capacity,
            },
        )
    return created


def open_release(
    *,
    office: Office,
    first_day: dt.date,
    last_day: dt.date,
    window_opens_at: dt.datetime,
    window_closes_at: dt.datetime,
    actor: Any,
    mode: str = Release.Mode.LOTTERY,
) -> Release:
    """An office head releases the slots of some days. For a lottery, Gerbang and the witness commit to secrets now."""
    require(actor, Perm.MANAGE_SLOTS, office)
    errors = {}
    if last_day < first_day:
        errors["last_day"] = _("The last day cannot be before the first day.")
    if window_closes_at <= window_opens_at or window_closes_at <= timezone.now():
        errors["window_closes_at"] = _("The request period must end after it starts, and in the future.")
    if errors:
        raise ValidationError(errors)
    public_id = secrets.token_hex(16)
    secret = secrets.token_bytes(32)
    commitment = signature = ""
    if mode == Release.Mode.LOTTERY:
        # Before anything is stored: without the witness's commitment there is no lottery.
        commitment, signature, _closes = witness.commit(public_id, window_closes_at)
    with transaction.atomic():
        release = Release.objects.create(
            office=office,
            mode=mode,
            first_day=first_day,
            last_day=last_day,
            window_opens_at=window_opens_at,
            window_closes_at=window_closes_at,
            created_at=timezone.now(),
        )
        details: dict[str, Any] = {
            "mode": mode,
            "first_day": first_day.isoformat(),
            "last_day": last_day.isoformat(),
            "window_opens_at": window_opens_at.isoformat(),
            "window_closes_at": window_closes_at.isoformat(),
        }
        if mode == Release.Mode.LOTTERY:
            Draw.objects.create(
                release=release,
                public_id=public_id,
                gerbang_secret=secret.hex(),
                gerbang_commitment=draw_messages.commitment(secret),
                witness_commitment=commitment,
                witness_commit_signature=signature,
            )
            details |= {
                "draw": public_id,
                "gerbang_commitment": draw_messages.commitment(secret),
                "witness_commitment": commitment,
            }
        record("appointments.release_opened", actor=actor, obj=release, office=office, details=details)
    return release


def _is_priority(application: PassportApplication, on: dt.date) -> bool:
    """Over 60 or under 5 on the day (disability is declared at the counter, not yet in the form)."""
    born = application.applicant_birth_date
    if born is None:
        return False
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return age >= 60 or age < 5


def _check_bookable(application: PassportApplication) -> None:
    if application.status not in BOOKABLE:
        raise ValidationError({"application": _("Only a submitted application can have an appointment.")})
    if Booking.objects.filter(applicant_nik=application.applicant_nik, status=Booking.Status.ACTIVE).exists():
        raise ValidationError({"application": _("This applicant already has an appointment.")})


def request_slot(*, application: PassportApplication, release: Release, choices: Sequence[str], actor: Any) -> Any:
    """The applicant enters the lottery with up to three choices (slot groups), in order of preference."""
    if application.filer_id != getattr(actor, "pk", None):
        raise Http404
    now = timezone.now()
    if release.mode != Release.Mode.LOTTERY or release.status != Release.Status.OPEN:
        raise ValidationError({"release": _("This release does not take lottery requests.")})
    if not release.window_opens_at <= now < release.window_closes_at:
        raise ValidationError({"release": _("Requests are taken only during the request period.")})
    picked = list(dict.fromkeys(c for c in choices if c))
    groups = release_capacity(release)
    if not 1 <= len(picked) <= MAX_CHOICES or any(c not in groups for c in picked):
        raise ValidationError({"choices": _("Choose one to three of the offered days and parts of day.")})
    _check_bookable(application)
    try:
        with transaction.atomic():
            request = LotteryRequest.objects.create(
                release=release,
                application=application,
                applicant_nik=application.applicant_nik,
                pseudonym=secrets.token_hex(16),
                priority=_is_priority(application, release.first_day),
                choices=picked,
                created_at=now,
            )
            record(
                "appointments.lottery_requested",
                actor=actor,
                obj=request,
                office=release.office,
                details={"release": release.pk, "request": request.pseudonym, "choices": picked},
            )
    except IntegrityError as exc:
        raise ValidationError({"application": _("This applicant already entered this lottery.")}) from exc
    return request


def _take_place(slot_ids: Sequence[int], *, priority: bool) -> int | None:
    """One place in the first of these slots that has one (conditional UPDATE: never beyond capacity): its id."""
    for slot_id in slot_ids:
        if priority:
            taken = Slot.objects.filter(
                pk=slot_id, booked__lt=F("capacity"), priority_booked__lt=F("priority_capacity")
            ).update(booked=F("booked") + 1, priority_booked=F("priority_booked") + 1)
        else:
            # General places are those beyond the priority quota that priority bookings do not use.
            taken = Slot.objects.filter(
                Q(pk=slot_id),
                Q(booked__lt=F("capacity")),
                Q(booked__lt=F("capacity") - F("priority_capacity") + F("priority_booked")),
            ).update(booked=F("booked") + 1)
        if taken:
            return slot_id
    return None


def _book(
    application: PassportApplication, slot_id: int, *, source: str, priority: bool, request: Any = None
) -> Booking:
    """The booking, and (for a fee not yet paid) its bill: the slot is what commits the applicant to the service."""
    booking = Booking.objects.create(
        slot_id=slot_id,
        application=application,
        applicant_nik=application.applicant_nik,
        priority=priority,
        source=source,
        request=request,
        created_at=timezone.now(),
    )
    if application.paid_at is None and not application.bills.filter(status="issued").exists():
        from gerbang.payments.actions import issue_bill

        latest = application.versions.order_by("-number").first()
        if latest is not None:
            issue_bill(
                application=application,
                payer_name=application.applicant_name,
                items=latest.fee["items"],
                service="passport_first_come" if source == Booking.Source.FIRST_COME else "passport_lottery",
                actor=None,
            )
    return booking


def run_draw(release: Release, *, now: dt.datetime | None = None) -> Draw:
    """After the window closed: publish the root, have the witness reveal, draw, and book the allocated slots."""
    now = now or timezone.now()
    draw = Draw.objects.get(release=release)
    if release.status != Release.Status.OPEN or now < release.window_closes_at:
        raise ValidationError({"release": _("The draw runs once, after the request period has closed.")})
    requests = list(release.requests.order_by("pk"))
    entries = [lottery.Request(r.pseudonym, r.priority, tuple(r.choices)) for r in requests]
    root = lottery.request_root(entries).hex()
    witness_secret, signature = witness.reveal(draw.public_id, draw.witness_commitment, root, len(requests))
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=release.pk)
        if release.status != Release.Status.OPEN:
            raise ValidationError({"release": _("This lottery has already been drawn.")})
        capacity = release_capacity(release)
        _root, seed, result = lottery.result_for(
            bytes.fromhex(draw.gerbang_secret),
            bytes.fromhex(witness_secret),
            entries,
            capacity,
        )
        by_group: dict[str, list[int]] = {}
        for slot in release_slots(release).select_related("office").order_by("starts_at"):
            by_group.setdefault(slot.group, []).append(slot.pk)
        drawn = sorted(requests, key=lambda r: (lottery.ticket(seed, r.pseudonym), r.pseudonym))
        order = {r.pseudonym: n for n, r in enumerate(drawn, start=1)}
        forfeited: list[str] = []
        for request in requests:
            request.rank = order[request.pseudonym]
            allocated = result.allocations.get(request.pseudonym)
            if allocated is None:
                request.outcome = LotteryRequest.Outcome.WAITING
                continue
            group, pool = allocated
            if not _still_wanted(request):
                # Withdrawn, or booked elsewhere meanwhile: the place goes down the waiting list below.
                request.outcome = LotteryRequest.Outcome.FORFEITED
                forfeited.append(group)
                continue
            slot_id = _take_place(by_group[group], priority=pool == "priority")
            if slot_id is None:  # pragma: no cover - the draw allocates within the capacity it was given
                raise RuntimeError(f"no place left in {group} for {request.pseudonym}")
            _book(
                request.application,
                slot_id,
                source=Booking.Source.LOTTERY,
                priority=pool == "priority",
                request=request,
            )
            request.outcome = LotteryRequest.Outcome.ALLOCATED
        LotteryRequest.objects.bulk_update(requests, ["rank", "outcome"])
        draw.root = root
        draw.request_count = len(requests)
        draw.witness_secret = witness_secret
        draw.witness_reveal_signature = signature
        draw.capacity = capacity
        draw.result = json.loads(result.canonical_json())
        draw.result_digest = result.digest()
        draw.drawn_at = now
        draw.save()
        release.status = Release.Status.DRAWN
        release.save(update_fields=["status"])
        for group in forfeited:
            for slot in Slot.objects.select_related("office").filter(pk__in=by_group[group]).order_by("starts_at"):
                if _offer_to_waiting_list(slot) is not None:
                    break
        record(
            "appointments.draw_completed",
            actor=None,
            obj=draw,
            office=release.office,
            details={
                "root": root,
                "requests": len(requests),
                "allocated": len(result.allocations),
                "forfeited": len(forfeited),
                "waiting": len(result.waiting),
                "gerbang_secret": draw.gerbang_secret,
                "witness_secret": witness_secret,
                "result_digest": draw.result_digest,
            },
        )
    return draw


def _still_wanted(request: LotteryRequest) -> bool:
    """The request's application can still take a slot: submitted, and its applicant has no appointment."""
    return request.application.status in BOOKABLE and not (
        Booking.objects.filter(applicant_nik=request.applicant_nik, status=Booking.Status.ACTIVE).exists()
    )


def book_first_come(*, application: PassportApplication, slot: Slot, actor: Any) -> Booking:
    """First come, first served, in a release whose office chose that mode for a low-demand period."""
    if application.filer_id != getattr(actor, "pk", None):
        raise Http404
    now = timezone.now()
    release = (
        Release.objects.filter(
            office=slot.office_id,
            mode=Release.Mode.FIRST_COME,
            first_day__lte=slot.day,
            last_day__gte=slot.day,
            window_opens_at__lte=now,
            window_closes_at__gt=now,
        )
        .order_by("-created_at")
        .first()
    )
    if release is None:
        raise ValidationError({"slot": _("This slot is not open for booking.")})
    if application.status not in BOOKABLE:
        raise ValidationError({"application": _("Only a submitted application can have an appointment.")})
    full = ValidationError({"slot": _("This slot is full. Choose another.")})
    if slot.booked >= slot.capacity:
        raise full  # cheap refusal of a crowd; the conditional UPDATE below still guards the race
    priority = _is_priority(application, slot.day)
    try:
        # One active booking per NIK is the partial unique index's job: its IntegrityError is the refusal.
        with transaction.atomic():
            taken = _take_place([slot.pk], priority=True) if priority else None
            in_quota = taken is not None
            taken = taken or _take_place([slot.pk], priority=False)
            if taken is None:
                raise full
            booking = _book(application, taken, source=Booking.Source.FIRST_COME, priority=in_quota)
            record(
                "appointments.booked",
                actor=actor,
                obj=booking,
                office=slot.office,
                details={"slot": taken, "source": booking.source, "priority": booking.priority},
            )
    except IntegrityError as exc:
        raise ValidationError({"application": _("This applicant already has an appointment.")}) from exc
    return booking


def cancel_booking(booking: Booking, *, actor: Any, reason: str = "") -> Booking | None:
    """The applicant cancels; the place goes to the first on the draw's waiting list who wanted it, if any.

    Returns the booking made from the waiting list, or None.
    """
    with transaction.atomic():
        booking = Booking.objects.select_for_update().select_related("slot__office").get(pk=booking.pk)
        if booking.application.filer_id != getattr(actor, "pk", None):
            raise Http404
        return _cancel(booking, actor=actor, reason=reason)


def release_unpaid(application: PassportApplication) -> Booking | None:
    """Called when the application's bill expired unpaid (payments.expire_bills): its slot goes to the waiting list."""
    booking = (
        Booking.objects.select_for_update()
        .select_related("slot__office")
        .filter(application=application, status=Booking.Status.ACTIVE)
        .first()
    )
    if booking is None or application.paid_at is not None:
        return None
    return _cancel(booking, actor=None, reason="the bill was not paid in time")


def release_withdrawn(application: PassportApplication, *, actor: Any) -> None:
    """Inside ``applications.withdraw``: a withdrawn application's appointment is freed for the waiting list."""
    booking = (
        Booking.objects.select_for_update()
        .select_related("slot__office")
        .filter(application=application, status=Booking.Status.ACTIVE)
        .first()
    )
    if booking is not None:
        _cancel(booking, actor=actor, reason="application withdrawn")


def _cancel(booking: Booking, *, actor: Any, reason: str) -> Booking | None:
    """Inside the caller's transaction, with the booking locked: free the place, then offer it to the waiting list."""
    with transaction.atomic():
        if booking.status != Booking.Status.ACTIVE:
            raise ValidationError({"booking": _("This appointment is already cancelled.")})
        booking.status = Booking.Status.CANCELLED
        booking.cancelled_at = timezone.now()
        booking.save(update_fields=["status", "cancelled_at"])
        changes: dict[str, Any] = {"booked": F("booked") - 1}
        if booking.priority:
            changes["priority_booked"] = F("priority_booked") - 1
        Slot.objects.filter(pk=booking.slot_id).update(**changes)
        record(
            "appointments.booking_cancelled",
            actor=actor,
            obj=booking,
            office=booking.slot.office,
            details={"slot": booking.slot_id, "reason": reason.strip()[:200]},
        )
        if booking.application.paid_at is None:
            from gerbang.payments.actions import cancel_open_bills

            cancel_open_bills(booking.application, actor=actor, reason="appointment cancelled")
        return _offer_to_waiting_list(Slot.objects.select_related("office").get(pk=booking.slot_id))


def _offer_to_waiting_list(slot: Slot) -> Booking | None:
    """The freed place goes to the best-ranked waiting request that chose its group and has no appointment."""
    release = (
        Release.objects.filter(
            office=slot.office_id,
            mode=Release.Mode.LOTTERY,
            status=Release.Status.DRAWN,
            first_day__lte=slot.day,
            last_day__gte=slot.day,
        )
        .order_by("-created_at")
        .first()
    )
    if release is None:
        return None
    group = slot.group
    waiting = release.requests.select_for_update().filter(outcome=LotteryRequest.Outcome.WAITING).order_by("rank")
    for request in waiting:
        if group not in request.choices:
            continue
        if Booking.objects.filter(applicant_nik=request.applicant_nik, status=Booking.Status.ACTIVE).exists():
            continue
        if request.application.status not in BOOKABLE:
            continue
        taken = _take_place([slot.pk], priority=False)
        in_quota = False
        if taken is None and request.priority:
            taken = _take_place([slot.pk], priority=True)
            in_quota = taken is not None
        if taken is None:
            return None
        booking = _book(
            request.application, taken, source=Booking.Source.WAITING_LIST, priority=in_quota, request=request
        )
        request.outcome = LotteryRequest.Outcome.ALLOCATED
        request.save(update_fields=["outcome"])
        record(
            "appointments.waiting_list_booked",
            actor=None,
            obj=booking,
            office=slot.office,
            details={"slot": slot.pk, "request": request.pseudonym, "rank": request.rank},
        )
        return booking
    return None
