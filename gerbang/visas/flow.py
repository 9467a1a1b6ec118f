"""The one reaction to a visa case's status change: the automatic checks, who holds the next step, the permit.

``workflow.transition()`` calls :func:`after_transition` inside its transaction. Officers are drawn by the
casework engine (``gerbang.casework.flow.assign``) with this workflow's duties.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from gerbang.audit.actions import record
from gerbang.casework import flow as casework_flow
from gerbang.casework.models import Assignment

from . import rules, workflow
from .models import Status, VisaApplication, VisaStep


def after_transition(application: VisaApplication, step: VisaStep) -> None:
    now = step.at
    status = application.status
    keep = {duty for (s, _action), duty in workflow.DUTY.items() if s == status}
    because = Assignment.Ended.CLOSED if status in workflow.FINAL else Assignment.Ended.DONE
    Assignment.objects.filter(visa_application=application, ended_at__isnull=True).exclude(duty__in=keep).update(
        ended_at=now, ended_because=because
    )
    if step.action in ("pay", "resubmit"):
        findings = rules.automatic_checks(application)
        application.checks = findings
        application.save(update_fields=["checks"])
        record(
            "visas.checked_automatically",
            actor=None,
            obj=application,
            office=application.office,
            details={"clear": findings["clear"], "failed": findings["failed"]},
        )
        if step.action == "pay" and application.kind.automatic and findings["clear"]:
            workflow.transition(application, "issue_automatically", actor=None, note=_("Every automatic check passed."))
            return
    if status == Status.ISSUED:
        from .actions import issue_permit

        issue_permit(application, actor=step.actor)
    duty = workflow.NEXT_DUTY.get(status)
    if duty is not None and casework_flow.rules.open_assignment(application, duty) is None:
        casework_flow.assign(application, duty, at=now)
    _notify(application, step)


def _notify(application: VisaApplication, step: VisaStep) -> None:
    from gerbang.channel.notifications import notify

    if step.action in ("submit", "withdraw"):
        return  # the filer did it themselves
    text = workflow.NEXT_STEP.get(application.status, "")
    notify(
        application.filer,
        subject=_("Your application %(ref)s: %(status)s")
        % {"ref": application.reference, "status": application.get_status_display()},
        body=str(text),
    )


def hand_on(assignment: Assignment, *, reason: str, actor: Any = None) -> Assignment | None:
    """End a visa step's holder (a declared conflict) and draw another officer, inside the caller's transaction."""
    application = VisaApplication.objects.select_for_update().get(pk=assignment.case.pk)
    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk, ended_at__isnull=True).update(
        ended_at=now, ended_because=Assignment.Ended.REASSIGNED
    )
    new = casework_flow.assign(application, assignment.duty, at=now, excluding={assignment.officer_id})
    record(
        "casework.reassigned",
        actor=actor,
        obj=application,
        office=application.office,
        details={
            "duty": assignment.duty,
            "from": assignment.officer_id,
            "to": new.officer_id if new else None,
            "reason": reason[:500],
        },
    )
    return new


def waiting_cases() -> Any:
    """Visa cases in a status whose next duty nobody holds yet (nobody eligible was on duty)."""
    pending = VisaApplication.objects.none()
    for status, duty in workflow.NEXT_DUTY.items():
        held = Assignment.objects.filter(visa_application=OuterRef("pk"), duty=duty, ended_at__isnull=True)
        pending = pending | VisaApplication.objects.filter(status=status).exclude(Exists(held))
    return pending


def assign_waiting(limit: int = 500) -> int:
    done = 0
    for pk in list(waiting_cases().order_by("updated_at").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            application = VisaApplication.objects.select_for_update(of=("self",)).select_related("office").get(pk=pk)
            duty = workflow.NEXT_DUTY.get(application.status)
            if duty is None or casework_flow.rules.open_assignment(application, duty) is not None:
                continue
            if casework_flow.assign(application, duty) is not None:
                done += 1
    return done
