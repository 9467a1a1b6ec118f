"""Public queue pages: the display per office and the ticket that follows one person's place. No names, no NIKs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render

from gerbang.appointments.models import Booking
from gerbang.organisation.models import Office

from .codes import booking_code, qr_data_uri
from .models import Visit
from .selectors import ahead_of, public_state, queue_state, todays_visit


def display(request: HttpRequest, code: str) -> HttpResponse:
    office = get_object_or_404(Office, code=code)
    return render(request, "visits/display.html", {"state": queue_state(office)})


def display_json(request: HttpRequest, code: str) -> JsonResponse:
    office = get_object_or_404(Office, code=code)
    answer = JsonResponse(public_state(queue_state(office)))
    answer["Cache-Control"] = "no-store"
    return answer


def ticket(request: HttpRequest, ticket: str) -> HttpResponse:
    visit = get_object_or_404(Visit.objects.select_related("office", "counter"), ticket=ticket)
    return render(
        request,
        "visits/ticket.html",
        {"visit": visit, "ahead": ahead_of(visit), "state": queue_state(visit.office)},
    )


def visit_context(application: Any) -> dict[str, Any]:
    """For the applicant's status page: the active booking's check-in code and QR, or today's queue number."""
    visit = todays_visit(application)
    if visit is not None:
        return {"visit": visit, "ahead": ahead_of(visit)}
    booking = Booking.objects.filter(application=application, status=Booking.Status.ACTIVE).first()
    if booking is None:
        return {}
    code = booking_code(booking)
    return {"code": code, "qr": qr_data_uri(code)}
