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


def test_a_relative_declared_by_the_filers_nik_also_takes_the_step_away(settings: Any, tmp_path: Any) -> None:
    from gerbang.identity.models import CitizenIdentity

    home = build_office(province_code="38")
    other = build_office(province_code="38")
    local = build_staff(Role.DOCUMENT_VERIFIER, office=home)
    on_duty(local, home, Role.DOCUMENT_VERIFIER)
    remote = build_staff(Role.DOCUMENT_VERIFIER, office=other)
    on_duty(remote, other, Role.DOCUMENT_VERIFIER)
    application = paid_application(home, settings, tmp_path)
    assert rules.open_assignment(application, Duty.VERIFICATION).officer == local  # type: ignore[union-attr]
    filer_nik = CitizenIdentity.objects.filter(account=application.filer_id).values_list("nik", flat=True).first()
    assert filer_nik is not None
    actions.declare_conflict(actor=local, nik=filer_nik, relationship="parent")
    held = rules.open_assignment(application, Duty.VERIFICATION)
    assert held is not None and held.officer == remote


def test_a_decision_on_a_case_that_moved_on_is_refused_not_a_server_error(settings: Any, tmp_path: Any) -> None:
    from django.core.exceptions import ValidationError

    home = build_office(province_code="39")
    adjudicator = build_staff(Role.ADJUDICATOR, office=build_office(province_code="39"))
    application = paid_application(home, settings, tmp_path)  # paid: no decision is due
    with pytest.raises(ValidationError):
        actions.decide(application, actor=adjudicator, outcome="approve", note="Looks fine")


def test_titles_and_remarks_are_left_out_of_the_machine_readable_name() -> None:
    assert actions._mrz_name("Budi Santoso, S.Kom") == ("Budi Santoso", "")
    assert actions._mrz_name("Siti (Almh) Rahayu") == ("Siti Rahayu", "")
    assert actions._mrz_name("Nur'aini Putri-Ayu") == ("Nur'aini Putri-Ayu", "")
