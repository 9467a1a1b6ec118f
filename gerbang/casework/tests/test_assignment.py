"""Who Gerbang draws: weighted by load, never a declared relative, the region when the office cannot staff a step,
and cases waiting for an officer on duty."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from gerbang.accounts.models import Role
from gerbang.casework import actions, flow, rules
from gerbang.casework.models import Duty
from gerbang.conftest import build_office, build_staff, grant
from gerbang.duty.tests.support import on_duty

from .support import next_nik, paid_application

pytestmark = pytest.mark.django_db


def test_the_draw_favours_the_less_loaded_officer_but_never_picks_outside_the_pool() -> None:
    pool = [rules.Candidate(1, 10, 0), rules.Candidate(2, 10, 9)]
    picks = Counter(rules.draw(pool).officer_id for _ in range(3000))  # type: ignore[union-attr]
    assert set(picks) <= {1, 2}
    # Weights 1 and 1/10: the idle officer takes about 91% of the cases, the busy one still some.
    assert 0.85 < picks[1] / 3000 < 0.96 and picks[2] > 0
    assert rules.draw([]) is None


def test_an_office_whose_only_issuer_is_its_verifier_has_documents_verified_in_the_region(
    settings: Any, tmp_path: Any
) -> None:
    home = build_office(province_code="33")
    other = build_office(province_code="33")
    both = build_staff(Role.DOCUMENT_VERIFIER, office=home)
    grant(both, Role.ISSUING_OFFICER, office=home)
    on_duty(both, home, Role.DOCUMENT_VERIFIER)
    remote = build_staff(Role.DOCUMENT_VERIFIER, office=other)
    on_duty(remote, other, Role.DOCUMENT_VERIFIER)
    application = paid_application(home, settings, tmp_path)
    verification = rules.open_assignment(application, Duty.VERIFICATION)
    assert verification is not None and verification.officer == remote and verification.office == other


def test_a_declared_relative_is_never_drawn(settings: Any, tmp_path: Any) -> None:
    home = build_office(province_code="34")
    other = build_office(province_code="34")
    relative = build_staff(Role.DOCUMENT_VERIFIER, office=home)
    on_duty(relative, home, Role.DOCUMENT_VERIFIER)
    stranger = build_staff(Role.DOCUMENT_VERIFIER, office=other)
    on_duty(stranger, other, Role.DOCUMENT_VERIFIER)
    nik = next_nik()
    actions.declare_conflict(actor=relative, nik=nik, relationship="sibling")
    # Without the declaration the local verifier would be drawn (the office's own come before the region's).
    application = paid_application(home, settings, tmp_path, nik=nik)
    held = rules.open_assignment(application, Duty.VERIFICATION)
    assert held is not None and held.officer == stranger


def test_a_decision_waits_for_an_adjudicator_on_duty_in_another_office(settings: Any, tmp_path: Any) -> None:
    home = build_office(province_code="35")
    other = build_office(province_code="35")
    local = build_staff(Role.ADJUDICATOR, office=home)
    on_duty(local, home, Role.ADJUDICATOR)
    application = paid_application(home, settings, tmp_path)
    application.status = "interviewed"
    application.save(update_fields=["status"])
    # The office's own adjudicator is on duty, but a decision is never taken where the applicant can be met.
    assert flow.assign(application, Duty.DECISION) is None
    assert application.pk in set(flow.waiting_cases().values_list("pk", flat=True))
    remote = build_staff(Role.ADJUDICATOR, office=other)
    on_duty(remote, other, Role.ADJUDICATOR)
    assert flow.assign_waiting() >= 1
    decision = rules.open_assignment(application, Duty.DECISION)
    assert decision is not None and decision.officer == remote and decision.office == other
    assert application.pk not in set(flow.waiting_cases().values_list("pk", flat=True))
