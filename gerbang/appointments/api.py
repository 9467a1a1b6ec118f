"""Appointments in the applicant JSON API (the mobile client): the same actions as the status page."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.applications.selectors import application_for_filer
from gerbang.core.api_types import errors
from gerbang.supervision import traces

from . import actions
from .models import Booking, Release, Slot
from .views import appointment_context

router = Router(tags=["appointments"], auth=APPLICANT_AUTH)


class BookingOut(Schema):
    starts_at: dt.datetime
    office: str
    source: Literal["lottery", "waiting_list", "first_come", "rescheduled"]
    priority: bool
    rescheduled: bool = Field(False, description="Moved once already: it cannot be moved again")


class SlotOut(Schema):
    id: int
    starts_at: dt.datetime
    places_left: int


class OfferOut(Schema):
    release: int
    mode: Literal["lottery", "first_come"]
    first_day: dt.date
    last_day: dt.date
    requests_until: dt.datetime
    draw: str | None = Field(None, description="The draw's public record: /undian/<draw>/")
    groups: list[str] = Field(default_factory=list, description="Lottery: slot groups to choose from, in any order")
    slots: list[SlotOut] = Field(default_factory=list, description="First come: slots with places left")
    express: bool = Field(
        False,
        description="Express-service application: `slots` are those with express places left, booked first come "
        "in any open release (lottery or not); express applications do not enter draws",
    )


class RescheduleOut(Schema):
    refusal: str | None = Field(None, description="Why the booking cannot be moved now")
    slots: list[SlotOut] = Field(default_factory=list, description="Where it can be moved (once)")


class AppointmentOut(Schema):
    booking: BookingOut | None
    reschedule: RescheduleOut | None = Field(None, description="With a booking: whether and where it can move")
    blocked: str | None = Field(None, description="Without a booking: why none can be asked for now (a no-show)")
    offers: list[OfferOut]


class LotteryIn(Schema):
    choices: list[str] = Field(..., min_length=1, max_length=3, description="Slot groups in order of preference")


def _booking(booking: Booking | None) -> dict[str, Any] | None:
    if booking is None:
        return None
    return {
        "starts_at": booking.slot.starts_at,
        "office": booking.slot.office.code,
        "source": booking.source,
        "priority": booking.priority,
        "rescheduled": booking.rescheduled_from_id is not None,
    }


def _slot(slot: Slot, application: Any) -> dict[str, Any]:
    """``places_left``: in the pools this application may use (actions.places_for)."""
    return {"id": slot.pk, "starts_at": slot.starts_at, "places_left": actions.places_for(application, slot)}


def _appointment(application: Any) -> dict[str, Any]:
    context = appointment_context(application)
    offers = []
    for offer in context["offers"]:  # type: ignore[attr-defined]
        release: Release = offer["release"]
        offers.append(
            {
                "release": release.pk,
                "mode": release.mode,
                "first_day": release.first_day,
                "last_day": release.last_day,
                "requests_until": release.window_closes_at,
                "draw": getattr(getattr(release, "draw", None), "public_id", None),
                "groups": offer.get("groups", []),
                "slots": [_slot(s, application) for s in offer.get("slots", [])],
                "express": offer.get("express", False),
            }
        )
    reschedule: dict[str, Any] = context["reschedule"]  # type: ignore[assignment]
    return {
        "booking": _booking(context["booking"]),  # type: ignore[arg-type]
        "reschedule": {"refusal": reschedule["refusal"], "slots": [_slot(s, application) for s in reschedule["slots"]]}
        if reschedule
        else None,
        "blocked": context["blocked"] or None,
        "offers": offers,
    }


@router.get(
    "/applications/{application_id}/appointment",
    response={200: AppointmentOut, **errors(401, 404, 422)},
    summary="The appointment, or what can be requested or booked now",
)
def appointment(request: HttpRequest, application_id: uuid.UUID) -> dict[str, Any]:
    return _appointment(application_for_filer(request.user, application_id))


@router.post(
    "/applications/{application_id}/appointment/lottery/{release_id}",
    response={200: AppointmentOut, **errors(400, 401, 404, 422)},
    summary="Enter a release's lottery with up to three choices",
)
def enter_lottery(request: HttpRequest, application_id: uuid.UUID, release_id: int, payload: LotteryIn) -> Any:
    application = application_for_filer(request.user, application_id)
    release = Release.objects.filter(pk=release_id, office=application.office).first()
    if release is None:
        raise Http404
    actions.request_slot(application=application, release=release, choices=payload.choices, actor=request.user)
    traces.note(request, "lottery", application=application)
    return _appointment(application)


@router.post(
    "/applications/{application_id}/appointment/slots/{slot_id}",
    response={200: AppointmentOut, **errors(400, 401, 404, 422)},
    summary="Book a slot (first come, first served releases)",
)
def book_slot(request: HttpRequest, application_id: uuid.UUID, slot_id: int, or_next: bool = False) -> Any:
    """``or_next=true``: if the slot filled up meanwhile, book the nearest free time of the same part of the day."""
    application = application_for_filer(request.user, application_id)
    slot = Slot.objects.filter(pk=slot_id, office=application.office).select_related("office").first()
    if slot is None:
        raise Http404
    actions.book_first_come(application=application, slot=slot, actor=request.user, or_next=or_next)
    traces.note(request, "booking", application=application)
    return _appointment(application)


@router.delete(
    "/applications/{application_id}/appointment",
    response={200: AppointmentOut, **errors(401, 404, 422)},
    summary="Cancel the appointment (the place goes down the waiting list)",
)
def cancel(request: HttpRequest, application_id: uuid.UUID) -> Any:
    application = application_for_filer(request.user, application_id)
    booking = Booking.objects.filter(application=application, status=Booking.Status.ACTIVE).first()
    if booking is None:
        raise Http404
    actions.cancel_booking(booking, actor=request.user)
    return _appointment(application)


@router.post(
    "/applications/{application_id}/appointment/reschedule/{slot_id}",
    response={200: AppointmentOut, **errors(400, 401, 404, 422)},
    summary="Move the appointment to another slot (once, up to a day before it)",
)
def reschedule(request: HttpRequest, application_id: uuid.UUID, slot_id: int) -> Any:
    application = application_for_filer(request.user, application_id)
    booking = Booking.objects.filter(application=application, status=Booking.Status.ACTIVE).first()
    slot = Slot.objects.filter(pk=slot_id, office=application.office).select_related("office").first()
    if booking is None or slot is None:
        raise Http404
    actions.reschedule_booking(booking, slot=slot, actor=request.user)
    return _appointment(application)
