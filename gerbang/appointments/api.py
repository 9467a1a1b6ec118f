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

from . import actions
from .models import Booking, Release, Slot
from .views import appointment_context

router = Router(tags=["appointments"], auth=APPLICANT_AUTH)


class BookingOut(Schema):
    starts_at: dt.datetime
    office: str
    source: Literal["lottery", "waiting_list", "first_come"]
    priority: bool


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


class AppointmentOut(Schema):
    booking: BookingOut | None
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
    }


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
                "slots": [
                    {"id": s.pk, "starts_at": s.starts_at, "places_left": s.capacity - s.booked}
                    for s in offer.get("slots", [])
                ],
            }
        )
    return {"booking": _booking(context["booking"]), "offers": offers}  # type: ignore[arg-type]


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
    return _appointment(application)


@router.post(
    "/applications/{application_id}/appointment/slots/{slot_id}",
    response={200: AppointmentOut, **errors(400, 401, 404, 422)},
    summary="Book a slot (first come, first served releases)",
)
def book_slot(request: HttpRequest, application_id: uuid.UUID, slot_id: int) -> Any:
    application = application_for_filer(request.user, application_id)
    slot = Slot.objects.filter(pk=slot_id, office=application.office).select_related("office").first()
    if slot is None:
        raise Http404
    actions.book_first_come(application=application, slot=slot, actor=request.user)
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
