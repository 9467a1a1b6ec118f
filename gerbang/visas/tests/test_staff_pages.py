"""The visa staff pages over HTTP: the case page and its step forms, documents, the deny list, the catalogue,
stays, and the worklist's visa cases."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from gerbang.accounts.models import Role
from gerbang.applications.models import document_storage
from gerbang.audit.models import AuditEvent
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import Stage, two_offices
from gerbang.conftest import build_staff, build_user, staff_client
from gerbang.visas import actions
from gerbang.visas.models import DenyListEntry, Permit, Status, VisaApplication, VisaKind

from .support import company_sponsor, filed, foreigner, load_data, pay, sponsored

pytestmark = pytest.mark.django_db


@pytest.fixture
def stage() -> Stage:
    load_data()
    return two_offices(province_code="31")


def _english(client: Client) -> Client:
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _client(user: Any) -> Client:
    return _english(staff_client(user))


def _url(application: VisaApplication) -> str:
    return f"/staf/visa/kasus/{application.reference}/"


def _paid_case(stage: Stage, tmp_path: Any) -> VisaApplication:
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    application = filed(sponsor.account, person, "e23", stage.home)
    pay(application, tmp_path)
    assert application.status == Status.PAID
    return application


def _holder(application: VisaApplication, duty: str) -> Any:
    return Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True).officer


def test_the_drawn_verifier_sees_and_verifies_the_case_and_nobody_else_opens_it(stage: Stage, tmp_path: Any) -> None:
    application = _paid_case(stage, tmp_path)
    verifier = _client(stage.staff["verifier"])
    answer = verifier.get(_url(application))
    assert answer.status_code == 200
    page = answer.content.decode()
    person = application.foreigner
    assert person.full_name in page and person.passport_number in page
    assert "PT Nusantara Teknologi" in page and application.sponsor is not None and application.sponsor.nib in page
    assert "E23" in page and 'id="step-verify"' in page and "step-decide" not in page
    assert AuditEvent.objects.filter(
        action="visas.case_viewed", object_id=str(application.pk), actor=stage.staff["verifier"]
    ).exists()

    # Anyone not drawn for the case (same office, other roles, the adjudicators before the decision) gets 404.
    for name in ("interviewer", "front_desk", "adjudicator", "reviewer"):
        assert _client(stage.staff[name]).get(_url(application)).status_code == 404, name
    # A mistyped reference, or someone else's valid one, is the same 404.
    assert verifier.get("/staf/visa/kasus/VIS00000000000/").status_code == 404
    # The office head supervises the office's cases: they open it, with no step form.
    head_page = _client(stage.staff["head"]).get(_url(application)).content.decode()
    assert person.passport_number in head_page and "step-verify" not in head_page

    # Asking for documents needs the documents and a note: a field error, status 400, nothing changed.
    refused = verifier.post(_url(application), {"do": "verify", "verify-decision": "request", "verify-note": ""})
    assert refused.status_code == 400 and b"Choose the documents you need." in refused.content
    application.refresh_from_db()
    assert application.status == Status.PAID
    # A step the verifier does not hold is refused.
    assert verifier.post(_url(application), {"do": "decide"}).status_code == 404

    done = verifier.post(
        _url(application), {"do": "verify", "verify-decision": "accept", "verify-note": "Complete"}, follow=True
    )
    assert done.status_code == 200 and b"the case moved on" in done.content
    application.refresh_from_db()
    assert application.status == Status.VERIFIED
    # The verifier still opens the case they worked on, but no longer has a form.
    assert "step-verify" not in verifier.get(_url(application)).content.decode()


def test_verifier_asks_for_documents_through_the_page(stage: Stage, tmp_path: Any) -> None:
    application = _paid_case(stage, tmp_path)
    verifier = _client(stage.staff["verifier"])
    answer = verifier.post(
        _url(application),
        {
            "do": "verify",
            "verify-decision": "request",
            "verify-documents": ["employment_contract"],
            "verify-note": "The contract is not signed",
        },
    )
    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.DOCUMENTS_REQUESTED
    assert application.requested_documents == ["employment_contract"]


def test_adjudicator_refuses_only_with_a_legal_reason_and_the_reviewer_gets_the_review_form(
    stage: Stage, tmp_path: Any
) -> None:
    application = _paid_case(stage, tmp_path)
    actions.verify(application, actor=stage.officer("verifier"), accept=True, note="Complete")
    adjudicator_user = _holder(application, Duty.DECISION)
    adjudicator = _client(adjudicator_user)
    page = adjudicator.get(_url(application)).content.decode()
    assert 'id="step-decide"' in page

    no_reason = adjudicator.post(
        _url(application), {"do": "decide", "decide-outcome": "refuse", "decide-note": "Contract unsigned"}
    )
    assert no_reason.status_code == 400
    assert b"A refusal needs its legal reason." in no_reason.content
    assert b'id="id_decide-reason_error"' in no_reason.content
    application.refresh_from_db()
    assert application.status == Status.VERIFIED and not application.decisions.exists()

    proposed = adjudicator.post(
        _url(application),
        {
            "do": "decide",
            "decide-outcome": "refuse",
            "decide-reason": "false_information",
            "decide-note": "Contract unsigned",
        },
    )
    assert proposed.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.REFUSAL_PROPOSED
    decision = application.decisions.get()
    assert (decision.stage, decision.outcome, decision.reason) == ("decision", "refuse", "false_information")

    reviewer_user = _holder(application, Duty.REFUSAL_REVIEW)
    assert reviewer_user != adjudicator_user
    reviewer = _client(reviewer_user)
    review_page = reviewer.get(_url(application)).content.decode()
    assert 'id="step-review"' in review_page and "step-decide" not in review_page
    assert "Contract unsigned" in review_page  # the proposal's reasons are on the page
    # The proposer has no review form on their own refusal.
    assert "step-review" not in adjudicator.get(_url(application)).content.decode()
    # A review without reasons is a field error; with them the refusal is overturned and the permit issued.
    assert reviewer.post(_url(application), {"do": "review", "review-confirm": "0"}).status_code == 400
    overturned = reviewer.post(
        _url(application), {"do": "review", "review-confirm": "0", "review-note": "Signed on page 3"}
    )
    assert overturned.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.ISSUED and Permit.objects.filter(application=application).exists()


def test_the_document_link_streams_the_file_to_the_holder_only(stage: Stage, tmp_path: Any) -> None:
    application = _paid_case(stage, tmp_path)
    document = application.documents.filter(superseded_at__isnull=True).order_by("kind").first()
    assert document is not None
    url = f"{_url(application)}dokumen/{document.pk}/"
    verifier = _client(stage.staff["verifier"])
    assert url in verifier.get(_url(application)).content.decode()
    answer = verifier.get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == document.content_type == "image/jpeg"
    assert answer["Content-Disposition"].startswith("inline")
    with document_storage().open(document.stored_name, "rb") as fh:
        assert b"".join(answer.streaming_content) == fh.read()  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(
        action="visas.document_viewed", object_id=str(application.pk), details__document=document.pk
    ).exists()
    assert _client(stage.staff["interviewer"]).get(url).status_code == 404
    assert _client(stage.staff["adjudicator"]).get(url).status_code == 404
    # A document of another application, under this case's reference, is not found either.
    other = _paid_case(stage, tmp_path)
    foreign_doc = other.documents.first()
    assert foreign_doc is not None
    assert verifier.get(f"{_url(application)}dokumen/{foreign_doc.pk}/").status_code == 404


def test_the_worklist_lists_the_visa_case_for_its_holder(stage: Stage, tmp_path: Any) -> None:
    application = _paid_case(stage, tmp_path)
    page = _client(stage.staff["verifier"]).get("/staf/kasus/").content.decode()
    assert 'id="visa-worklist"' in page
    assert f'href="{_url(application)}"' in page and "Document verification" in page
    others = _client(stage.staff["interviewer"]).get("/staf/kasus/").content.decode()
    assert application.reference not in others and "No case is waiting for you." in others


def test_deny_list_maintainer_adds_and_removes_entries_with_reasons(stage: Stage) -> None:
    maintainer_user = build_staff(Role.DENY_LIST_MAINTAINER)
    maintainer = _client(maintainer_user)
    assert maintainer.get("/staf/visa/daftar-tangkal/").status_code == 200

    missing = maintainer.post(
        "/staf/visa/daftar-tangkal/",
        {"do": "add", "add-nationality": "NLD", "add-passport_number": "NX1234567", "add-reason": ""},
    )
    assert missing.status_code == 400 and b'id="id_add-reason_error"' in missing.content
    assert not DenyListEntry.objects.exists()
    neither = maintainer.post(
        "/staf/visa/daftar-tangkal/", {"do": "add", "add-nationality": "NLD", "add-reason": "Entry ban 1/2026"}
    )
    assert neither.status_code == 400 and b"Give the passport number" in neither.content

    added = maintainer.post(
        "/staf/visa/daftar-tangkal/",
        {"do": "add", "add-nationality": "nld", "add-passport_number": "nx1234567", "add-reason": "Entry ban 1/2026"},
    )
    assert added.status_code == 302
    entry = DenyListEntry.objects.get()
    assert (entry.nationality, entry.passport_number, entry.added_by) == ("NLD", "NX1234567", maintainer_user)
    assert "NX1234567" in maintainer.get("/staf/visa/daftar-tangkal/").content.decode()

    no_reason = maintainer.post(
        "/staf/visa/daftar-tangkal/", {"do": "remove", "entry": str(entry.pk), f"r{entry.pk}-reason": ""}
    )
    assert no_reason.status_code == 400 and f'id="id_r{entry.pk}-reason_error"'.encode() in no_reason.content
    entry.refresh_from_db()
    assert entry.removed_at is None
    removed = maintainer.post(
        "/staf/visa/daftar-tangkal/",
        {"do": "remove", "entry": str(entry.pk), f"r{entry.pk}-reason": "Ban lifted by decision 7/2026"},
    )
    assert removed.status_code == 302
    entry.refresh_from_db()
    assert entry.removed_at is not None and entry.removal_reason == "Ban lifted by decision 7/2026"
    assert "NX1234567" not in maintainer.get("/staf/visa/daftar-tangkal/").content.decode()
    assert AuditEvent.objects.filter(action="visas.deny_list_removed", object_id=str(entry.pk)).exists()
    # Removing it again, or a made-up entry, is not found.
    again = {"do": "remove", "entry": str(entry.pk), f"r{entry.pk}-reason": "Again"}
    assert maintainer.post("/staf/visa/daftar-tangkal/", again).status_code == 404

    adjudicator = _client(stage.staff["adjudicator"])
    assert adjudicator.get("/staf/visa/daftar-tangkal/").status_code == 404
    assert (
        adjudicator.post(
            "/staf/visa/daftar-tangkal/",
            {"do": "add", "add-nationality": "NLD", "add-passport_number": "NX7654321", "add-reason": "x"},
        ).status_code
        == 404
    )
    assert DenyListEntry.objects.count() == 1


def _catalogue_form(kind: VisaKind, **changes: Any) -> dict[str, Any]:
    import json

    data: dict[str, Any] = {
        "index_code": kind.index_code,
        "name_id": kind.name_id,
        "name_en": kind.name_en,
        "purpose_id": kind.purpose_id,
        "purpose_en": kind.purpose_en,
        "required_documents": list(kind.required_documents),
        "stay_days": kind.stay_days,
        "entry_within_days": kind.entry_within_days,
        "extensions": kind.extensions,
        "extension_days": kind.extension_days,
        "leads_to": kind.leads_to,
        "eligibility": json.dumps(kind.eligibility),
    }
    for flag in ("sponsor_required", "multiple_entry", "automatic", "is_active"):
        if getattr(kind, flag):
            data[flag] = "on"
    data.update(changes)
    return data


def test_system_admin_corrects_the_catalogue_with_a_reason_and_it_is_audited(stage: Stage) -> None:
    admin_user = build_staff(Role.SYSTEM_ADMIN)
    admin = _client(admin_user)
    listing = admin.get("/staf/visa/katalog/")
    assert listing.status_code == 200
    assert b"E23" in listing.content and b"Rp" in listing.content
    kind = VisaKind.objects.get(code="e23")
    url = f"/staf/visa/katalog/{kind.code}/"
    assert admin.get(url).status_code == 200

    no_reason = admin.post(url, _catalogue_form(kind, stay_days=180, reason=""))
    assert no_reason.status_code == 400 and b'id="id_reason_error"' in no_reason.content
    bad_json = admin.post(url, _catalogue_form(kind, eligibility="{passport_months: 6", reason="Regulation 2/2026"))
    assert bad_json.status_code == 400 and b"not valid JSON" in bad_json.content
    bad_key = admin.post(url, _catalogue_form(kind, eligibility='{"pasport_months": 6}', reason="Regulation 2/2026"))
    assert bad_key.status_code == 400 and b"pasport_months" in bad_key.content
    unchanged = admin.post(url, _catalogue_form(kind, reason="Regulation 2/2026"))
    assert unchanged.status_code == 400 and b"Nothing was changed." in unchanged.content
    kind.refresh_from_db()
    assert kind.stay_days == 365
    assert not AuditEvent.objects.filter(action="visas.kind_corrected").exists()

    corrected = admin.post(url, _catalogue_form(kind, stay_days=180, reason="Regulation 2/2026"), follow=True)
    assert corrected.status_code == 200
    kind.refresh_from_db()
    assert kind.stay_days == 180
    event = AuditEvent.objects.get(action="visas.kind_corrected", object_id=str(kind.pk))
    assert event.actor == admin_user and event.object_type == "visas.visakind"
    assert event.details["changes"] == {"stay_days": {"before": 365, "after": 180}}
    assert event.details["reason"] == "Regulation 2/2026"
    history = corrected.content.decode()
    assert "Regulation 2/2026" in history and "stay_days" in history

    for name in ("adjudicator", "head"):
        assert _client(stage.staff[name]).get("/staf/visa/katalog/").status_code == 404
        assert _client(stage.staff[name]).post(url, _catalogue_form(kind, stay_days=90, reason="x")).status_code == 404
    kind.refresh_from_db()
    assert kind.stay_days == 180


def test_stays_list_overstayers_of_the_officers_offices(stage: Stage, tmp_path: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="JPN", surname="TANAKA", given_names="HIRO", sex="M")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    permit = application.issued_permit
    shift = dt.timedelta(days=40)
    Permit.objects.filter(pk=permit.pk).update(
        issued_at=permit.issued_at - shift,
        valid_from=permit.valid_from - shift,
        valid_until=permit.valid_until - shift,
        enter_by=permit.enter_by - shift if permit.enter_by else None,
    )
    actions.record_movement(
        event_id="bc-stay-1",
        direction="entry",
        nationality=person.nationality,
        passport_number=person.passport_number,
        at=timezone.now() - dt.timedelta(days=35),
        port="CGK",
    )
    page = _client(stage.staff["verifier"]).get("/staf/visa/izin-tinggal/")
    assert page.status_code == 200
    text = page.content.decode()
    assert person.passport_number in text and "overstay" in text
    # The adjudicators' office has nothing to do with this stay; the deny-list maintainer sees no stays.
    assert (
        person.passport_number
        not in _client(stage.staff["adjudicator"]).get("/staf/visa/izin-tinggal/").content.decode()
    )
    assert _client(build_staff(Role.DENY_LIST_MAINTAINER)).get("/staf/visa/izin-tinggal/").status_code == 404


def test_a_citizen_sponsors_nik_is_masked_but_for_its_last_four_digits(stage: Stage, tmp_path: Any) -> None:
    from gerbang.identity.models import CitizenIdentity
    from gerbang.visas.models import Sponsor

    account = build_user(full_name="Budi Santoso")
    nik = "3173011203850007"
    CitizenIdentity.objects.create(
        account=account,
        status="active",
        nik=nik,
        kk="3173011001200002",
        name="Budi Santoso",
        birth_date=dt.date(1985, 3, 12),
        sex="M",
        relationship="head",
        registry_checked_at=timezone.now(),
        activated_at=timezone.now(),
    )
    sponsor = actions.register_sponsor(
        actor=account, kind=Sponsor.Kind.CITIZEN, name="", address="Jl. Melati 2, Jakarta"
    )
    person = sponsored(sponsor)
    application = filed(account, person, "e31", stage.home)
    pay(application, tmp_path)
    page = _client(stage.staff["head"]).get(_url(application)).content.decode()
    assert "Budi Santoso" in page and "************0007" in page
    assert nik not in page
