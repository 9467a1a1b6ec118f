"""Public pages of a draw (anyone can recompute it) and the applicant's appointment pages."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gerbang.accounts.decorators import applicant_required
from gerbang.applications.selectors import application_for_filer
from gerbang.audit.witness_client import WitnessUnavailable

from . import actions
from .models import Booking, Draw, Release, Slot
from .selectors import release_slots
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
    """For the application's status page: the booking, or what can be requested or booked now."""
    booking = (
        Booking.objects.filter(application=application, status=Booking.Status.ACTIVE)
        .select_related("slot__office")
        .first()
    )
    releases = [] if booking else open_releases(application)
    offers = []
    for release in releases:
        slots = list(release_slots(release).select_related("office").order_by("starts_at"))
        if release.mode == Release.Mode.LOTTERY:
            groups = sorted({s.group for s in slots})
            offers.append({"release": release, "groups": groups})
        else:
            offers.append({"release": release, "slots": [s for s in slots if s.booked < s.capacity]})
    return {"booking": booking, "offers": offers}


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
        messages.success(
            request, _("Your request is in the draw. You will see the result here when the request period has closed.")
        )
    return redirect("applications:detail", public_id=application.public_id)


@applicant_required
@require_POST
def book(request: HttpRequest, public_id: str, slot_id: int) -> HttpResponse:
    application = application_for_filer(request.user, public_id)
    slot = Slot.objects.filter(pk=slot_id, office=application.office).select_related("office").first()
    if slot is None:
        raise Http404
    try:
        actions.book_first_come(application=application, slot=slot, actor=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Your appointment is booked."))
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
