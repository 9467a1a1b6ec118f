"""The casework pages over HTTP: the worklist, the case page's step forms, messages, reassignment, booklets."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.test import Client

from gerbang.applications.models import Status
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.audit.models import AuditEvent
from gerbang.casework import rules
from gerbang.casework.models import Assignment, Booklet, Duty
from gerbang.channel.models import BlockedMessage, Message
from gerbang.conftest import staff_client

from .support import check_in, paid_application, two_offices

pytestmark = pytest.mark.django_db


def _english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_the_drawn_verifier_works_the_case_on_its_page_and_nobody_else_opens_it(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = _english(staff_client(stage.staff["verifier"]))
    worklist = verifier.get("/staf/kasus/").content.decode()
    assert application.reference in worklist and "Document verification" in worklist
    # A colleague with the same role at the same office, and the interviewer, cannot open the case at all.
    assert (
        _english(staff_client(stage.staff["interviewer"])).get(f"/staf/kasus/{application.reference}/").status_code
        == 404
    )
    assert (
        _english(staff_client(stage.staff["interviewer"])).get(f"/staf/permohonan/{application.reference}/").status_code
        == 404
    )
    page = verifier.get(f"/staf/kasus/{application.reference}/").content.decode()
    assert 'id="step-review_documents"' in page and "step-take_biometrics" not in page
    documents = list(application.documents.filter(superseded_at__isnull=True))
    # Rejecting without telling the applicant why is a form error, not a 500; nothing changes.
    form = {"do": "review_documents", **{f"review_documents-document_{d.pk}": "unreadable" for d in documents}}
    refused = verifier.post(f"/staf/kasus/{application.reference}/", form)
    assert refused.status_code == 200 and b"Tell the applicant" in refused.content
    application.refresh_from_db()
    assert application.status == Status.PAID
    accepted = {"do": "review_documents", **{f"review_documents-document_{d.pk}": "accepted" for d in documents}}
    done = verifier.post(f"/staf/kasus/{application.reference}/", accepted, follow=True)
    assert b"the case moved on" in done.content
    application.refresh_from_db()
    assert application.status == Status.VERIFIED
    # A step the verifier does not hold is not even offered, and posting it is refused.
    assert verifier.post(f"/staf/kasus/{application.reference}/", {"do": "print"}).status_code == 404


def test_interviewer_at_the_counter_uploads_biometrics_and_interviews_on_the_page(settings: Any, tmp_path: Any) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = rules.open_assignment(application, Duty.VERIFICATION)
    assert verifier is not None
    documents = list(application.documents.filter(superseded_at__isnull=True))
    staff_client(stage.staff["verifier"]).post(
        f"/staf/kasus/{application.reference}/",
        {"do": "review_documents", **{f"review_documents-document_{d.pk}": "accepted" for d in documents}},
    )
    check_in(application, stage.staff["front_desk"])
    interviewer = _english(staff_client(stage.staff["interviewer"]))
    photo = io.BytesIO(jpeg_bytes(480, 600))
    photo.name = "capture.jpg"
    template = io.BytesIO(b"ISO19794-2 template bytes")
    template.name = "fingers.bin"
    answer = interviewer.post(
        f"/staf/kasus/{application.reference}/",
        {
            "do": "take_biometrics",
            "take_biometrics-photo": photo,
            "take_biometrics-capture_station": "CAP-02",
            "take_biometrics-fingerprint_device": "FP-9911",
            "take_biometrics-fingers": "10",
            "take_biometrics-fingerprint_template": template,
        },
        follow=True,
    )
    assert b"the case moved on" in answer.content
    # Concerns without notes: a field error in the page.
    refused = interviewer.post(
        f"/staf/kasus/{application.reference}/",
        {
            "do": "interview",
            "interview-purpose_of_travel": "Tourism",
            "interview-originals_seen": "on",
            "interview-outcome": "concerns",
        },
    )
    assert refused.status_code == 200 and b"Write down the concerns" in refused.content
    interviewer.post(
        f"/staf/kasus/{application.reference}/",
        {
            "do": "interview",
            "interview-purpose_of_travel": "Tourism",
            "interview-identity_consistent": "on",
            "interview-originals_seen": "on",
            "interview-outcome": "consistent",
        },
    )
    application.refresh_from_db()
    assert application.status == Status.INTERVIEWED
    decision = rules.open_assignment(application, Duty.DECISION)
    assert decision is not None and decision.office == stage.other


def test_officer_messages_are_screened_and_the_office_head_reassigns_with_a_reason(
    settings: Any, tmp_path: Any
) -> None:
    stage = two_offices()
    application = paid_application(stage.home, settings, tmp_path)
    verifier = _english(staff_client(stage.staff["verifier"]))
    blocked = verifier.post(
        f"/staf/kasus/{application.reference}/", {"do": "message", "message-body": "Hubungi WA saya 0812-3456-7890 ya"}
    )
    assert blocked.status_code == 200 and b"Phone numbers cannot be sent" in blocked.content
    assert not Message.objects.filter(application=application).exists()
    assert BlockedMessage.objects.filter(application=application, author=stage.staff["verifier"]).exists()
    assert AuditEvent.objects.filter(action="channel.message_blocked").exists()
    verifier.post(
        f"/staf/kasus/{application.reference}/",
        {"do": "message", "message-body": "Please upload a sharper copy of your KTP."},
    )
    assert Message.objects.get(application=application).sender == "office"
    # The office head gives the verification to another verifier on duty, with a reason.
    from gerbang.accounts.models import Role
    from gerbang.conftest import build_staff
    from gerbang.duty.tests.support import on_duty

    second = build_staff(Role.DOCUMENT_VERIFIER, office=stage.home)
    on_duty(second, stage.home, Role.DOCUMENT_VERIFIER)
    head = _english(staff_client(stage.staff["head"]))
    held = Assignment.objects.get(application=application, duty=Duty.VERIFICATION, ended_at__isnull=True)
    page = head.get(f"/staf/kasus/{application.reference}/").content.decode()
    assert "Reassign" in page and second.full_name in page
    no_reason = head.post(
        f"/staf/kasus/{application.reference}/alihkan/",
        {"assignment": held.pk, f"r{held.pk}-officer": str(second.pk), f"r{held.pk}-reason": ""},
        follow=True,
    )
    assert b"Write the reason" in no_reason.content
    head.post(
        f"/staf/kasus/{application.reference}/alihkan/",
        {"assignment": held.pk, f"r{held.pk}-officer": str(second.pk), f"r{held.pk}-reason": "Verifier on leave"},
    )
    now_held = Assignment.objects.get(application=application, duty=Duty.VERIFICATION, ended_at__isnull=True)
    assert now_held.officer == second and now_held.assigned_by == stage.staff["head"]
    assert verifier.get(f"/staf/kasus/{application.reference}/").status_code == 404
    # The office head records booklets received; a bad line is a form error.
    bad = head.post(f"/staf/kantor/{stage.home.code}/kasus/", {"booklets": "BK1 C123"})
    assert bad.status_code == 200 and b"one letter and 7 digits" in bad.content
    head.post(f"/staf/kantor/{stage.home.code}/kasus/", {"booklets": "BK000201 C7654321\nBK000202 C7654322"})
    assert Booklet.objects.filter(office=stage.home, status="in_stock").count() == 2
