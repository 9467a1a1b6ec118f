"""A paid application taken through every casework step by the officers Gerbang drew, the decision in another office."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.test import Client

from gerbang.applications.models import Status
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.applications.workflow import allowed_actions
from gerbang.audit.models import AuditEvent
from gerbang.casework import actions, rules
from gerbang.casework.models import Assignment, Booklet, Duty, Passport
from gerbang.channel.models import Notification
from gerbang.conftest import last_audit_id
from gerbang.core import mrz
from gerbang.duty.tests.support import verified
from gerbang.visits.actions import Photo

from .support import check_in, paid_application, two_offices

pytestmark = pytest.mark.django_db


def _holder(application: Any, duty: str) -> Any:
    assignment = rules.open_assignment(application, duty)
    assert assignment is not None, f"nobody holds {duty}"
    return verified(assignment.officer)


def test_from_paid_to_handover_each_step_by_the_drawn_officer(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    start = last_audit_id()
    application = paid_application(stage.home, settings, tmp_path)
    # Paid: the verification went to the office's verifier on duty (the only one eligible).
    verifier = _holder(application, Duty.VERIFICATION)
    assert verifier == stage.staff["verifier"]
    # Nobody else with the role, or the office head, can act on it.
    assert allowed_actions(application, stage.officer("interviewer")) == []
    assert "verify_documents" in allowed_actions(application, verifier)
    verdicts = {d.pk: "accepted" for d in application.documents.filter(superseded_at__isnull=True)}
    actions.review_documents(application, actor=verifier, verdicts=verdicts)
    application.refresh_from_db()
    assert application.status == Status.VERIFIED
    interviewer = _holder(application, Duty.INTERVIEW)
    assert interviewer == stage.staff["interviewer"]
    photo = Photo(jpeg_bytes(480, 600), "jpg")
    biometrics_args: dict[str, Any] = {
        "photo": photo,
        "capture_station": "CAP-01",
        "fingerprint_device": "FP-7731",
        "fingers": 10,
        "fingerprint_template": b"template",
    }
    # Biometrics need the applicant in the office today: checked in at the front desk first.
    with pytest.raises(Http404):
        actions.take_biometrics(application, actor=interviewer, **biometrics_args)
    check_in(application, stage.staff["front_desk"])
    actions.take_biometrics(application, actor=interviewer, **biometrics_args)
    actions.record_interview(
        application,
        actor=interviewer,
        purpose_of_travel="Umrah",
        identity_consistent=True,
        originals_seen=True,
        outcome="consistent",
    )
    application.refresh_from_db()
    assert application.status == Status.INTERVIEWED and application.ready_by is not None
    # The decision: an adjudicator of the other office of the division, never one at the applicant's office.
    decision_holder = rules.open_assignment(application, Duty.DECISION)
    assert decision_holder is not None and decision_holder.office == stage.other
    adjudicator = verified(decision_holder.officer)
    with pytest.raises(ValidationError):
        actions.decide(application, actor=adjudicator, outcome="approve", note="")
    actions.decide(application, actor=adjudicator, outcome="approve", note="Documents and interview consistent.")
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    issuer = _holder(application, Duty.ISSUING)
    assert issuer == stage.staff["issuer"]
    actions.receive_booklets(
        office=stage.home, booklets=[("BK000101", "C1234567"), ("BK000102", "C1234568")], actor=stage.officer("head")
    )
    passport = actions.print_passport(application, actor=issuer)
    assert passport.number == "C1234567" and mrz.check_td3(passport.mrz_line1, passport.mrz_line2)
    assert passport.mrz_line1.startswith("P<IDN") and passport.mrz_line2.startswith("C1234567<")
    # A misprint: the booklet is spoiled and accounted for; the next one carries the passport.
    actions.spoil_booklet(application, actor=issuer, reason="Ink smeared on the data page")
    assert Booklet.objects.get(serial="BK000101").status == "spoiled"
    passport = actions.print_passport(application, actor=issuer)
    assert passport.number == "C1234568"
    with pytest.raises(ValidationError):
        actions.hand_over(application, actor=issuer, id_card_nik="3173015708870999", face_matches=True)
    actions.hand_over(application, actor=issuer, id_card_nik=application.applicant_nik, face_matches=True)
    application.refresh_from_db()
    assert application.status == Status.HANDED_OVER
    assert Passport.objects.get(application=application, void=False).delivery == "counter"
    # Three different people verified, decided and issued; every assignment is over.
    assert len({verifier.pk, adjudicator.pk, issuer.pk}) == 3
    assert not Assignment.objects.filter(application=application, ended_at__isnull=True).exists()
    # The timeline and the audit log hold every step; the applicant was told at each milestone.
    steps = list(application.steps.values_list("action", flat=True))
    assert steps[-8:] == [
        "verify_documents",
        "take_biometrics",
        "interview",
        "approve",
        "print",
        "spoil",
        "print",
        "hand_over",
    ]
    assert all(s.working_days is not None for s in application.steps.filter(action__in=steps[-8:]))
    events = AuditEvent.objects.filter(id__gt=start)
    # Verification, interview, decision, issuing: the issuer keeps the case through the spoiled booklet.
    assert events.filter(action="casework.assigned").count() == 4
    assert events.filter(action="applications.hand_over").count() == 1
    told = set(Notification.objects.filter(application=application).values_list("subject", flat=True))
    assert len(told) >= 5


def test_a_refusal_needs_a_second_reviewer_and_an_appeal_goes_to_someone_who_took_no_part(
    settings: Any, tmp_path: Any
) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = _holder(application, Duty.VERIFICATION)
    verdicts = {d.pk: "accepted" for d in application.documents.filter(superseded_at__isnull=True)}
    actions.review_documents(application, actor=verifier, verdicts=verdicts)
    check_in(application, stage.staff["front_desk"])
    interviewer = _holder(application, Duty.INTERVIEW)
    actions.take_biometrics(
        application,
        actor=interviewer,
        photo=Photo(jpeg_bytes(480, 600), "jpg"),
        capture_station="CAP-01",
        fingerprint_device="FP-1",
        fingers=10,
        fingerprint_template=b"t",
    )
    actions.record_interview(
        application,
        actor=interviewer,
        purpose_of_travel="Work abroad",
        identity_consistent=True,
        originals_seen=True,
        outcome="concerns",
        notes="No work contract through the official placement agency.",
    )
    adjudicator = _holder(application, Duty.DECISION)
    with pytest.raises(ValidationError) as refused:
        actions.decide(application, actor=adjudicator, outcome="refuse", note="Suspected non-procedural work")
    assert set(refused.value.message_dict) == {"reason"}
    actions.decide(
        application,
        actor=adjudicator,
        outcome="refuse",
        reason="suspected_trafficking",
        note="Suspected non-procedural migrant work.",
    )
    application.refresh_from_db()
    assert application.status == Status.REFUSAL_PROPOSED
    reviewer = _holder(application, Duty.REFUSAL_REVIEW)
    # The other adjudicator on duty in the region: whoever proposed the refusal never reviews it.
    assert {adjudicator.pk, reviewer.pk} == {stage.staff["adjudicator"].pk, stage.staff["reviewer"].pk}
    # The proposing adjudicator cannot review their own proposal.
    with pytest.raises(Http404):
        actions.review_refusal(application, actor=adjudicator, confirm=True, note="Agree")
    actions.review_refusal(application, actor=reviewer, confirm=True, note="The refusal is founded.")
    application.refresh_from_db()
    assert application.status == Status.REFUSED
    # The applicant sees the outcome and its legal reason (never who decided) and appeals on the status page.
    applicant = Client(headers={"accept-language": "en"})
    applicant.force_login(application.filer)
    page = applicant.get(f"/permohonan/{application.public_id}/").content.decode()
    assert "Suspected non-procedural migrant work or trafficking" in page and 'id="appeal"' in page
    assert adjudicator.full_name not in page and reviewer.full_name not in page
    empty = applicant.post(f"/permohonan/{application.public_id}/banding/", {"grounds": " "}, follow=True)
    assert b"Explain why the refusal should be reconsidered" in empty.content
    applicant.post(
        f"/permohonan/{application.public_id}/banding/", {"grounds": "I have a contract from the official agency."}
    )
    application.refresh_from_db()
    assert application.status == Status.APPEALED
    supervisor = _holder(application, Duty.APPEAL)
    assert supervisor == stage.staff["supervisor"]
    actions.decide_appeal(application, actor=supervisor, grant=True, note="Contract verified with the agency.")
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    # One appeal only: the table's guard.
    assert "appeal" not in allowed_actions(application, application.filer)
