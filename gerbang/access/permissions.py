"""The one place that decides "may this person do this to this record".

Every view and API endpoint asks here. Permissions are granted to roles
(``PERMISSIONS``); roles are granted to staff over an office, a division's
subtree or the whole directorate (``RoleGrant``). Lookups of records the caller
may not see raise ``Http404`` exactly as for records that do not exist.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet
from django.http import Http404

from gerbang.accounts.models import GrantStatus, Role, RoleGrant, Scope
from gerbang.organisation.models import Division, Office

if TYPE_CHECKING:
    from gerbang.accounts.models import User


class Perm(StrEnum):
    VIEW_STAFF = "organisation.view_staff"
    MANAGE_COUNTERS = "organisation.manage_counters"
    EDIT_OFFICE = "organisation.edit_office"
    MANAGE_ACCOUNTS = "accounts.manage_accounts"
    REQUEST_GRANT = "accounts.request_grant"
    APPROVE_GRANT = "accounts.approve_grant"
    MANAGE_TARIFFS = "tariffs.manage"
    VIEW_AUDIT = "audit.view"
    # Personal data of applicants. System administrators are deliberately
    # absent: they manage accounts and settings, never applications.
    VIEW_APPLICANT_DATA = "applications.view_personal_data"
    # Settle a contested NIK claim after seeing the person and their ID card.
    VERIFY_IDENTITY = "identity.verify_at_office"
    # Ask an applicant for another document (a new version of the application).
    REQUEST_DOCUMENTS = "applications.request_documents"
    # Resolve money that could not be credited: a refund, or an acceptance a second officer approves.
    RESOLVE_PAYMENT_EXCEPTIONS = "payments.resolve_exceptions"
    # Read reconciled bank statements and their reports.
    VIEW_RECONCILIATION = "payments.view_reconciliation"
    # Open an office's slots and release them (lottery or first come, first served).
    MANAGE_SLOTS = "appointments.manage_slots"
    # Declare and remove national holidays (an office's own holidays are part of MANAGE_SLOTS).
    MANAGE_HOLIDAYS = "organisation.manage_holidays"
    # Check booked and walk-in priority applicants in at the front desk (ID card, registry photo).
    CHECK_IN = "visits.check_in"
    # Call queue numbers to a counter and record the visit's end.
    SERVE_QUEUE = "visits.serve_queue"
    # Plan the office's duty roster (shifts: role, counter, hours).
    MANAGE_ROSTER = "duty.manage_roster"
    # Confirm an officer's deposit of devices in a locker, and their return.
    ATTEND_LOCKERS = "duty.attend_lockers"
    # Record a surprise spot check of an officer at work.
    RECORD_SPOT_CHECK = "duty.record_spot_check"
    # See the roster, lockers, counter sessions and spot checks.
    VIEW_DUTY = "duty.view"
    # Casework steps; each is done only by the officer Gerbang drew for it (gerbang.casework.rules).
    VERIFY_DOCUMENTS = "casework.verify_documents"
    INTERVIEW = "casework.interview"
    ADJUDICATE = "casework.adjudicate"
    DECIDE_APPEAL = "casework.decide_appeal"
    ISSUE_PASSPORT = "casework.issue_passport"
    # Give a case's step to another officer, with a written reason.
    REASSIGN_CASES = "casework.reassign"
    # Receive blank passport booklets into the office's controlled stock.
    MANAGE_BOOKLETS = "casework.manage_booklets"
    # Correct the visa and permit catalogue (codes, stays, documents, eligibility); audited with a reason.
    MANAGE_CATALOGUE = "visas.manage_catalogue"
    # Keep the deny list checked before any visa or permit is issued.
    MANAGE_DENY_LIST = "visas.manage_deny_list"
    # See foreigners' border movements, stays and overstays in the office's area.
    VIEW_STAYS = "visas.view_stays"
    # The supervision dashboards and the integrity signals of the offices in the grant's subtree; working a
    # signal (acknowledge, investigate, dismiss with a reason).
    SUPERVISE = "supervision.supervise"
    # Handle anonymous reports routed to the level above the office they are about (a division, the directorate).
    HANDLE_REPORTS = "supervision.handle_reports"


PERMISSIONS: dict[Perm, frozenset[Role]] = {
    Perm.VIEW_STAFF: frozenset(
        {Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR, Role.SYSTEM_ADMIN}
    ),
    Perm.MANAGE_COUNTERS: frozenset({Role.OFFICE_HEAD}),
    Perm.EDIT_OFFICE: frozenset({Role.SYSTEM_ADMIN}),
    Perm.MANAGE_ACCOUNTS: frozenset({Role.SYSTEM_ADMIN}),
    Perm.REQUEST_GRANT: frozenset({Role.SYSTEM_ADMIN}),
    Perm.APPROVE_GRANT: frozenset({Role.SYSTEM_ADMIN}),
    Perm.MANAGE_TARIFFS: frozenset({Role.SYSTEM_ADMIN}),
    Perm.VIEW_AUDIT: frozenset({Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}),
    Perm.VIEW_APPLICANT_DATA: frozenset(
        {
            Role.FRONT_DESK,
            Role.DOCUMENT_VERIFIER,
            Role.INTERVIEWER,
            Role.ADJUDICATOR,
            Role.ISSUING_OFFICER,
            Role.OFFICE_HEAD,
            Role.REGIONAL_SUPERVISOR,
            Role.DIRECTORATE_AUDITOR,
        }
    ),
    Perm.VERIFY_IDENTITY: frozenset({Role.FRONT_DESK, Role.OFFICE_HEAD}),
    Perm.REQUEST_DOCUMENTS: frozenset({Role.DOCUMENT_VERIFIER}),
    Perm.RESOLVE_PAYMENT_EXCEPTIONS: frozenset({Role.FINANCE_OFFICER}),
    Perm.MANAGE_SLOTS: frozenset({Role.OFFICE_HEAD}),
    Perm.MANAGE_HOLIDAYS: frozenset({Role.SYSTEM_ADMIN}),
    Perm.CHECK_IN: frozenset({Role.FRONT_DESK}),
    Perm.SERVE_QUEUE: frozenset({Role.FRONT_DESK, Role.DOCUMENT_VERIFIER, Role.INTERVIEWER, Role.ISSUING_OFFICER}),
    Perm.VERIFY_DOCUMENTS: frozenset({Role.DOCUMENT_VERIFIER}),
    Perm.INTERVIEW: frozenset({Role.INTERVIEWER}),
    Perm.ADJUDICATE: frozenset({Role.ADJUDICATOR}),
    Perm.DECIDE_APPEAL: frozenset({Role.REGIONAL_SUPERVISOR}),
    Perm.ISSUE_PASSPORT: frozenset({Role.ISSUING_OFFICER}),
    Perm.REASSIGN_CASES: frozenset({Role.OFFICE_HEAD}),
    Perm.MANAGE_BOOKLETS: frozenset({Role.OFFICE_HEAD}),
    Perm.MANAGE_ROSTER: frozenset({Role.OFFICE_HEAD}),
    Perm.ATTEND_LOCKERS: frozenset({Role.LOCKER_ATTENDANT}),
    Perm.RECORD_SPOT_CHECK: frozenset({Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}),
    Perm.VIEW_DUTY: frozenset(
        {Role.OFFICE_HEAD, Role.LOCKER_ATTENDANT, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}
    ),
    Perm.MANAGE_CATALOGUE: frozenset({Role.SYSTEM_ADMIN}),
    Perm.MANAGE_DENY_LIST: frozenset({Role.DENY_LIST_MAINTAINER}),
    Perm.VIEW_STAYS: frozenset(
        {Role.DOCUMENT_VERIFIER, Role.ADJUDICATOR, Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}
    ),
    Perm.SUPERVISE: frozenset({Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}),
    Perm.HANDLE_REPORTS: frozenset({Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}),
    Perm.VIEW_RECONCILIATION: frozenset(
        {Role.FINANCE_OFFICER, Role.OFFICE_HEAD, Role.REGIONAL_SUPERVISOR, Role.DIRECTORATE_AUDITOR}
    ),
}

Unit = Office | Division | None


def is_verified_staff(user: Any) -> bool:
    """Signed in, a staff account, active, and past the second factor."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.kind != "staff":
        return False
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def active_grants(user: User) -> list[RoleGrant]:
    """The user's active grants, cached on the user object for one request."""
    cached: list[RoleGrant] | None = getattr(user, "_gerbang_grants", None)
    if cached is None:
        cached = list(RoleGrant.objects.filter(user=user, status=GrantStatus.ACTIVE).select_related("office"))
        user._gerbang_grants = cached  # type: ignore[attr-defined]
    return cached


def _covers(grant: RoleGrant, unit: Unit) -> bool:
    if grant.scope == Scope.DIRECTORATE:
        return True
    if isinstance(unit, Office):
        if grant.scope == Scope.DIVISION:
            return grant.division_id == unit.division_id
        return grant.office_id == unit.pk
    if isinstance(unit, Division):
        return grant.scope == Scope.DIVISION and grant.division_id == unit.pk
    return False


def may(user: Any, perm: Perm, unit: Unit = None) -> bool:
    """May ``user`` exercise ``perm`` over ``unit`` (an office, a division, or the whole country)?"""
    if not is_verified_staff(user):
        return False
    roles = PERMISSIONS[perm]
    return any(g.role in roles and _covers(g, unit) for g in active_grants(user))


def holds_role_over(user: Any, roles: frozenset[str], unit: Unit) -> bool:
    """Is the (verified staff) user granted one of ``roles`` over ``unit``?"""
    if not is_verified_staff(user):
        return False
    return any(g.role in roles and _covers(g, unit) for g in active_grants(user))


def may_anywhere(user: Any, perm: Perm) -> bool:
    if not is_verified_staff(user):
        return False
    roles = PERMISSIONS[perm]
    return any(g.role in roles for g in active_grants(user))


def offices_for(user: Any, perm: Perm) -> QuerySet[Office]:
    """Offices over which ``user`` holds ``perm``."""
    if not is_verified_staff(user):
        return Office.objects.none()
    roles = PERMISSIONS[perm]
    grants = [g for g in active_grants(user) if g.role in roles]
    if any(g.scope == Scope.DIRECTORATE for g in grants):
        return Office.objects.all()
    cond = Q(pk__in=[g.office_id for g in grants if g.scope == Scope.OFFICE]) | Q(
        division_id__in=[g.division_id for g in grants if g.scope == Scope.DIVISION]
    )
    return Office.objects.filter(cond)


def office_or_404(user: Any, perm: Perm, code: str) -> Office:
    """The office with ``code`` if ``user`` holds ``perm`` over it; otherwise 404, as if it did not exist."""
    office = offices_for(user, perm).filter(code=code).select_related("division").first()
    if office is None:
        raise Http404
    return office


def require(user: Any, perm: Perm, unit: Unit = None) -> None:
    """For actions: refuse (as not found) unless ``user`` may exercise ``perm`` over ``unit``."""
    if not may(user, perm, unit):
        raise Http404
