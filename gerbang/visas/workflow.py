"""The visa and stay-permit workflow as a table, and the one function that applies it.

``TRANSITIONS[(status, action)] = (new status, who)``: ``FILER`` is the account that filed (the sponsor, or the
foreigner for an application without a sponsor); ``SYSTEM`` is Gerbang itself (a bank's proof, the automatic
checks); a :class:`Perm` is done only by the officer Gerbang drew for the row's duty (``DUTY``), through the
casework engine (``gerbang.casework``: drawn by load, the decision from another office of the division,
separation of duties, declared relatives, a refusal's second review, one appeal).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gerbang.access.permissions import Perm
from gerbang.audit.actions import record
from gerbang.casework.models import Duty

from .models import Status, VisaApplication, VisaStep

FILER = "filer"
SYSTEM = "system"
Who = str | Perm

TRANSITIONS: dict[tuple[str, str], tuple[str, Who]] = {
    (Status.DRAFT, "submit"): (Status.SUBMITTED, FILER),
    (Status.DRAFT, "withdraw"): (Status.WITHDRAWN, FILER),
    (Status.SUBMITTED, "withdraw"): (Status.WITHDRAWN, FILER),
    # Only a bank's proof moves an application to "paid".
    (Status.SUBMITTED, "pay"): (Status.PAID, SYSTEM),
    # Every automatic check clear (an e-VoA): issued without an officer.
    (Status.PAID, "issue_automatically"): (Status.ISSUED, SYSTEM),
    (Status.PAID, "verify_documents"): (Status.VERIFIED, Perm.VERIFY_DOCUMENTS),
    (Status.PAID, "request_documents"): (Status.DOCUMENTS_REQUESTED, Perm.VERIFY_DOCUMENTS),
    (Status.DOCUMENTS_REQUESTED, "resubmit"): (Status.PAID, FILER),
    (Status.VERIFIED, "approve"): (Status.ISSUED, Perm.ADJUDICATE),
    (Status.VERIFIED, "propose_refusal"): (Status.REFUSAL_PROPOSED, Perm.ADJUDICATE),
    (Status.VERIFIED, "ask_more"): (Status.DOCUMENTS_REQUESTED, Perm.ADJUDICATE),
    (Status.REFUSAL_PROPOSED, "confirm_refusal"): (Status.REFUSED, Perm.ADJUDICATE),
    (Status.REFUSAL_PROPOSED, "overturn_refusal"): (Status.ISSUED, Perm.ADJUDICATE),
    (Status.REFUSED, "appeal"): (Status.APPEALED, FILER),
    (Status.APPEALED, "dismiss_appeal"): (Status.REFUSED, Perm.DECIDE_APPEAL),
    (Status.APPEALED, "grant_appeal"): (Status.ISSUED, Perm.DECIDE_APPEAL),
}

# (status, action) -> the casework duty whose drawn holder does it (gerbang.casework.rules: ROLE, WHERE, apart).
DUTY: dict[tuple[str, str], str] = {
    (Status.PAID, "verify_documents"): Duty.VERIFICATION,
    (Status.PAID, "request_documents"): Duty.VERIFICATION,
    (Status.VERIFIED, "approve"): Duty.DECISION,
    (Status.VERIFIED, "propose_refusal"): Duty.DECISION,
    (Status.VERIFIED, "ask_more"): Duty.DECISION,
    (Status.REFUSAL_PROPOSED, "confirm_refusal"): Duty.REFUSAL_REVIEW,
    (Status.REFUSAL_PROPOSED, "overturn_refusal"): Duty.REFUSAL_REVIEW,
    (Status.APPEALED, "dismiss_appeal"): Duty.APPEAL,
    (Status.APPEALED, "grant_appeal"): Duty.APPEAL,
}

# The duty Gerbang draws when a case enters a status.
NEXT_DUTY: dict[str, str] = {
    Status.PAID: Duty.VERIFICATION,
    Status.VERIFIED: Duty.DECISION,
    Status.REFUSAL_PROPOSED: Duty.REFUSAL_REVIEW,
    Status.APPEALED: Duty.APPEAL,
}

FINAL = frozenset({Status.ISSUED, Status.REFUSED, Status.WITHDRAWN})

NEXT_STEP: dict[str, Any] = {
    Status.DRAFT: gettext_lazy("Complete the application and submit it. Nothing reaches an office before that."),
    Status.SUBMITTED: gettext_lazy(
        "Pay the billing code at a bank (teller, ATM, internet banking or card) before it expires. Never pay "
        "anyone in person: no fee is ever taken at an office."
    ),
    Status.PAID: gettext_lazy("The fee is paid. The documents are being checked; you are told here."),
    Status.VERIFIED: gettext_lazy("The documents were checked. An adjudicator of the regional division decides."),
    Status.DOCUMENTS_REQUESTED: gettext_lazy("An officer asked for another document: upload it and submit again."),
    Status.REFUSAL_PROPOSED: gettext_lazy("A refusal was proposed; a second reviewer who took no part decides."),
    Status.REFUSED: gettext_lazy(
        "Refused; the legal reason is on this page. You may appeal once to the regional division within the time shown."
    ),
    Status.APPEALED: gettext_lazy("The appeal is with the regional division."),
    Status.ISSUED: gettext_lazy("Issued. Download the document below; anyone can verify it by its number."),
    Status.WITHDRAWN: gettext_lazy("Withdrawn."),
}


def _guard(application: VisaApplication, action: str) -> bool:
    if action == "appeal":
        steps = application.steps.all()
        if steps.filter(action="appeal").exists():
            return False
        refused = steps.filter(to_status=Status.REFUSED).order_by("-at").values_list("at", flat=True).first()
        return refused is not None and timezone.now() - refused <= dt.timedelta(days=settings.GERBANG_APPEAL_DAYS)
    return True


def may_file(application: VisaApplication, actor: Any) -> bool:
    """The filer, or (for a sponsored case) any account of the sponsor's: the filer's own account."""
    return bool(getattr(actor, "is_authenticated", False) and actor.pk == application.filer_id)


def _may(application: VisaApplication, actor: Any, who: Who, action: str) -> bool:
    if who == SYSTEM:
        return actor is None
    if who == FILER:
        return may_file(application, actor)
    duty = DUTY[(application.status, action)]
    from gerbang.casework.guards import may_act

    return may_act(application, actor, Perm(who), duty, action)


def allowed_actions(application: VisaApplication, actor: Any) -> list[str]:
    return [
        action
        for (status, action), (_new, who) in TRANSITIONS.items()
        if status == application.status
        and who not in (SYSTEM,)
        and _guard(application, action)
        and _may(application, actor, who, action)
    ]


def not_now(application: VisaApplication) -> ValidationError:
    return ValidationError(
        _("This application is %(status)s: that cannot be done now.") % {"status": application.get_status_display()}
    )


def transition(
    application: VisaApplication,
    action: str,
    *,
    actor: Any,
    note: str = "",
    details: dict[str, Any] | None = None,
) -> VisaStep:
    """Apply ``action`` to a row-locked application: status, timeline step, audit event, then the next holder."""
    if not connection.in_atomic_block:
        raise RuntimeError("transition() runs inside the action's transaction")
    row = TRANSITIONS.get((application.status, action))
    if row is None or not _guard(application, action):
        raise not_now(application)
    new_status, who = row
    if not _may(application, actor, who, action):
        raise Http404
    now = timezone.now()
    old_status = application.status
    application.status = new_status
    application.save(update_fields=["status", "updated_at"])
    step = VisaStep.objects.create(
        application=application,
        action=action,
        from_status=old_status,
        to_status=new_status,
        actor=actor,
        at=now,
        note=note[:500],
    )
    record(
        f"visas.{action}",
        actor=actor,
        obj=application,
        office=application.office,
        details={"from": old_status, "to": new_status, "reference": application.reference, **(details or {})},
    )
    from . import flow

    flow.after_transition(application, step)
    return step
