"""Public pages of a draw (anyone can recompute it) and the applicant's appointment pages."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from gerbang.accounts.decorators import applicant_required
from gerbang.applications.selectors import application_for_filer
from gerbang.audit.witness_client import WitnessUnavailable
from gerbang.supervision import traces

from . import actions
from .models import Booking, Draw, LotteryRequest, Release, Slot
from .selectors import (
    application_requests,
    group_label,
    has_place,
    release_slots,
    slot_for_filer,
    waiting_position,
)
from .verification import public_record


def draw_page(request: HttpRequest, public_id: str) -> HttpResponse:
    draw = get_object_or_404(Draw.objects.select_related("release__office"), public_id=public_id)
    record = public_record(draw)
    return render(request, "appointments/draw.html", {"draw": draw, "record": record})


def draw_json(request: HttpRequest, public_id: str) -> JsonResponse:
    draw = get_object_or_404(Draw.objects.select_related("release__office"), public_id=public_id)
    return JsonResponse(public_record(draw), json_dumps_params={"indent": 1})


def open_releases(application: Any) -> list[Release]:
    office = getattr(application, "office", None)
    if office is None:
        return []
    now = timezone.now()
    return list(
        Release.objects.filter(
            office=office, status=Release.Status.OPEN, window_opens_at__lte=now, window_closes_at__gt=now
        )
        .select_related("office")
        .order_by("first_day")
    )


def appointment_context(application: Any) -> dict[str, object]:
    """For the application's status page: the booking and where it may move, or what can be requested or booked now.

    ``reschedule``: with a booking, ``refusal`` (why it cannot be moved) or ``slots`` (where it can).
    ``blocked``: without one, why no new appointment can be asked for now (a recent no-show).
    """
    booking = (
        Booking.objects.filter(application=application, status=Booking.Status.ACTIVE)
        .select_related("slot__office", "application")
        .first()
    )
    now = timezone.now()
    reschedule: dict[str, Any] = {}
    blocked = ""
    if booking is not None:
        refusal = actions.reschedule_refusal(booking, now=now)
        reschedule = {"refusal": refusal, "slots": [] if refusal else actions.reschedule_slots(booking, now=now)}
    elif getattr(application, "applicant_nik", ""):
        ends = actions.no_show_block_ends(application.applicant_nik, now=now)
        blocked = actions.blocked_message(ends) if ends else ""
    attended = (
        None
        if booking
        else Booking.objects.filter(application=application, status=Booking.Status.ATTENDED)
        .select_related("slot__office")
        .first()
    )
    requests = [] if booking or attended else application_requests(application)
    entered = {r.release_id for r in requests}
    releases = [] if booking or attended or blocked else open_releases(application)
    offers = []
    for release in releases:
        if release.pk in entered:
            continue
        slots = list(release_slots(release).select_related("office").order_by("starts_at"))
        if application.express:
            # The express quota: booked first come in any open release, never drawn (docs/lottery.md).
            free = [s for s in slots if actions.places_for(application, s) > 0]
            offers.append({"release": release, "express": True, "slots": free})
        elif release.mode == Release.Mode.LOTTERY:
            groups = sorted({s.group for s in slots})
            offers.append(
                {"release": release, "groups": groups, "group_choices": [(g, group_label(g)) for g in groups]}
            )
        else:
            offers.append({"release": release, "slots": [s for s in slots if actions.places_for(application, s) > 0]})
    lottery = [
        {
            "request": r,
            "choices": [group_label(g) for g in r.choices],
            "position": waiting_position(r) if r.outcome == LotteryRequest.Outcome.WAITING else None,
        }
        for r in requests
    ]
    return {
        "booking": booking,
        "attended": attended,
        "lottery": lottery,
        "offers": offers,
        "reschedule": reschedule,
        "blocked": blocked,
    }


@applicant_required
@require_POST
def request_lottery(request: HttpRequest, public_id: str, release_id: int) -> HttpResponse:
    application = application_for_filer(request.user, public_id)
    release = Release.objects.filter(pk=release_id, office=application.office).first()
    if release is None:
        raise Http404
    try:
        actions.request_slot(
            application=application, release=release, choices=request.POST.getlist("choice"), actor=request.user
        )
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        traces.note(request, "lottery", application=application)
        messages.success(
            request, _("Your request is in the draw. You will see the result here when the request period has closed.")
        )
    return redirect("applications:detail", public_id=application.public_id)


@applicant_required
@require_POST
def book(request: HttpRequest, public_id: str, slot_id: int) -> HttpResponse:
    # A flash crowd mostly meets full slots: refuse those with one small query that also proves the slot is at
    # the office of one of the caller's applications (anything else is "not found"), before loading anything else.
    or_next = request.POST.get("or_next") == "1"
    slot = slot_for_filer(request.user, public_id, slot_id)
    if slot is None:
        raise Http404
    if not has_place(slot, or_next=or_next):
        if or_next:
            messages.error(request, _("This slot and the others of that part of the day are full."))
        else:
            messages.error(request, _("This slot is full. Choose another."))
        return redirect("applications:detail", public_id=public_id)
    application = application_for_filer(request.user, public_id, with_office=False)
    application.office = slot.office  # the same office: slot_for_filer found the slot through the application
    try:
        booking = actions.book_first_come(application=application, slot=slot, actor=request.user, or_next=or_next)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        traces.note(request, "booking", application=application)
        if booking.slot_id == slot.pk:
            messages.success(request, _("Your appointment is booked."))
        else:
            messages.success(
                request,
                _("That time filled up meanwhile; your appointment is booked at the nearest free time, %(time)s.")
                % {
                    "time": formats.time_format(
                        timezone.localtime(booking.slot.starts_at, zoneinfo.ZoneInfo(slot.office.timezone)), "H:i"
                    )
                },
            )
    return redirect("applications:detail", public_id=application.public_id)


@applicant_required
@require_POST
def cancel(request: HttpRequest, public_id: str) -> HttpResponse:
    application = application_for_filer(request.user, public_id)
    booking = Booking.objects.filter(application=application, status=Booking.Status.ACTIVE).first()
    if booking is None:
        raise Http404
    try:
        actions.cancel_booking(booking, actor=request.user, reason=request.POST.get("reason", ""))
    except (ValidationError, WitnessUnavailable) as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Your appointment is cancelled; the place is offered to the next on the waiting list, if there is one."),
        )
    return redirect("applications:detail", public_id=application.public_id)


def _when(slot: Slot) -> str:
    return formats.date_format(timezone.localtime(slot.starts_at), "l j F Y H:i")


@applicant_required
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, public_id: str, slot_id: int) -> HttpResponse:
    """Move the appointment to another slot: a confirmation page, then the move (allowed once)."""
    application = application_for_filer(request.user, public_id)
    booking = (
        Booking.objects.filter(application=application, status=Booking.Status.ACTIVE)
        .select_related("slot__office", "application")
        .first()
    )
    slot = Slot.objects.filter(pk=slot_id, office=application.office).select_related("office").first()
    if booking is None or slot is None:
        raise Http404
    back = redirect("applications:detail", public_id=application.public_id)
    if request.method == "POST":
        try:
            moved = actions.reschedule_booking(booking, slot=slot, actor=request.user)
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(
                request,
                _("Your appointment is moved to %(when)s. It cannot be moved again.") % {"when": _when(moved.slot)},
            )
        return back
    now = timezone.now()
    refusal = actions.reschedule_refusal(booking, now=now)
    if refusal is None and slot not in actions.reschedule_slots(booking, now=now):
        refusal = _("This slot cannot be chosen. Choose one of the free slots offered.")
    if refusal is not None:
        messages.error(request, refusal)
        return back
    return render(
        request,
        "appointments/reschedule.html",
        {"application": application, "booking": booking, "slot": slot, "hours": settings.GERBANG_RESCHEDULE_MIN_HOURS},
    )
