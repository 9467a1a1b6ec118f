"""The foreigners' and sponsors' pages over HTTP: a foreigner's own e-VoA from passport to PDF, a sponsor's E23,
who sees what (404 for anything else), follow-ups and fines on the foreigner's page, refusals with their legal
reason, and the public catalogue and permit check."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from gerbang.accounts.models import Role, User
from gerbang.applications import references
from gerbang.applications.tests.samples import jpeg_bytes
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import two_offices
from gerbang.conftest import build_staff, build_user
from gerbang.duty.tests.support import verified
from gerbang.payments.billing_codes import display as billing_display
from gerbang.visas import actions
from gerbang.visas.models import (
    Foreigner,
    OverstayFine,
    Permit,
    Purpose,
    Sponsor,
    Sponsorship,
    Status,
    VisaApplication,
    VisaKind,
)

from .support import company_sponsor, filed, foreigner, load_data, passport_lines, pay, sponsored

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.fixture
def stage() -> Any:
    load_data()
    return two_offices(province_code="31")


def client_for(user: User | None = None) -> Client:
    client = Client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def text(response: Any) -> str:
    return response.content.decode()


def passport_form(**changes: Any) -> dict[str, Any]:
    """What a person types from a passport's data page (a German passport by default)."""
    passport = {
        "surname": changes.pop("mrz_surname", "MUELLER"),
        "given_names": changes.pop("mrz_given_names", "ANNA MARIA"),
        "nationality": changes.pop("nationality", "D"),
        "sex": changes.pop("sex", "F"),
    }
    line1, line2, number = passport_lines(**passport)
    return {
        "line1": line1,
        "line2": line2,
        "surname": passport["surname"].title(),
        "given_names": passport["given_names"].title(),
        "birth_date": "1988-04-12",
        "passport_number": number,
    } | changes


def upload(client: Client, application: VisaApplication, kind: str, content: bytes | None = None) -> Any:
    url = reverse("visas:application", kwargs={"public_id": application.public_id})
    file = SimpleUploadedFile(f"{kind}.jpg", content if content is not None else jpeg_bytes(400, 300), "image/jpeg")
    return client.post(url, {"action": "upload", "kind": kind, "file": file})


def upload_all(client: Client, application: VisaApplication) -> None:
    for kind in application.kind.required_documents:
        answer = upload(client, application, kind)
        assert answer.status_code == 302, text(answer)


def holder(application: VisaApplication, duty: str) -> User:
    assignment = Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True)
    return verified(assignment.officer)


def test_a_foreigner_adds_their_passport_files_an_evoa_pays_and_downloads_it(stage: Any, tmp_path: Any) -> None:
    user = build_user(full_name="Anna Mueller")
    client = client_for(user)
    home = client.get(reverse("visas:home"))
    assert home.status_code == 200
    assert "I am a foreign national" in text(home) and "I sponsor a foreign national" in text(home)

    # A surname that differs from the MRZ: the form names the field, nothing is recorded.
    typed = passport_form()
    wrong = client.post(reverse("visas:add_foreigner"), typed | {"surname": "Miller"})
    assert wrong.status_code == 200
    page = text(wrong)
    assert 'id="id_surname_error"' in page
    assert "The surname does not match the passport&#x27;s machine-readable zone." in page
    assert not Foreigner.objects.exists()
    # Only a sponsor is asked whose passport it is: this is the account's own.
    assert 'name="who"' not in page and 'class="mrz"' in page

    added = client.post(reverse("visas:add_foreigner"), typed)
    assert added.status_code == 302
    person = Foreigner.objects.get(account=user)
    assert added["Location"] == reverse("visas:foreigner", kwargs={"public_id": person.public_id})
    profile = text(client.get(added["Location"]))
    assert person.passport_number in profile and "DEU" in profile
    assert str(actions.WHY_NOT["no_entry"]).replace("'", "&#x27;") in profile
    assert "Border control has reported no entry of this passport." in profile

    # Only the visas a foreigner may file alone are offered.
    new_url = reverse("visas:new_application", kwargs={"public_id": person.public_id})
    offer = text(client.get(new_url))
    assert 'id="kind-evoa"' in offer and 'id="kind-c1"' in offer
    assert 'id="kind-e23"' not in offer and 'id="kind-c2"' not in offer
    assert f"Rp{NBSP}500.000" in offer

    evoa = VisaKind.objects.get(code="evoa")
    arrival = (timezone.localdate() + dt.timedelta(days=14)).isoformat()
    past = client.post(new_url, {"kind": evoa.pk, "office": stage.home.pk, "intended_arrival": "2001-01-01"})
    assert past.status_code == 200 and 'id="id_intended_arrival_error"' in text(past)
    started = client.post(
        new_url, {"kind": evoa.pk, "office": stage.home.pk, "intended_arrival": arrival, "statement": "Holiday"}
    )
    assert started.status_code == 302
    application = VisaApplication.objects.get(foreigner=person)
    assert started["Location"] == reverse("visas:application", kwargs={"public_id": application.public_id})
    assert application.filer == user and application.sponsor is None and application.status == Status.DRAFT

    draft = text(client.get(started["Location"]))
    for kind in ("passport_page", "photo", "return_ticket"):
        assert f'id="document-{kind}"' in draft
    assert f"Rp{NBSP}500.000" in draft

    # An upload the content check refuses: the error stays beside its document.
    refused = upload(client, application, "passport_page", b"this is not an image")
    assert refused.status_code == 200
    assert 'id="id_passport_page_file_error"' in text(refused)
    assert not application.documents.exists()

    # Submitting before the documents are there, or without the declaration.
    early = client.post(started["Location"], {"action": "submit", "declaration": "on"})
    assert early.status_code == 200 and "Upload: Passport data page, Recent colour photo" in text(early)
    upload_all(client, application)
    undeclared = client.post(started["Location"], {"action": "submit"})
    assert undeclared.status_code == 200
    assert "Confirm that what you entered is true and complete." in text(undeclared)
    submitted = client.post(started["Location"], {"action": "submit", "declaration": "on"})
    assert submitted.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    bill = application.bills.get()
    status_page = text(client.get(started["Location"]))
    assert billing_display(bill.billing_code) in status_page
    assert "teller, ATM, mobile banking or card" in status_page
    assert f"Rp{NBSP}500.000" in status_page
    assert "Submitted; waiting for payment" in status_page

    # The filer sees the document they uploaded.
    document = application.documents.get(kind="photo")
    shown = client.get(
        reverse("visas:document", kwargs={"public_id": application.public_id, "document_id": document.pk})
    )
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"

    pay(application, tmp_path)
    assert application.status == Status.ISSUED
    permit = Permit.objects.get(application=application)
    issued = text(client.get(started["Location"]))
    assert permit.number in issued
    pdf_url = reverse("visas:permit_pdf", kwargs={"number": permit.number})
    assert pdf_url in issued

    pdf = client.get(pdf_url)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    content = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.content)).pages)
    assert permit.number in content

    # Nobody else gets the PDF, the document or the application.
    stranger = client_for(build_user())
    assert stranger.get(pdf_url).status_code == 404
    assert stranger.get(started["Location"]).status_code == 404
    assert stranger.get(reverse("visas:foreigner", kwargs={"public_id": person.public_id})).status_code == 404


def test_a_sponsor_registers_adds_a_foreigner_and_files_an_e23(stage: Any) -> None:
    user = build_user(full_name="HRD PT Maju Jaya")
    client = client_for(user)

    form_page = text(client.get(reverse("visas:register_sponsor")))
    # No NIK verified on this account: sponsoring as a citizen needs it first.
    assert reverse("identity:verify") in form_page

    company = {
        "kind": "company",
        "name": "PT Maju Jaya",
        "nib": "9120000123456",
        "npwp": "013000667091000",
        "address": "Jl. Thamrin 10, Jakarta",
    }
    bad = client.post(reverse("visas:register_sponsor"), company)
    assert bad.status_code == 200
    assert 'id="id_npwp_error"' in text(bad) and "not a valid NPWP" in text(bad)
    assert not Sponsor.objects.filter(account=user).exists()
    citizen = client.post(reverse("visas:register_sponsor"), company | {"kind": "citizen"})
    assert citizen.status_code == 200 and "Verify your NIK" in text(citizen)

    registered = client.post(reverse("visas:register_sponsor"), company | {"npwp": "01.300.066.6-091.000"})
    assert registered.status_code == 302
    sponsor = Sponsor.objects.get(account=user)
    assert sponsor.kind == "company" and sponsor.npwp == "013000666091000"

    typed = passport_form(mrz_surname="SILVA", mrz_given_names="JOAO", nationality="BRA", sex="M")
    missing = client.post(reverse("visas:add_foreigner"), typed | {"who": "sponsor", "relationship": ""})
    assert missing.status_code == 200 and 'id="id_relationship_error"' in text(missing)
    assert not Foreigner.objects.exists()
    added = client.post(reverse("visas:add_foreigner"), typed | {"who": "sponsor", "relationship": "employer"})
    assert added.status_code == 302
    person = Foreigner.objects.get(passport_number=typed["passport_number"])
    assert person.account is None
    assert Sponsorship.objects.get(foreigner=person).sponsor == sponsor

    new_url = reverse("visas:new_application", kwargs={"public_id": person.public_id})
    offer = text(client.get(new_url))
    assert 'id="kind-e23"' in offer and f"Rp{NBSP}3.000.000" in offer
    e23 = VisaKind.objects.get(code="e23")
    arrival = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    started = client.post(
        new_url, {"kind": e23.pk, "office": stage.home.pk, "intended_arrival": arrival, "statement": "Engineer"}
    )
    assert started.status_code == 302
    application = VisaApplication.objects.get(foreigner=person)
    assert application.sponsor == sponsor and application.kind == e23
    upload_all(client, application)
    assert client.post(started["Location"], {"action": "submit", "declaration": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert billing_display(application.bills.get().billing_code) in text(client.get(started["Location"]))

    home = text(client.get(reverse("visas:home")))
    assert "Joao Silva" in home and references.display(application.reference) in home

    # Another sponsor sees none of it, and changes nothing.
    other = company_sponsor()
    theirs = sponsored(other, surname="DOE", given_names="JANE", nationality="USA")
    intruder = client_for(other.account)
    uploaded = application.documents.first()
    assert uploaded is not None
    for url in (
        reverse("visas:foreigner", kwargs={"public_id": person.public_id}),
        new_url,
        started["Location"],
        reverse("visas:document", kwargs={"public_id": application.public_id, "document_id": uploaded.pk}),
    ):
        assert intruder.get(url).status_code == 404, url
    assert intruder.post(started["Location"], {"action": "withdraw"}).status_code == 404
    assert upload(intruder, application, "photo").status_code == 404
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED and application.documents.count() == 4
    their_home = text(intruder.get(reverse("visas:home")))
    assert (
        "Jane Doe" in their_home
        and "Joao Silva" not in their_home
        and references.display(application.reference) not in their_home
    )
    assert "Jane Doe" not in text(client.get(reverse("visas:home")))
    assert client.get(reverse("visas:foreigner", kwargs={"public_id": theirs.public_id})).status_code == 404


def test_the_foreigner_page_shows_the_stay_the_follow_ups_and_an_overstay_fine(stage: Any, tmp_path: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="AUS", surname="TAN", given_names="MEI", sex="F")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    permit = Permit.objects.get(application=application)
    actions.record_movement(
        event_id="bc-page-1",
        direction="entry",
        nationality="AUS",
        passport_number=person.passport_number,
        at=timezone.now(),
        port="DPS",
    )
    client = client_for(user)
    url = reverse("visas:foreigner", kwargs={"public_id": person.public_id})
    page = text(client.get(url))
    assert 'id="days-left"' in page and "29 days left" in page
    assert "DPS" in page
    # An e-VoA leads to a visit stay: no ITAS to register, but one extension.
    assert str(actions.WHY_NOT["not_a_limited_stay_visa"]) in page
    new_url = reverse("visas:new_application", kwargs={"public_id": person.public_id})
    follow = f"{new_url}?lanjutan=extension&amp;izin={permit.number}"
    assert follow in page

    extension_url = follow.replace("&amp;", "&")
    form = text(client.get(extension_url))
    assert "ITK" in form and f"Rp{NBSP}500.000" in form
    started = client.post(extension_url, {"office": stage.home.pk})
    assert started.status_code == 302
    extension = VisaApplication.objects.get(foreigner=person, purpose=Purpose.EXTENSION)
    assert extension.kind.code == "itk" and extension.permit == permit
    # With that open, no other follow-up is offered.
    assert "already has an open application" in text(client.get(url))
    client.post(started["Location"], {"action": "withdraw"})
    extension.refresh_from_db()
    assert extension.status == Status.WITHDRAWN

    # Leaving 40 days after the entry: 10 days over, fined at the exit, billed here.
    movement = person.movements.get()
    type(movement).objects.filter(pk=movement.pk).update(at=movement.at - dt.timedelta(days=40))
    actions.record_movement(
        event_id="bc-page-2",
        direction="exit",
        nationality="AUS",
        passport_number=person.passport_number,
        at=timezone.now(),
        port="DPS",
    )
    fine = OverstayFine.objects.get(foreigner=person)
    page = text(client.get(url))
    assert billing_display(fine.bill.billing_code) in page and "Waiting for payment" in page
    assert "Left Indonesia on" in page


def test_documents_asked_for_by_the_officer_are_shown_with_the_note_and_sent_again(stage: Any, tmp_path: Any) -> None:
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    application = filed(sponsor.account, person, "e23", stage.home)
    pay(application, tmp_path)
    actions.verify(
        application,
        actor=holder(application, Duty.VERIFICATION),
        accept=False,
        note="The contract is not signed on page 3.",
        documents=["employment_contract"],
    )
    client = client_for(sponsor.account)
    url = reverse("visas:application", kwargs={"public_id": application.public_id})
    page = text(client.get(url))
    assert "The contract is not signed on page 3." in page
    requested = page[page.index('id="document-employment_contract"') :]
    assert "requested by the officer" in requested[: requested.index("</div>")]
    assert "Submit again" in page

    early = client.post(url, {"action": "submit", "declaration": "on"})
    assert early.status_code == 200 and "Upload a new copy of" in text(early)
    assert upload(client, application, "employment_contract").status_code == 302
    assert client.post(url, {"action": "submit", "declaration": "on"}).status_code == 302
    application.refresh_from_db()
    assert application.status == Status.PAID and application.requested_documents == []
    # Once sent, the documents are fixed: an upload is refused with a message, nothing is stored.
    count = application.documents.count()
    late = client.post(url, {"action": "upload", "kind": "photo", "file": SimpleUploadedFile("p.jpg", jpeg_bytes())})
    assert late.status_code == 302
    assert "Documents can no longer be changed" in text(client.get(url))
    assert application.documents.count() == count


def test_a_refusal_shows_its_legal_reason_never_the_officer_and_can_be_appealed(stage: Any, tmp_path: Any) -> None:
    maintainer = verified(build_staff(Role.DENY_LIST_MAINTAINER))
    user = build_user()
    person = foreigner(user, own=True, nationality="NLD", surname="DEVRIES", given_names="JAN", sex="M")
    actions.add_to_deny_list(
        actor=maintainer, nationality="NLD", passport_number=person.passport_number, reason="Entry ban 12/2026"
    )
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    actions.verify(application, actor=holder(application, Duty.VERIFICATION), accept=True, note="Deny list hit")
    adjudicator = holder(application, Duty.DECISION)
    actions.decide(application, actor=adjudicator, outcome="refuse", note="Internal: ban 12/2026", reason="deny_list")
    reviewer = holder(application, Duty.REFUSAL_REVIEW)
    actions.review_refusal(application, actor=reviewer, confirm=True, note="Confirmed by the reviewer")

    client = client_for(user)
    url = reverse("visas:application", kwargs={"public_id": application.public_id})
    page = text(client.get(url))
    assert "Subject to an entry ban (deny list)" in page
    for secret in (adjudicator.full_name, reviewer.full_name, "Internal: ban 12/2026", "Deny list hit"):
        assert secret not in page
    assert 'id="appeal"' in page
    empty = client.post(url, {"action": "appeal", "grounds": ""})
    assert empty.status_code == 200 and 'id="id_grounds_error"' in text(empty)
    assert client.post(url, {"action": "appeal", "grounds": "The ban was lifted in May"}).status_code == 302
    application.refresh_from_db()
    assert application.status == Status.APPEALED
    appealed = text(client.get(url))
    assert "The ban was lifted in May" in appealed and 'id="appeal"' not in appealed


def test_the_public_check_says_valid_only_for_the_right_pair(stage: Any, tmp_path: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="JPN", surname="TANAKA", given_names="HIRO", sex="M")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    permit = Permit.objects.get(application=application)
    other = foreigner(build_user(), own=True, nationality="JPN", surname="SATO", given_names="KEN", sex="M")

    public = client_for()
    url = reverse("public:permit_verify")
    empty = public.get(url)
    assert empty.status_code == 200 and 'id="verdict"' not in text(empty)

    right = public.get(url, {"nomor": permit.number, "paspor": person.passport_number})
    assert right.status_code == 200
    page = text(right)
    assert "Valid: Gerbang issued this permit" in page
    assert "H*** T*****" in page and "Tanaka" not in page and "JPN (Japan)" in page
    assert "Electronic visa on arrival" in page
    typed = public.get(
        url, {"nomor": permit.number.lower()[:4] + " " + permit.number[4:], "paspor": person.passport_number}
    )
    assert "Valid: Gerbang issued this permit" in text(typed)

    for nomor, paspor in (
        (permit.number, other.passport_number),
        (permit.number[:-1] + str((int(permit.number[-1]) + 1) % 10), person.passport_number),
        ("V0000000", person.passport_number),
    ):
        wrong = public.get(url, {"nomor": nomor, "paspor": paspor})
        assert wrong.status_code == 404
        body = text(wrong)
        assert "No permit matches these two numbers." in body
        assert "Electronic visa on arrival" not in body and "H*** T*****" not in body

    half = public.get(url, {"nomor": permit.number})
    assert half.status_code == 200 and 'id="id_paspor_error"' in text(half) and 'id="verdict"' not in text(half)


def test_the_catalogue_lists_each_kind_with_its_fee_without_signing_in(stage: Any) -> None:
    page = client_for().get(reverse("public:visa_catalogue"))
    assert page.status_code == 200
    body = text(page)
    row = body[body.index('id="kind-e23"') :]
    row = row[: row.index("</tr>")]
    assert "E23" in row and "Limited-stay visa for workers" in row and f"Rp{NBSP}3.000.000" in row
    assert "Employment contract" in row
    assert 'id="kind-itas"' in body and "Stay permit" in body


def test_pages_need_an_applicant_account(stage: Any) -> None:
    anonymous = client_for()
    answer = anonymous.get(reverse("visas:home"))
    assert answer.status_code == 302 and answer["Location"].startswith(reverse("accounts:login"))
    sponsor = company_sponsor()
    person = sponsored(sponsor)
    assert anonymous.get(reverse("visas:foreigner", kwargs={"public_id": person.public_id})).status_code == 302


def test_a_foreign_national_creates_an_account_without_a_nik(client, django_capture_on_commit_callbacks) -> None:
    from django.core import mail

    from gerbang.accounts.models import User

    page = client.get("/visa/daftar/")
    assert page.status_code == 200
    data = {
        "full_name": "Anna Maria Mueller",
        "email": "anna@example.test",
        "password": "a-Long-passphrase-2026",
        "password_again": "a-Long-passphrase-2026",
        "language": "en",
    }
    bad = client.post("/visa/daftar/", {**data, "password_again": "different"})
    assert bad.status_code == 200 and "password_again" in bad.context["form"].errors
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/visa/daftar/", data)
    assert done.status_code == 200
    user = User.objects.get(email="anna@example.test")
    assert user.kind == User.Kind.APPLICANT and not user.identities.exists()
    assert any("anna@example.test" in m.to for m in mail.outbox)
    again = client.post("/visa/daftar/", data)
    assert "email" in again.context["form"].errors
