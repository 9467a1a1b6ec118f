"""What the queue looks like: the public display, a ticket's place, the applicant's visit today."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from gerbang.organisation.models import Office

from .actions import office_today
from .models import Visit

RECENT_CALLS = 8


@dataclass(frozen=True)
class QueueState:
    office: Office
    day: dt.date
    calling: list[Visit]  # the latest call of each counter, newest first
    waiting: int
    served: int


def queue_state(office: Office) -> QueueState:
    day = office_today(office)
    visits = Visit.objects.filter(office=office, day=day)
    called = visits.filter(status=Visit.Status.CALLED).select_related("counter").order_by("-called_at")
    return QueueState(
        office=office,
        day=day,
        calling=list(called[:RECENT_CALLS]),
        waiting=visits.filter(status=Visit.Status.WAITING).count(),
        served=visits.filter(status=Visit.Status.SERVED).count(),
    )


def ahead_of(visit: Visit) -> int:
    """How many waiting people will be called before this visit (priority applicants first, then by number)."""
    if visit.status != Visit.Status.WAITING:
        return 0
    waiting = Visit.objects.filter(office=visit.office_id, day=visit.day, status=Visit.Status.WAITING)
    if visit.priority_reason:
        before = Q(number__lt=visit.number) & ~Q(priority_reason="")
    else:
        before = ~Q(priority_reason="") | Q(number__lt=visit.number)
    return waiting.filter(before).count()


def public_state(state: QueueState) -> dict[str, Any]:
    """The display's JSON: numbers and counters only, never a name."""
    return {
        "office": state.office.code,
        "day": state.day.isoformat(),
        "calling": [{"number": v.code, "counter": v.counter.number if v.counter else None} for v in state.calling],
        "waiting": state.waiting,
        "served": state.served,
    }


def todays_visit(application: Any) -> Visit | None:
    office = getattr(application, "office", None)
    if office is None:
        return None
    return (
        Visit.objects.filter(application=application, day=office_today(office))
        .select_related("counter", "office")
        .first()
    )
