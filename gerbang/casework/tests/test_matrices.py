"""The workflow table is complete and guarded; each casework row is done only by the drawn holder of its duty;
the separation-of-duties matrix, written out here independently of the code."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.utils import timezone

from gerbang.access.permissions import PERMISSIONS, Perm
from gerbang.accounts.models import Role
from gerbang.applications.models import PassportApplication, Status
from gerbang.applications.workflow import APPLICANT, SYSTEM, TRANSITIONS, allowed_actions
from gerbang.casework import actions, rules
from gerbang.casework.models import Assignment, Duty, Interview
from gerbang.conftest import build_staff
from gerbang.duty.models import CounterSession
from gerbang.duty.tests.support import on_duty, serving, verified

from .support import check_in, paid_application, two_offices

# Which two duties one person may hold on one application: True = allowed.
SAME_PERSON_ALLOWED = {
    frozenset({Duty.VERIFICATION, Duty.INTERVIEW}): True,
    frozenset({Duty.VERIFICATION, Duty.DECISION}): False,
    frozenset({Duty.VERIFICATION, Duty.ISSUING}): False,
    frozenset({Duty.VERIFICATION, Duty.REFUSAL_REVIEW}): False,
    frozenset({Duty.VERIFICATION, Duty.APPEAL}): False,
    frozenset({Duty.INTERVIEW, Duty.DECISION}): False,
    frozenset({Duty.INTERVIEW, Duty.ISSUING}): True,
    frozenset({Duty.INTERVIEW, Duty.REFUSAL_REVIEW}): False,
    frozenset({Duty.INTERVIEW, Duty.APPEAL}): False,
    frozenset({Duty.DECISION, Duty.ISSUING}): False,
    frozenset({Duty.DECISION, Duty.REFUSAL_REVIEW}): False,
    frozenset({Duty.DECISION, Duty.APPEAL}): False,
    frozenset({Duty.ISSUING, Duty.REFUSAL_REVIEW}): False,
    frozenset({Duty.ISSUING, Duty.APPEAL}): False,
    frozenset({Duty.REFUSAL_REVIEW, Duty.APPEAL}): False,
}


def test_every_status_is_reachable_and_every_row_is_guarded() -> None:
    reached: set[str] = {Status.DRAFT}
    frontier: list[str] = [Status.DRAFT]
    while frontier:
        status = frontier.pop()
        for (source, _action), (target, _who) in TRANSITIONS.items():
            if source == status and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Status.values)
    for (status, action), (_target, who) in TRANSITIONS.items():
        assert who in (APPLICANT, SYSTEM) or isinstance(who, Perm), (status, action)
        duty = rules.DUTY.get((status, action))
        if isinstance(who, Perm) and status not in (Status.SUBMITTED,):
            # Every staff row after payment belongs to a duty, and the duty's role holds the row's permission.
            assert duty is not None, (status, action)
            assert rules.ROLE[duty] in PERMISSIONS[who], (status, action)
    assert set(rules.DUTY) <= set(TRANSITIONS)


def test_same_person_matrix_is_what_the_rules_enforce() -> None:
    assert {frozenset(p) for p in itertools.combinations(Duty.values, 2)} == set(SAME_PERSON_ALLOWED)
    for pair, allowed in SAME_PERSON_ALLOWED.items():
        one, other = sorted(pair)
        assert rules.apart(one, other) is (not allowed), pair


def _at(application: PassportApplication, status: str) -> PassportApplication:
    PassportApplication.objects.filter(pk=application.pk).update(status=status)
    application.refresh_from_db()
    return application


ROWS = sorted(rules.DUTY.items())


@pytest.mark.django_db
@pytest.mark.parametrize(("row", "duty"), ROWS, ids=[f"{s}-{a}" for (s, a), _d in ROWS])
def test_only_the_drawn_holder_acts_not_a_colleague_not_a_relative_not_after_an_incompatible_part(
    row: tuple[str, str], duty: str, settings: Any, tmp_path: Any
) -> None:
    status, action = row
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    check_in(application, stage.staff["front_desk"])
    role = Role(rules.ROLE[duty])
    office = stage.other if rules.WHERE[duty] == rules.REGION else stage.home
    Assignment.objects.filter(application=application).delete()
    regional = role == Role.REGIONAL_SUPERVISOR
    where: dict[str, Any] = {"division": stage.home.division} if regional else {"office": office}
    holder = build_staff(role, **where)
    colleague = build_staff(role, **where)
    for person in (holder, colleague):
        if not regional:
            shift = on_duty(person, office, role)
            if action in rules.AT_COUNTER:
                serving(person, shift)
    application = _at(application, status)
    assignment = Assignment.objects.create(
        application=application, duty=duty, officer=holder, office=office, assigned_at=timezone.now()
    )
    if action == "verify_again":  # documents asked for after the interview: its guard wants an interview
        Interview.objects.create(
            application=application,
            purpose_of_travel="x",
            identity_consistent=True,
            originals_seen=True,
            outcome="consistent",
            counter=stage.staff["interviewer"].counter_sessions.first().counter,  # type: ignore[union-attr]
            officer=stage.staff["interviewer"],
            at=timezone.now(),
        )
    assert action in allowed_actions(application, verified(holder))
    assert action not in allowed_actions(application, verified(colleague))
    if action in rules.AT_COUNTER:
        CounterSession.objects.filter(officer=holder).update(closed_at=timezone.now(), closed_because="officer")
        assert action not in allowed_actions(application, verified(holder))
        CounterSession.objects.filter(officer=holder).update(closed_at=None, closed_because="")
    # An incompatible part held earlier on this application bars the holder.
    incompatible = next((d for d in Duty.values if rules.apart(d, duty)), None)
    if incompatible is not None:
        earlier = Assignment.objects.create(
            application=application,
            duty=incompatible,
            officer=holder,
            office=office,
            assigned_at=timezone.now(),
            ended_at=timezone.now(),
            ended_because="done",
        )
        assert action not in allowed_actions(application, verified(holder))
        earlier.delete()
    # A relative they declared (or themself) bars them at once: the step is drawn again.
    assert action in allowed_actions(application, verified(holder))
    actions.declare_conflict(actor=holder, nik=application.applicant_nik, relationship="sibling")
    assert action not in allowed_actions(application, verified(holder))
    assignment.refresh_from_db()
    assert assignment.ended_because == Assignment.Ended.REASSIGNED
