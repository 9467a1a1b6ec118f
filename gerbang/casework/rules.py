"""Who may hold which step of a case: duties, roles, where officers are drawn from, and separation of duties.

The application workflow table (``gerbang.applications.workflow.TRANSITIONS``)
gives each casework row a duty here (:data:`DUTY`). ``transition()`` asks
:func:`check_actor` before a casework action and calls :func:`after_transition`
after it; nothing else decides who works on a case.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope
from gerbang.applications.models import Status
from gerbang.identity.models import CitizenIdentity
from gerbang.organisation.models import Office
from gerbang.organisation.selectors import holiday_days

from .models import Assignment, ConflictDeclaration, Duty

# (status, action) -> the duty whose holder does it. Rows of the workflow table not named here are not casework.
DUTY: dict[tuple[str, str], str] = {
    (Status.PAID, "request_documents"): Duty.VERIFICATION,
    (Status.PAID, "verify_documents"): Duty.VERIFICATION,
    (Status.PAID, "verify_again"): Duty.VERIFICATION,
    (Status.VERIFIED, "take_biometrics"): Duty.INTERVIEW,
    (Status.BIOMETRICS_TAKEN, "interview"): Duty.INTERVIEW,
    (Status.INTERVIEWED, "approve"): Duty.DECISION,
    (Status.INTERVIEWED, "propose_refusal"): Duty.DECISION,
    (Status.INTERVIEWED, "ask_more"): Duty.DECISION,
    (Status.REFUSAL_PROPOSED, "confirm_refusal"): Duty.REFUSAL_REVIEW,
    (Status.REFUSAL_PROPOSED, "overturn_refusal"): Duty.REFUSAL_REVIEW,
    (Status.APPEALED, "dismiss_appeal"): Duty.APPEAL,
    (Status.APPEALED, "grant_appeal"): Duty.APPEAL,
    (Status.APPROVED, "print"): Duty.ISSUING,
    (Status.PRINTED, "spoil"): Duty.ISSUING,
    (Status.PRINTED, "hand_over"): Duty.ISSUING,
    (Status.PRINTED, "post"): Duty.ISSUING,
}

# The role an officer holds for each duty.
ROLE: dict[str, str] = {
    Duty.VERIFICATION: Role.DOCUMENT_VERIFIER,
    Duty.INTERVIEW: Role.INTERVIEWER,
    Duty.DECISION: Role.ADJUDICATOR,
    Duty.REFUSAL_REVIEW: Role.ADJUDICATOR,
    Duty.APPEAL: Role.REGIONAL_SUPERVISOR,
    Duty.ISSUING: Role.ISSUING_OFFICER,
}

# Where the holder is drawn from. "office": on duty at the application's office. "office_then_region": there,
# else at another office of the division (remote work from the case file). "region": only other offices of the
# division, so that nobody a broker can meet at the office decides. "division": the division's supervisors.
OFFICE, OFFICE_THEN_REGION, REGION, DIVISION = "office", "office_then_region", "region", "division"
WHERE: dict[str, str] = {
    Duty.VERIFICATION: OFFICE_THEN_REGION,
    Duty.INTERVIEW: OFFICE,
    Duty.DECISION: REGION,
    Duty.REFUSAL_REVIEW: REGION,
    Duty.APPEAL: DIVISION,
    Duty.ISSUING: OFFICE,
}

# Actions done face to face: the officer must be serving at a counter of the office (phone in a locker).
AT_COUNTER = frozenset({"take_biometrics", "interview", "hand_over"})

# Duties that one person may never hold together on one application (symmetric). The document verifier, the
# adjudicator and the issuing officer are three people; whoever met the applicant never decides; a refusal's
# second reviewer and an appeal's decider took no other part.
_APART: set[frozenset[str]] = {
    frozenset(pair)
    for pair in [
        (Duty.VERIFICATION, Duty.DECISION),
        (Duty.VERIFICATION, Duty.ISSUING),
        (Duty.DECISION, Duty.ISSUING),
        (Duty.INTERVIEW, Duty.DECISION),
        *((Duty.REFUSAL_REVIEW, other) for other in Duty.values if other != Duty.REFUSAL_REVIEW),
        *((Duty.APPEAL, other) for other in Duty.values if other != Duty.APPEAL),
    ]
}


def apart(one: str, other: str) -> bool:
    return frozenset((one, other)) in _APART


# The duty Gerbang draws when a case enters a status (its holder acts next).
NEXT_DUTY: dict[str, str] = {
    Status.PAID: Duty.VERIFICATION,
    Status.VERIFIED: Duty.INTERVIEW,
    Status.INTERVIEWED: Duty.DECISION,
    Status.REFUSAL_PROPOSED: Duty.REFUSAL_REVIEW,
    Status.APPEALED: Duty.APPEAL,
    Status.APPROVED: Duty.ISSUING,
}


def duties_of_status(status: str) -> set[str]:
    return {duty for (s, _action), duty in DUTY.items() if s == status}


def is_visa_case(case: Any) -> bool:
    """A foreigner's visa or stay-permit application (gerbang.visas) rather than a passport application."""
    return bool(case._meta.label_lower == "visas.visaapplication")


def case_of(case: Any) -> dict[str, Any]:
    """The Assignment filter (and create keywords) naming ``case``, a passport or a visa application."""
    return {"visa_application": case} if is_visa_case(case) else {"application": case}


def took_part(application: Any) -> dict[int, set[str]]:
    """Officer id -> the duties they hold or held on this application (a reassignment away does not count)."""
    parts: dict[int, set[str]] = {}
    rows = Assignment.objects.filter(**case_of(application)).exclude(ended_because=Assignment.Ended.REASSIGNED)
    for officer_id, duty in rows.values_list("officer_id", "duty"):
        parts.setdefault(officer_id, set()).add(duty)
    return parts


def conflicted(application: Any) -> set[int]:
    """Officers who declared the applicant's or the filer's NIK as their own or a relative's.

    A visa case: the citizen sponsor's NIK and the filer's; the filer and the sponsor's account never act on it.
    """
    if is_visa_case(application):
        sponsor = application.sponsor
        niks = {sponsor.nik} if sponsor is not None and sponsor.nik else set()
        people = {application.filer_id} | ({sponsor.account_id} if sponsor is not None else set())
        if application.foreigner.account_id is not None:
            people.add(application.foreigner.account_id)
    else:
        niks = {application.applicant_nik}
        people = {application.filer_id}
    niks.update(CitizenIdentity.objects.filter(account=application.filer_id).values_list("nik", flat=True))
    return (
        set(
            ConflictDeclaration.objects.filter(nik__in=niks, withdrawn_at__isnull=True).values_list(
                "officer_id", flat=True
            )
        )
        | people
    )


def barred(application: Any, duty: str) -> set[int]:
    """Every officer who may not hold ``duty`` on this application: declared relatives, incompatible parts."""
    parts = took_part(application)
    return conflicted(application) | {o for o, held in parts.items() if any(apart(h, duty) for h in held)}


def why_not(application: Any, officer_id: int, duty: str) -> str | None:
    """Why ``officer_id`` may not hold ``duty`` on this application (a reason code), or None."""
    if officer_id in conflicted(application):
        return "conflict_of_interest"
    for held in took_part(application).get(officer_id, set()):
        if apart(held, duty):
            return "separation_of_duties"
    return None


@dataclass(frozen=True)
class Candidate:
    officer_id: int
    office_id: int
    load: int


def _on_duty(role: str, offices: list[int], at: dt.datetime) -> dict[int, int]:
    """Officer id -> office id of everyone with a current shift in ``role`` at one of ``offices``."""
    from gerbang.duty.models import Shift

    rows = Shift.objects.filter(
        office__in=offices, role=role, starts_at__lte=at, ends_at__gt=at, cancelled_at__isnull=True
    ).values_list("officer_id", "office_id")
    found: dict[int, int] = {}
    for officer_id, office_id in rows:
        found.setdefault(officer_id, office_id)
    # The roster names the role; the grant must still be active (a revoked role ends the duty at once).
    granted = set(
        RoleGrant.objects.filter(
            user__in=found, role=role, status=GrantStatus.ACTIVE, user__is_active=True
        ).values_list("user_id", flat=True)
    )
    return {officer: office for officer, office in found.items() if officer in granted}


def _sole_holder(role: str, office: Office) -> int | None:
    """The one person holding ``role`` over ``office`` (grants, not shifts), or None if none or several do."""
    holders = set(
        RoleGrant.objects.filter(
            Q(scope=Scope.OFFICE, office=office) | Q(scope=Scope.DIVISION, division=office.division_id),
            role=role,
            status=GrantStatus.ACTIVE,
        )
        .values_list("user_id", flat=True)
        .distinct()[:2]
    )
    return holders.pop() if len(holders) == 1 else None


def _division_supervisors(office: Office) -> dict[int, int]:
    rows = RoleGrant.objects.filter(
        Q(scope=Scope.DIVISION, division=office.division_id) | Q(scope=Scope.DIRECTORATE),
        role=Role.REGIONAL_SUPERVISOR,
        status=GrantStatus.ACTIVE,
        user__is_active=True,
    ).values_list("user_id", flat=True)
    return {user_id: office.pk for user_id in rows}


def candidates(application: Any, duty: str, at: dt.datetime | None = None) -> list[Candidate]:
    """Everyone who may be drawn for ``duty`` on this application now, with their current load of open cases."""
    at = at or timezone.now()
    office = application.office
    if office is None:
        return []
    role = ROLE[duty]
    where = WHERE[duty]
    others = list(
        Office.objects.filter(division=office.division_id, is_active=True)
        .exclude(pk=office.pk)
        .values_list("pk", flat=True)
    )
    blocked = barred(application, duty)  # once per draw, not once per officer
    if where == DIVISION:
        pool = _division_supervisors(office)
    elif where == REGION:
        pool = _on_duty(role, others, at)
    else:
        pool = _on_duty(role, [office.pk], at)
        if where == OFFICE_THEN_REGION:
            # An office's only issuing officer never verifies there: the passport must be issued by someone else.
            sole_issuer = _sole_holder(Role.ISSUING_OFFICER, office)
            local = {k: v for k, v in pool.items() if k != sole_issuer and k not in blocked}
            pool = local or _on_duty(role, others, at)
    eligible = {officer: office_id for officer, office_id in pool.items() if officer not in blocked}
    loads = dict(
        Assignment.objects.filter(officer__in=eligible, ended_at__isnull=True)
        .values("officer")
        .annotate(n=Count("pk"))
        .values_list("officer", "n")
    )
    return [Candidate(officer, office_id, loads.get(officer, 0)) for officer, office_id in sorted(eligible.items())]


_random = secrets.SystemRandom()


def draw(pool: list[Candidate]) -> Candidate | None:
    """One candidate at random, weighted by 1 / (1 + open cases): the less loaded, the likelier; never a choice."""
    if not pool:
        return None
    return _random.choices(pool, weights=[1 / (1 + c.load) for c in pool], k=1)[0]


def working_days_between(office: Office, start: dt.datetime, end: dt.datetime) -> int:
    """Whole working days (Monday to Friday, not the office's holidays) after ``start``'s day up to ``end``'s."""
    zone = zoneinfo.ZoneInfo(office.timezone)
    first, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    if last <= first:
        return 0
    off = holiday_days(office, first, last)
    days = (first + dt.timedelta(days=n) for n in range(1, (last - first).days + 1))
    return sum(1 for day in days if day.weekday() < 5 and day not in off)


def add_working_days(office: Office, start: dt.datetime, count: int) -> dt.date:
    """The office's date ``count`` working days after ``start``'s day."""
    zone = zoneinfo.ZoneInfo(office.timezone)
    day = start.astimezone(zone).date()
    off = holiday_days(office, day, day + dt.timedelta(days=count * 3 + 30))
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            count -= 1
    return day


def service_days() -> int:
    return int(settings.PASSPORT_SERVICE_DAYS)


def open_assignment(application: Any, duty: str) -> Assignment | None:
    return Assignment.objects.filter(**case_of(application), duty=duty, ended_at__isnull=True).first()


def holder(application: Any, actor: Any, duty: str) -> Assignment | None:
    """The actor's open assignment for ``duty`` on this application, if they hold it and may still hold it."""
    if not getattr(actor, "is_authenticated", False):
        return None
    assignment = (
        Assignment.objects.filter(**case_of(application), duty=duty, officer=actor, ended_at__isnull=True)
        .select_related("office__division")
        .first()
    )
    if assignment is None or why_not(application, actor.pk, duty) is not None:
        return None
    return assignment
