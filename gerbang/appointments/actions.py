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

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from gerbang.access.permissions import Perm, require
from gerbang.applications.models import PassportApplication, Status
from gerbang.audit.actions import record
from gerbang.organisation.models import Office
from gerbang.organisation.selectors import is_holiday, observed_holidays
from tlog import draws as draw_messages

from . import draw as lottery
from . import witness
from .models import Booking, Draw, LotteryRequest, PartOfDay, Release, Slot
from .selectors import release_capacity, release_slots

BOOKABLE = (Status.SUBMITTED, Status.PAID, Status.DOCUMENTS_REQUESTED)
EXPRESS_NOT_IN_LOTTERY = gettext_lazy(
    "An express-service application does not enter the draw: book one of the express places offered instead."
)
MAX_CHOICES = 3


def _local(office: Office, day: dt.date, at: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, at, zoneinfo.ZoneInfo(office.timezone))


def create_slots(
    *,
    office: Office,
    day: dt.date,
    times: Sequence[dt.time],
    capacity: int,
    priority_capacity: int,
    actor: Any,
    express_capacity: int = 0,
) -> list[Slot]:
    """An office head opens slots on a day (office time), not a holiday. Existing times are left as they are.

    The priority and express quotas are parts of ``capacity``; the rest are the general places.
    """
    require(actor, Perm.MANAGE_SLOTS, office)
    if capacity < 1 or priority_capacity < 0 or express_capacity < 0 or priority_capacity + express_capacity > capacity:
        raise ValidationError(
            {
                "capacity": _(
                    "Give at least one place; priority and express places together cannot exceed the total places."
                )
            }
        )
    created = []
    with transaction.atomic():
        if is_holiday(office, day):
            raise ValidationError({"day": _("This day is a holiday: no slots can be opened on it.")})
        for at in sorted(set(times)):
            slot, new = Slot.objects.get_or_create(
                office=office,
                starts_at=_local(office, day, at),
                defaults={
                    "day": day,
                    "part_of_day": PartOfDay.MORNING if at.hour < 12 else PartOfDay.AFTERNOON,
                    "capacity": capacity,
                    "priority_capacity": priority_capacity,
                    "express_capacity": express_capacity,
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
                "express_capacity": express_capacity,
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
    """Over 60 or under 5 on the day, or a declared disability (checked in person at the counter)."""
    if application.declared_disability:
        return True
    born = application.applicant_birth_date
    if born is None:
        return False
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    return age >= 60 or age < 5


def _visited(application: PassportApplication) -> bool:
    """Checked in at the office already (a booked visit or a walk-in): the application needs no other appointment.

    Nobody is checked in before the fee is paid at a bank (gerbang.visits), so an unpaid application has not.
    """
    if application.paid_at is None:
        return False
    return application.visits.exists()  # the reverse relation of gerbang.visits.Visit.application


def _check_bookable(application: PassportApplication) -> None:
    if application.status not in BOOKABLE:
        raise ValidationError({"application": _("Only a submitted application can have an appointment.")})
    if _visited(application):
        raise ValidationError({"application": _("This application's visit to the office has already taken place.")})
    if Booking.objects.filter(applicant_nik=application.applicant_nik, status=Booking.Status.ACTIVE).exists():
        raise ValidationError({"application": _("This applicant already has an appointment.")})


def request_slot(*, application: PassportApplication, release: Release, choices: Sequence[str], actor: Any) -> Any:
    """The applicant enters the lottery with up to three choices (slot groups), in order of preference."""
    if application.filer_id != getattr(actor, "pk", None):
        raise Http404
    now = timezone.now()
    if release.mode != Release.Mode.LOTTERY or release.status != Release.Status.OPEN:
        raise ValidationError({"release": _("This release does not take lottery requests.")})
    if application.express:
        raise ValidationError({"application": EXPRESS_NOT_IN_LOTTERY})
    if not release.window_opens_at <= now < release.window_closes_at:
        raise ValidationError({"release": _("Requests are taken only during the request period.")})
    picked = list(dict.fromkeys(c for c in choices if c))
    groups = release_capacity(release)
    if not 1 <= len(picked) <= MAX_CHOICES or any(c not in groups for c in picked):
        raise ValidationError({"choices": _("Choose one to three of the offered days and parts of day.")})
    _check_bookable(application)
    _check_not_blocked(application.applicant_nik, now)
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


def _take_place(slot_ids: Sequence[int], *, priority: bool, express: bool = False) -> int | None:
    """One place in the first of these slots that has one (conditional UPDATE: never beyond capacity): its id.

    Three pools: ``express`` (the express quota, for express-service applications only, and the only pool they
    use), ``priority`` (the priority quota), else the general places, outside both quotas. The slot's CHECKs
    guard each pool too. Whatever books an express-service application passes ``express=True``: freeing a
    place (``_free_place``) gives it back to the express quota by the application's ``express``.
    """
    for slot_id in slot_ids:
        if express:
            taken = Slot.objects.filter(
                pk=slot_id, booked__lt=F("capacity"), express_booked__lt=F("express_capacity")
            ).update(booked=F("booked") + 1, express_booked=F("express_booked") + 1)
        elif priority:
            taken = Slot.objects.filter(
                pk=slot_id, booked__lt=F("capacity"), priority_booked__lt=F("priority_capacity")
            ).update(booked=F("booked") + 1, priority_booked=F("priority_booked") + 1)
        else:
            # General places are those outside both quotas: booked - priority_booked - express_booked stays
            # below capacity - priority_capacity - express_capacity.
            taken = Slot.objects.filter(
                Q(pk=slot_id),
                Q(booked__lt=F("capacity")),
                Q(
                    booked__lt=F("capacity")
                    - F("priority_capacity")
                    - F("express_capacity")
                    + F("priority_booked")
                    + F("express_booked")
                ),
            ).update(booked=F("booked") + 1)
        if taken:
            return slot_id
    return None


def places_for(application: PassportApplication, slot: Slot) -> int:
    """The free places of ``slot`` this application may take (from the slot as loaded, for listing).

    An express-service application: the express quota only. Anyone else: the general places, and the priority
    quota too for a priority applicant.
    """
    if application.express:
        return slot.express_left
    return slot.general_left + (slot.priority_left if _is_priority(application, slot.day) else 0)


def _take_place_for(application: PassportApplication, slot: Slot) -> tuple[int | None, bool]:
    """A place in ``slot`` from the pools the application may use: (the slot's id or None, in the priority quota).

    A priority applicant takes the priority quota first, then a general place; an express-service application
    only the express quota.
    """
    if application.express:
        return _take_place([slot.pk], priority=False, express=True), False
    if _is_priority(application, slot.day):
        taken = _take_place([slot.pk], priority=True)
        if taken is not None:
            return taken, True
    return _take_place([slot.pk], priority=False), False


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
    if application.paid_at is None:
        from gerbang.payments.actions import issue_bill_unless_open

        fee = application.versions.order_by("-number").values_list("fee", flat=True).first()
        if fee is not None:
            # A bill still waiting for payment (from an earlier booking) stays the one to pay.
            issue_bill_unless_open(
                application=application,
                payer_name=application.applicant_name,
                items=fee["items"],
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
        capacity = release_capacity(release, chosen=(r.choices for r in requests))
        _root, seed, result = lottery.result_for(
            bytes.fromhex(draw.gerbang_secret),
            bytes.fromhex(witness_secret),
            entries,
            capacity,
        )
        by_group: dict[str, list[int]] = {}
        for slot in release_slots(release).select_related("office").order_by("starts_at"):
            by_group.setdefault(slot.group, []).append(slot.pk)
        # Slots still worth trying per (group, pool): one found full for a pool is not tried again for it.
        open_slots = {(group, pool): list(ids) for group, ids in by_group.items() for pool in ("priority", "general")}
        drawn = sorted(requests, key=lambda r: (lottery.ticket(seed, r.pseudonym), r.pseudonym))
        order = {r.pseudonym: n for n, r in enumerate(drawn, start=1)}
        wanted = _still_wanted_all([r for r in requests if r.pseudonym in result.allocations])
        forfeited: list[str] = []
        for request in requests:
            request.rank = order[request.pseudonym]
            allocated = result.allocations.get(request.pseudonym)
            if allocated is None:
                request.outcome = LotteryRequest.Outcome.WAITING
                continue
            group, pool = allocated
            application = wanted.get(request.pk)
            if application is None:
                # Withdrawn, visited, or booked elsewhere meanwhile: the place goes down the waiting list below.
                request.outcome = LotteryRequest.Outcome.FORFEITED
                forfeited.append(group)
                continue
            candidates = open_slots[(group, pool)]
            slot_id = _take_place(candidates, priority=pool == "priority")
            if slot_id is None:  # pragma: no cover - the draw allocates within the capacity it was given
                raise RuntimeError(f"no place left in {group} for {request.pseudonym}")
            del candidates[: candidates.index(slot_id)]
            _book(application, slot_id, source=Booking.Source.LOTTERY, priority=pool == "priority", request=request)
            request.outcome = LotteryRequest.Outcome.ALLOCATED
        # One small UPDATE per request (bulk_update's CASE over 100,000 rows grows with the square of them).
        table = connection.ops.quote_name(LotteryRequest._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {connection.ops.quote_name('rank')} = %s, "  # noqa: S608 (names, not input)
                f"{connection.ops.quote_name('outcome')} = %s WHERE {connection.ops.quote_name('id')} = %s",
                [(r.rank, r.outcome, r.pk) for r in requests],
            )
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


def _still_wanted_all(requests: Sequence[LotteryRequest]) -> dict[int, PassportApplication]:
    """The allocated requests whose application can still take a slot, by request id, with that application:
    submitted, not yet visited the office, and its applicant has no appointment (a few queries for them all)."""
    applications = PassportApplication.objects.in_bulk([r.application_id for r in requests])
    busy: set[str] = set()
    visited: set[int] = set()
    ids = list(applications)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        niks = [applications[i].applicant_nik for i in chunk]
        busy.update(
            Booking.objects.filter(applicant_nik__in=niks, status=Booking.Status.ACTIVE).values_list(
                "applicant_nik", flat=True
            )
        )
        visited.update(
            PassportApplication.objects.filter(pk__in=chunk, visits__isnull=False).values_list("pk", flat=True)
        )
    return {
        r.pk: applications[r.application_id]
        for r in requests
        if applications[r.application_id].status in BOOKABLE
        and r.applicant_nik not in busy
        and r.application_id not in visited
    }


NEXT_FREE_TRIES = 5


def nearest_free_slots(slot: Slot) -> list[Slot]:
    """Other slots of the same office, day and part of day that still have a place: later ones first, nearest
    first, then earlier ones, nearest first (a few)."""
    free = list(
        Slot.objects.filter(office=slot.office_id, day=slot.day, part_of_day=slot.part_of_day, booked__lt=F("capacity"))
        .exclude(pk=slot.pk)
        .only("id", "office_id", "day", "starts_at", "part_of_day")
    )
    free.sort(key=lambda s: (s.starts_at < slot.starts_at, abs((s.starts_at - slot.starts_at).total_seconds())))
    return free[:NEXT_FREE_TRIES]


def book_first_come(*, application: PassportApplication, slot: Slot, actor: Any, or_next: bool = False) -> Booking:
    """First come, first served, in a release whose office chose that mode for a low-demand period.

    An express-service application books the express quota only, first come in any release of the office
    taking requests or bookings now (lottery or first come); the express quota is never drawn.
    """
    if application.filer_id != getattr(actor, "pk", None):
        raise Http404
    full = ValidationError({"slot": _("This slot is full. Choose another.")})
    if or_next:
        full = ValidationError({"slot": _("This slot and the others of that part of the day are full.")})
    if slot.booked >= slot.capacity and not or_next:
        raise full  # cheap refusal of a crowd, before any other query; the conditional UPDATE still guards the race
    now = timezone.now()
    modes = [Release.Mode.FIRST_COME, Release.Mode.LOTTERY] if application.express else [Release.Mode.FIRST_COME]
    release = (
        Release.objects.filter(
            office=slot.office_id,
            mode__in=modes,
            status=Release.Status.OPEN,
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
    _check_not_blocked(application.applicant_nik, now)
    if _visited(application):
        raise ValidationError({"application": _("This application's visit to the office has already taken place.")})
    try:
        # One active booking per NIK is the partial unique index's job: its IntegrityError is the refusal.
        with transaction.atomic():
            # A slot already seen full is not tried again (the crowd's common case with ``or_next``).
            taken, in_quota = (None, False) if slot.booked >= slot.capacity else _take_place_for(application, slot)
            if taken is None and or_next:
                # Filled meanwhile: the nearest free time of the same part of the day, as the applicant agreed.
                for later in nearest_free_slots(slot):
                    taken, in_quota = _take_place_for(application, later)
                    if taken is not None:
                        break
            if taken is None:
                raise full
            # After the UPDATE, which waits for a holiday being declared (it locks the day's slots).
            if is_holiday(slot.office, slot.day):
                raise ValidationError({"slot": _("This day is a holiday. Choose another day.")})
            booking = _book(application, taken, source=Booking.Source.FIRST_COME, priority=in_quota)
            record(
                "appointments.booked",
                actor=actor,
                obj=booking,
                office=slot.office,
                details={"slot": taken, "asked_for": slot.pk, "source": booking.source, "priority": booking.priority},
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
        _free_place(booking)
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


def _free_place(booking: Booking) -> None:
    """Give the booking's place back to its slot (and to the priority or express quota, if taken from there).

    An express-service application books only the express quota (``_take_place(express=True)``), so its
    application's ``express`` says where the place came from.
    """
    changes: dict[str, Any] = {"booked": F("booked") - 1}
    if booking.priority:
        changes["priority_booked"] = F("priority_booked") - 1
    if booking.application.express:
        changes["express_booked"] = F("express_booked") - 1
    Slot.objects.filter(pk=booking.slot_id).update(**changes)


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
        if request.application.status not in BOOKABLE or _visited(request.application):
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


# --- Rescheduling, attendance and no-shows (docs/lottery.md, "Rescheduling and no-shows") ---


def no_show_block_ends(nik: str, *, now: dt.datetime) -> dt.datetime | None:
    """When this NIK may ask for an appointment again after a recent no-show; None if no no-show blocks it now.

    A no-show at a slot on day D (office time) blocks new lottery requests, first-come bookings and rescheduling
    until the start of day D + ``GERBANG_NO_SHOW_BLOCK_DAYS`` (office time).
    """
    days = settings.GERBANG_NO_SHOW_BLOCK_DAYS
    if days <= 0:
        return None
    missed = Booking.objects.filter(
        applicant_nik=nik, status=Booking.Status.NO_SHOW, slot__starts_at__gt=now - dt.timedelta(days=days + 2)
    ).select_related("slot__office")
    ends = (_local(b.slot.office, b.slot.day + dt.timedelta(days=days), dt.time(0)) for b in missed)
    return max((end for end in ends if end > now), default=None)


def blocked_message(ends: dt.datetime) -> str:
    """What the applicant is told while a no-show blocks their NIK (``ends``: from :func:`no_show_block_ends`)."""
    return _(
        "The applicant did not come to a recent appointment. A new appointment can be requested from %(date)s."
    ) % {"date": formats.date_format(ends.date(), "j F Y")}


def _check_not_blocked(nik: str, now: dt.datetime) -> None:
    ends = no_show_block_ends(nik, now=now)
    if ends is not None:
        raise ValidationError({"application": blocked_message(ends)})


def reschedule_refusal(booking: Booking, *, now: dt.datetime) -> str | None:
    """Why this booking cannot be moved now, or None if it can (to one of :func:`reschedule_slots`)."""
    if booking.status != Booking.Status.ACTIVE:
        return _("Only a current appointment can be moved.")
    if booking.rescheduled_from_id is not None:
        return _("This appointment was already moved once; it cannot be moved again.")
    hours = settings.GERBANG_RESCHEDULE_MIN_HOURS
    if booking.slot.starts_at - now < dt.timedelta(hours=hours):
        return _("An appointment can be moved only up to %(hours)d hours before it starts.") % {"hours": hours}
    if booking.application.status not in BOOKABLE:
        return _("Only a submitted application can have an appointment.")
    ends = no_show_block_ends(booking.applicant_nik, now=now)
    if ends is not None:
        return blocked_message(ends)
    return None


def reschedule_slots(booking: Booking, *, now: dt.datetime) -> list[Slot]:
    """The slots this booking may move to, in time order.

    Later than now, at the same office, on a day of a first-come release taking bookings now or of a lottery
    already drawn (an undrawn lottery's places belong to its draw), with a free place in a pool the applicant
    may use (:func:`places_for`): the general places, and the priority quota for a priority applicant; the
    express quota only, for an express-service application.
    """
    releases = Release.objects.filter(office=booking.slot.office_id).filter(
        Q(mode=Release.Mode.FIRST_COME, window_opens_at__lte=now, window_closes_at__gt=now)
        | Q(mode=Release.Mode.LOTTERY, status=Release.Status.DRAWN)
    )
    days = Q()
    for first_day, last_day in releases.values_list("first_day", "last_day"):
        days |= Q(day__gte=first_day, day__lte=last_day)
    if not days:
        return []
    candidates = (
        Slot.objects.filter(days, office=booking.slot.office_id, starts_at__gt=now, booked__lt=F("capacity"))
        .exclude(pk=booking.slot_id)
        .exclude(day__in=observed_holidays(booking.slot.office).values("day"))
        .select_related("office")
        .order_by("starts_at")
    )
    return [slot for slot in candidates if places_for(booking.application, slot) > 0]


def reschedule_booking(booking: Booking, *, slot: Slot, actor: Any) -> Booking:
    """The applicant who filed moves the appointment, once, while it is at least a day away: the new booking.

    In one transaction: take the new place (conditional UPDATE), mark the old booking rescheduled and give its
    place back, which is then offered down the waiting list like a cancelled one. The bill stays as it is.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            booking = (
                Booking.objects.select_for_update().select_related("slot__office", "application").get(pk=booking.pk)
            )
            application = booking.application
            if application.filer_id != getattr(actor, "pk", None):
                raise Http404
            refusal = reschedule_refusal(booking, now=now)
            if refusal is not None:
                raise ValidationError({"booking": refusal})
            if slot.pk not in {s.pk for s in reschedule_slots(booking, now=now)}:
                raise ValidationError({"slot": _("This slot cannot be chosen. Choose one of the free slots offered.")})
            # Both slots locked in one order: two applicants swapping slots wait for each other, never deadlock.
            list(Slot.objects.select_for_update().filter(pk__in=[booking.slot_id, slot.pk]).order_by("pk"))
            taken, in_quota = _take_place_for(application, slot)
            if taken is None:
                raise ValidationError({"slot": _("This slot is full. Choose another.")})
            booking.status = Booking.Status.RESCHEDULED
            booking.cancelled_at = now
            booking.save(update_fields=["status", "cancelled_at"])
            _free_place(booking)
            moved = Booking.objects.create(
                slot_id=taken,
                application=application,
                applicant_nik=booking.applicant_nik,
                priority=in_quota,
                source=Booking.Source.RESCHEDULED,
                rescheduled_from=booking,
                created_at=now,
            )
            record(
                "appointments.rescheduled",
                actor=actor,
                obj=moved,
                office=booking.slot.office,
                details={"from_booking": booking.pk, "from_slot": booking.slot_id, "slot": taken, "priority": in_quota},
            )
            _offer_to_waiting_list(Slot.objects.select_related("office").get(pk=booking.slot_id))
    except IntegrityError as exc:  # a concurrent change of the same booking; the unique indexes refused it
        raise ValidationError({"booking": _("This appointment changed meanwhile. Reload the page.")}) from exc
    return moved


def mark_attended(booking: Booking, *, at: dt.datetime) -> Booking:
    """The applicant checked in at the office: called inside the check-in's transaction, which writes the audit event.

    A conditional UPDATE from active, so a booking cancelled, moved or marked a no-show meanwhile is refused.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("mark_attended runs inside the check-in's transaction")
    updated = Booking.objects.filter(pk=booking.pk, status=Booking.Status.ACTIVE).update(
        status=Booking.Status.ATTENDED, checked_in_at=at
    )
    if not updated:
        raise ValidationError(
            {"booking": _("This appointment cannot be checked in: it was cancelled, moved, missed or already used.")}
        )
    booking.status = Booking.Status.ATTENDED
    booking.checked_in_at = at
    return booking


def record_no_show(booking: Booking, *, now: dt.datetime | None = None) -> Booking:
    """An active booking not checked in ``GERBANG_NO_SHOW_AFTER_MINUTES`` after its slot started is a no-show.

    Its place is not offered to anyone (the time has passed); its applicant's NIK may not ask for a new
    appointment for a while (:func:`no_show_block_ends`).
    """
    now = now or timezone.now()
    grace = dt.timedelta(minutes=settings.GERBANG_NO_SHOW_AFTER_MINUTES)
    with transaction.atomic():
        booking = Booking.objects.select_related("slot__office").get(pk=booking.pk)
        if now - booking.slot.starts_at <= grace:
            raise ValidationError({"booking": _("The time to check in for this appointment has not passed yet.")})
        updated = Booking.objects.filter(pk=booking.pk, status=Booking.Status.ACTIVE).update(
            status=Booking.Status.NO_SHOW
        )
        if not updated:
            raise ValidationError({"booking": _("Only a current appointment can be missed.")})
        booking.status = Booking.Status.NO_SHOW
        ends = no_show_block_ends(booking.applicant_nik, now=now)
        record(
            "appointments.no_show",
            actor=None,
            obj=booking,
            office=booking.slot.office,
            details={
                "slot": booking.slot_id,
                "starts_at": booking.slot.starts_at.isoformat(),
                "blocked_until": ends.isoformat() if ends else None,
            },
        )
    return booking


def clear_day_for_holiday(*, office: Office | None, day: dt.date) -> int:
    """Inside ``organisation.declare_holiday``'s transaction: refuse a day with booked appointments, else remove
    the slots never booked on it (at ``office``, or at every office for a national holiday); their number.

    The day's slots are locked first, so a booking racing the declaration either comes first (and the holiday
    is refused) or waits and then sees the holiday. Slots with ended bookings (cancelled, moved...) stay as
    their history; ``selectors.release_slots`` never offers a holiday's slots.
    """
    slots = Slot.objects.filter(day=day) if office is None else Slot.objects.filter(office=office, day=day)
    ids = list(slots.select_for_update().values_list("pk", flat=True))
    if not ids:
        return 0
    active = Booking.objects.filter(slot_id__in=ids, status=Booking.Status.ACTIVE)
    count = active.count()
    if count:
        if office is None:
            names = sorted(set(active.values_list("slot__office__name", flat=True)))
            raise ValidationError(
                {
                    "day": ngettext(
                        "%(count)d appointment is booked on this day (%(offices)s): the office must move or "
                        "cancel it before the day can be a holiday.",
                        "%(count)d appointments are booked on this day (%(offices)s): the offices must move or "
                        "cancel them before the day can be a holiday.",
                        count,
                    )
                    % {"count": count, "offices": ", ".join(names[:5]) + (", …" if len(names) > 5 else "")}
                }
            )
        raise ValidationError(
            {
                "day": ngettext(
                    "%(count)d appointment is booked on this day: move or cancel it before declaring a holiday.",
                    "%(count)d appointments are booked on this day: move or cancel them before declaring a holiday.",
                    count,
                )
                % {"count": count}
            }
        )
    used = set(Booking.objects.filter(slot_id__in=ids).values_list("slot_id", flat=True))
    removed, _by_model = Slot.objects.filter(pk__in=[pk for pk in ids if pk not in used]).delete()
    return removed


def take_priority_place(slot_ids: Sequence[int]) -> int | None:
    """A place in the priority quota of the first of these slots that has one (a walk-in priority applicant)."""
    return _take_place(slot_ids, priority=True)
