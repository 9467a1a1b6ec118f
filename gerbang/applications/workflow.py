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
    (Status.DOCUMENTS_REQUESTED, "resubmit"): (Status.SUBMITTED, APPLICANT),
    (Status.DOCUMENTS_REQUESTED, "withdraw"): (Status.WITHDRAWN, APPLICANT),
    # Paid: only a bank's proof moves an application here, and nothing withdraws it (refunds are a finance matter).
    (Status.SUBMITTED, "pay"): (Status.PAID, SYSTEM),
    (Status.DOCUMENTS_REQUESTED, "pay"): (Status.DOCUMENTS_REQUESTED, SYSTEM),
    (Status.DOCUMENTS_REQUESTED, "resubmit_paid"): (Status.PAID, APPLICANT),
    (Status.PAID, "request_documents"): (Status.DOCUMENTS_REQUESTED, Perm.REQUEST_DOCUMENTS),
    # The casework (gerbang.casework): each of these rows is done only by the officer Gerbang drew for its duty
    # (gerbang.casework.rules.DUTY), never by someone who took an incompatible part or declared a conflict.
    (Status.PAID, "verify_documents"): (Status.VERIFIED, Perm.VERIFY_DOCUMENTS),
    # Documents asked for after the interview: once they are checked, the case goes back to the decision.
    (Status.PAID, "verify_again"): (Status.INTERVIEWED, Perm.VERIFY_DOCUMENTS),
    (Status.VERIFIED, "take_biometrics"): (Status.BIOMETRICS_TAKEN, Perm.INTERVIEW),
    (Status.BIOMETRICS_TAKEN, "interview"): (Status.INTERVIEWED, Perm.INTERVIEW),
    (Status.INTERVIEWED, "approve"): (Status.APPROVED, Perm.ADJUDICATE),
    (Status.INTERVIEWED, "propose_refusal"): (Status.REFUSAL_PROPOSED, Perm.ADJUDICATE),
    (Status.INTERVIEWED, "ask_more"): (Status.DOCUMENTS_REQUESTED, Perm.ADJUDICATE),
    (Status.REFUSAL_PROPOSED, "confirm_refusal"): (Status.REFUSED, Perm.ADJUDICATE),
    (Status.REFUSAL_PROPOSED, "overturn_refusal"): (Status.APPROVED, Perm.ADJUDICATE),
    (Status.REFUSED, "appeal"): (Status.APPEALED, APPLICANT),
    (Status.APPEALED, "dismiss_appeal"): (Status.REFUSED, Perm.DECIDE_APPEAL),
    (Status.APPEALED, "grant_appeal"): (Status.APPROVED, Perm.DECIDE_APPEAL),
    (Status.APPROVED, "print"): (Status.PRINTED, Perm.ISSUE_PASSPORT),
    # A spoiled booklet is recorded and the passport printed again on another.
    (Status.PRINTED, "spoil"): (Status.APPROVED, Perm.ISSUE_PASSPORT),
    (Status.PRINTED, "hand_over"): (Status.HANDED_OVER, Perm.ISSUE_PASSPORT),
    (Status.PRINTED, "post"): (Status.POSTED, Perm.ISSUE_PASSPORT),
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
    Status.VERIFIED: gettext_lazy(
        "Your documents were checked. Next: at your appointment, an officer takes your photo and fingerprints "
        "and interviews you. Bring your ID card and the original documents."
    ),
    Status.BIOMETRICS_TAKEN: gettext_lazy("Your photo and fingerprints were taken. Next: the interview."),
    Status.INTERVIEWED: gettext_lazy(
        "You were interviewed. An adjudicator of the regional division decides; you are told here."
    ),
    Status.REFUSAL_PROPOSED: gettext_lazy(
        "The adjudicator proposed to refuse. A second reviewer, who took no part so far, decides."
    ),
    Status.REFUSED: gettext_lazy(
        "The application was refused; the legal reason is on this page. You may appeal once to the regional "
        "division within the time shown; someone who took no part decides."
    ),
    Status.APPEALED: gettext_lazy("Your appeal is with the regional division."),
    Status.APPROVED: gettext_lazy("Approved. Your passport is being printed; you are told when it is ready."),
    Status.PRINTED: gettext_lazy(
        "Your passport is ready. Collect it at the office with your ID card, or wait for it by post if you chose "
        "delivery."
    ),
    Status.HANDED_OVER: gettext_lazy("Your passport was handed over to you."),
    Status.POSTED: gettext_lazy("Your passport was sent by post; the tracking number is on this page."),
}


# Guards beyond the status: once the fee is paid nothing withdraws the application (a refund is a finance
# matter), and a resubmission returns it to "paid".
BEFORE_PAYMENT_ONLY = {"withdraw", "resubmit"}
AFTER_PAYMENT_ONLY = {"resubmit_paid"}


def _guard(application: PassportApplication, action: str) -> bool:
    paid = application.paid_at is not None
    if (paid and action in BEFORE_PAYMENT_ONLY) or (not paid and action in AFTER_PAYMENT_ONLY):
        return False
    if action in CASEWORK_GUARDED:
        from gerbang.casework.guards import guard

        return guard(application, action)
    return True


# Casework rows with a condition beyond the status (gerbang.casework.guards).
CASEWORK_GUARDED = frozenset({"verify_documents", "verify_again", "appeal"})


def allowed_actions(application: PassportApplication, actor: Any) -> list[str]:
    return [
        action
        for (status, action), (_new, who) in TRANSITIONS.items()
        if status == application.status and _guard(application, action) and _may(application, actor, who, action)
    ]


def _may(application: PassportApplication, actor: Any, who: Who, action: str | None = None) -> bool:
    if who == SYSTEM:
        return actor is None
    if who == APPLICANT:
        return bool(getattr(actor, "is_authenticated", False) and actor.pk == application.filer_id)
    if action is not None:
        from gerbang.casework.rules import DUTY

        duty = DUTY.get((application.status, action))
        if duty is not None:
            from gerbang.casework.guards import may_act

            return may_act(application, actor, Perm(who), duty, action)
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
    if not _may(application, actor, who, action):
        raise Http404  # as if it did not exist: never reveal others' applications
    from gerbang.casework import flow

    now = timezone.now()
    old_status = application.status
    application.status = new_status
    application.save(update_fields=["status", "updated_at"])
    clock = flow.service_clock(application, now)
    step = Step.objects.create(
        application=application,
        action=action,
        from_status=old_status,
        to_status=new_status,
        actor=actor,
        at=now,
        note=note[:500],
        working_days=clock,
    )
    record(
        f"applications.{action}",
        actor=actor,
        obj=application,
        office=application.office,
        details={"from": old_status, "to": new_status, "working_days": clock, **(details or {})},
    )
    # Who holds the next step, and the applicant's notification: the one place that reacts to a status change.
    flow.after_transition(application, step)
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
