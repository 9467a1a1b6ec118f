"""The applicant's visit in the JSON API (the mobile client): the check-in code before, the queue place on the day."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema

from gerbang.accounts.api_auth import APPLICANT_AUTH
from gerbang.applications.selectors import application_for_filer
from gerbang.core.api_types import errors

from .views import visit_context

router = Router(tags=["visits"], auth=APPLICANT_AUTH)


class QueueOut(Schema):
    number: str = Field(..., description="The queue number the display calls, e.g. A-012 (P- for priority)")
    status: Literal["waiting", "called", "served", "absent"]
    ahead: int = Field(..., description="Waiting people called before this one")
    counter: int | None = Field(None, description="While called: the counter to go to")
    checked_in_at: dt.datetime
    ticket_url: str = Field(..., description="Public page that follows this place in the queue")


class VisitOut(Schema):
    checkin_code: str | None = Field(
        None, description="With an active booking: the code to show as a QR code at the front desk (with the ID card)"
    )
    queue: QueueOut | None = Field(None, description="After check-in today: the queue number and place")


@router.get(
    "/applications/{application_id}/visit",
    response={200: VisitOut, **errors(401, 404, 422)},
    summary="The check-in code of the appointment, or today's queue number and place",
)
def visit(request: HttpRequest, application_id: uuid.UUID) -> dict[str, Any]:
    context = visit_context(application_for_filer(request.user, application_id))
    found = context.get("visit")
    if found is None:
        return {"checkin_code": context.get("code"), "queue": None}
    return {
        "checkin_code": None,
        "queue": {
            "number": found.code,
            "status": found.status,
            "ahead": context["ahead"],
            "counter": found.counter.number if found.counter else None,
            "checked_in_at": found.checked_in_at,
            "ticket_url": request.build_absolute_uri(reverse("public:queue_ticket", args=[found.ticket])),
        },
    }
