"""The application's workflow as a table, and the one function that applies it.

``TRANSITIONS[(status, action)] = (new status, who may do it)``: ``APPLICANT``
is the account that filed the application; a :class:`Perm` is a staff
permission over the application's office. Later issues (payment, appointment,
casework) add rows. ``transition()`` checks the row and the actor, changes the
status, writes the timeline step and the audit event; callers hold the
application's row lock inside their transaction.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from gerbang.access.permissions import Perm, may
from gerbang.accounts.models import User
from gerbang.audit.actions import record

from .models import PassportApplication, Status, Step

APPLICANT = "applicant"
# Gerbang itself, on proof from a bank (gerbang.payments.actions.credit): no person.
SYSTEM = "system"
Who = str | Perm

TRANSITIONS: dict[tuple[str, str], tuple[str, Who]] = {
    (Status.DRAFT, "submit"): (Status.SUBMITTED, APPLICANT),
    (Status.DRAFT, "withdraw"): (Status.WITHDRAWN, APPLICANT),
    (Status.SUBMITTED, "withdraw"): (Status.WITHDRAWN, APPLICANT),
    (Status.SUBMITTED, "request_documents"): (Status.DOCUMENTS_REQUESTED, Perm.REQUEST_DOCUMENTS),
    (Status.DOCUMENTS_REQUESTED, "resubmit"): (Status.SUBMITTED, APPLICANT),
    (Status.DOCUMENTS_REQUESTED, "withdraw"): (Status.WITHDRAWN, APPLICANT),
    # Paid: only a bank's proof moves an application here, and nothing withdraws it (refunds are a finance matter).
    (Status.SUBMITTED, "pay"): (Status.PAID, SYSTEM),
    (Status.DOCUMENTS_REQUESTED, "pay"): (Status.DOCUMENTS_REQUESTED, SYSTEM),
    (Status.DOCUMENTS_REQUESTED, "resubmit_paid"): (Status.PAID, APPLICANT),
    (Status.PAID, "request_documents"): (Status.DOCUMENTS_REQUESTED, Perm.REQUEST_DOCUMENTS),
}

# Statuses in which the applicant may still change answers and documents.
EDITABLE: dict[str, str] = {Status.DRAFT: "all", Status.DOCUMENTS_REQUESTED: "documents"}

# What happens next, shown on the status page (the service standard).
NEXT_STEP: dict[str, Any] = {
    Status.DRAFT: gettext_lazy("Complete every step and submit. Nothing is sent to the office before you submit."),
    Status.SUBMITTED: gettext_lazy(
        "Next: ask for an appointment at the office on this page. When a slot is allocated to you, you get a billing "
        "code: pay it at a bank before the time shown, or the slot goes to the next on the waiting list. Never "
        "pay anyone in person."
    ),
    Status.DOCUMENTS_REQUESTED: gettext_lazy(
        "An officer asked for another document. Upload it and submit again; your earlier version stays on record."
    ),
    Status.PAID: gettext_lazy(
        "The fee is paid: the bank's proof reached Gerbang. Next: come to your appointment at the office with "
        "your ID card; the time is on this page."
    ),
    Status.WITHDRAWN: gettext_lazy("This application was withdrawn. You may start a new one."),
}


# Guards beyond the status: once the fee is paid nothing withdraws the application (a refund is a finance
# matter), and a resubmission returns it to "paid".
BEFORE_PAYMENT_ONLY = {"withdraw", "resubmit"}
AFTER_PAYMENT_ONLY = {"resubmit_paid"}


def _guard(application: PassportApplication, action: str) -> bool:
    paid = application.paid_at is not None
    return not ((paid and action in BEFORE_PAYMENT_ONLY) or (not paid and action in AFTER_PAYMENT_ONLY))


def allowed_actions(application: PassportApplication, actor: Any) -> list[str]:
    return [
        action
        for (status, action), (_new, who) in TRANSITIONS.items()
        if status == application.status and _guard(application, action) and _may(application, actor, who)
    ]


def _may(application: PassportApplication, actor: Any, who: Who) -> bool:
    if who == SYSTEM:
        return actor is None
    if who == APPLICANT:
        return bool(getattr(actor, "is_authenticated", False) and actor.pk == application.filer_id)
    return may(actor, Perm(who), application.office)


def not_now(application: PassportApplication) -> ValidationError:
    """The refusal of an action the application's status does not allow."""
    return ValidationError(
        _("This application is %(status)s: that cannot be done now.") % {"status": application.get_status_display()}
    )


def transition(
    application: PassportApplication,
    action: str,
    *,
    actor: User | None,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> Step:
    """Apply ``action`` to a row-locked application: status, timeline step and audit event, or refuse."""
    if not connection.in_atomic_block:
        raise RuntimeError("transition() runs inside the action's transaction")
    row = TRANSITIONS.get((application.status, action))
    if row is None or not _guard(application, action):
        raise not_now(application)
    new_status, who = row
    if not _may(application, actor, who):
        raise Http404  # as if it did not exist: never reveal others' applications
    now = timezone.now()
    old_status = application.status
    application.status = new_status
    application.save(update_fields=["status", "updated_at"])
    step = Step.objects.create(
        application=application,
        action=action,
        from_status=old_status,
        to_status=new_status,
        actor=actor,
        at=now,
        note=note[:500],
    )
    record(
        f"applications.{action}",
        actor=actor,
        obj=application,
        office=application.office,
        details={"from": old_status, "to": new_status, **(details or {})},
    )
    return step


def service_standard(days: int) -> str:
    """The promise shown with every status (PASSPORT_SERVICE_DAYS in settings)."""
    return ngettext(
        "Service standard: your passport is ready %(days)s working day after the interview; "
        "with the express service, on the same day.",
        "Service standard: your passport is ready %(days)s working days after the interview; "
        "with the express service, on the same day.",
        days,
    ) % {"days": days}
