"""The one place that reacts to a status change: the service-level clock, who holds the next step, notifications.

``gerbang.applications.workflow.transition()`` calls :func:`service_clock`
before writing the step and :func:`after_transition` after it, inside the same
transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from gerbang.applications.models import PassportApplication, Status, Step
from gerbang.audit.actions import record

from . import rules
from .models import Assignment

# Statuses after which no casework remains.
FINAL = frozenset({Status.REFUSED, Status.HANDED_OVER, Status.POSTED, Status.WITHDRAWN})


def service_clock(application: PassportApplication, now: dt.datetime) -> int | None:
    """Working days at the application's office since the fee was paid (None before payment)."""
    if application.paid_at is None or application.office is None:
        return None
    return rules.working_days_between(application.office, application.paid_at, now)


def after_transition(application: PassportApplication, step: Step) -> None:
    now = step.at
    status = application.status
    keep = rules.duties_of_status(status)
    ending = Assignment.objects.filter(application=application, ended_at__isnull=True).exclude(duty__in=keep)
    because = Assignment.Ended.CLOSED if status in FINAL else Assignment.Ended.DONE
    ending.update(ended_at=now, ended_because=because)
    if step.action == "interview" and application.office is not None:
        days = 0 if application.express else rules.service_days()
        application.ready_by = rules.add_working_days(application.office, now, days)
        application.save(update_fields=["ready_by"])
    duty = rules.NEXT_DUTY.get(status)
    if duty is not None and rules.open_assignment(application, duty) is None:
        assign(application, duty, at=now)
    from gerbang.channel.notifications import notify_step

    notify_step(application, step)


def assign(
    application: Any, duty: str, *, at: dt.datetime | None = None, excluding: set[int] | None = None
) -> Assignment | None:
    """Draw the holder of ``duty`` among the eligible officers on duty, weighted by load; None if nobody is.

    ``excluding``: officers not to draw (the one a step is taken from when an office head draws it again).
    """
    at = at or timezone.now()
    pool = [c for c in rules.candidates(application, duty, at) if c.officer_id not in (excluding or set())]
    chosen = rules.draw(pool)
    if chosen is None:
        return None
    assignment = Assignment.objects.create(
        **rules.case_of(application),
        duty=duty,
        officer_id=chosen.officer_id,
        office_id=chosen.office_id,
        assigned_at=at,
        pool_size=len(pool),
    )
    record(
        "casework.assigned",
        actor=None,
        obj=application,
        office=application.office,
        details={
            "duty": duty,
            "officer": chosen.officer_id,
            "from_office": chosen.office_id,
            "eligible": len(pool),
            "load": chosen.load,
        },
    )
    return assignment


def waiting_cases() -> Any:
    """Applications in a status whose next duty nobody holds yet (nobody eligible was on duty)."""
    from django.db.models import Exists, OuterRef

    pending = PassportApplication.objects.none()
    for status, duty in rules.NEXT_DUTY.items():
        held = Assignment.objects.filter(application=OuterRef("pk"), duty=duty, ended_at__isnull=True)
        pending = pending | PassportApplication.objects.filter(status=status).exclude(Exists(held))
    return pending


def assign_waiting(limit: int = 500) -> int:
    """Give waiting cases to officers now on duty (the ``assign-waiting-cases`` schedule). Returns how many."""
    done = 0
    for pk in list(waiting_cases().order_by("updated_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            application = (
                PassportApplication.objects.select_for_update(of=("self",)).select_related("office").get(pk=pk)
            )
            duty = rules.NEXT_DUTY.get(application.status)
            if duty is None or rules.open_assignment(application, duty) is not None:
                continue
            if assign(application, duty) is not None:
                done += 1
    return done
