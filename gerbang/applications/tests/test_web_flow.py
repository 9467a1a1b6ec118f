"""The passport application through its pages, as a browser without JavaScript uses them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from PIL import Image

from gerbang.applications import references
from gerbang.applications.models import ApplicationVersion, Document, PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id
from gerbang.identity.tests.support import PUTRI_NIK, SITI, signed_in_citizen

from .samples import gif_bytes, jpeg_bytes, pdf_bytes
from .support import fill_in, load_demo_tariffs, start, step_url, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def siti(registry: Any, django_capture_on_commit_callbacks: Any) -> Client:
    load_demo_tariffs()
    client, _user = signed_in_citizen(SITI, "siti@example.test", django_capture_on_commit_callbacks)
    return client


def test_a_resident_files_for_herself_sees_the_itemised_fee_submits_and_follows_the_status(
    siti: Client, office: Any
) -> None:
    mark = last_audit_id()
    application = start(siti, SITI["nik"])
    # Each step saves the draft: the answers are there before submission.
    fill_in(siti, application, office=office, passport={"express": "on"})
    application.refresh_from_db()
    assert (application.status, application.product, application.validity_years, application.express) == (
        "draft",
        "electronic",
        10,
        True,
    )
    review = siti.get(step_url(application, "review"))
    html = review.content.decode()
    # Itemised fee from the tariffs in force: e-passport 10 years and the express service.
    assert "950.000" in html and "1.000.000" in html and "1.950.000" in html
    assert "PP 45/2024" in html

    submitted = siti.post(step_url(application, "review"), {"declaration": "on"})
    assert submitted.status_code == 302 and submitted["Location"] == f"/permohonan/{application.public_id}/"
    application.refresh_from_db()
    assert application.status == "submitted" and references.is_valid(application.reference)
    version = ApplicationVersion.objects.get(application=application)
    assert version.number == 1 and version.fee["total"] == 1_950_000
    assert [d["kind"] for d in version.documents] == ["civil_record", "kk", "ktp"]
    assert version.content["applicant"]["nik"] == SITI["nik"]

    status = siti.get(f"/permohonan/{application.public_id}/").content.decode()
    assert references.display(application.reference) in status
    assert "3 hari kerja" in status  # the service standard, in Indonesian by default
    english = siti.get(f"/permohonan/{application.public_id}/", headers={"accept-language": "en"}).content.decode()
    assert "3 working days" in english and "Timeline" in english and "Riwayat proses" in status
    assert status.count("<li><time datetime=") == 2  # the timeline: created, submitted
    # No bill yet: it is issued when a slot is allocated (gerbang/appointments), with the fee frozen here.
    assert not application.bills.exists() and "ask for an appointment" in english

    # Every step is in the audit log, with what changed but not the personal data itself.
    actions = list(
        AuditEvent.objects.filter(
            object_type="applications.passportapplication", object_id=str(application.pk), id__gt=mark
        )
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions[0] == "applications.draft_created" and actions[-1] == "applications.submit"
    assert actions.count("applications.document_uploaded") == 3 and "applications.draft_updated" in actions
    assert not AuditEvent.objects.filter(object_id=str(application.pk), details__icontains=SITI["nik"]).exists()


def test_uploaded_images_lose_their_metadata_and_are_served_only_to_their_owner(siti: Client, office: Any) -> None:
    application = start(siti, SITI["nik"])
    fill_in(siti, application, office=office)
    ktp = Document.objects.get(application=application, kind="ktp")
    mark = last_audit_id()
    assert "/" in ktp.stored_name and not ktp.stored_name.endswith("ktp.jpg")  # a random name, not the upload's
    response = siti.get(f"/permohonan/{application.public_id}/dokumen/{ktp.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert "sandbox" in response["Content-Security-Policy"]
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    from io import BytesIO

    assert not Image.open(BytesIO(body)).getexif()  # the GPS position is gone
    viewed = AuditEvent.objects.filter(action="applications.document_viewed", id__gt=mark)
    assert list(viewed.values_list("details__document", "actor_id")) == [(ktp.pk, application.filer_id)]
    # Someone else gets "not found", exactly as for a document that does not exist.
    stranger = Client()
    stranger.force_login(application.filer.__class__.objects.create_user(email="x@example.test", password="x"))
    assert stranger.get(f"/permohonan/{application.public_id}/dokumen/{ktp.pk}/").status_code == 404
    assert stranger.get(f"/permohonan/{application.public_id}/").status_code == 404
    assert Client().get(f"/permohonan/{application.public_id}/dokumen/{ktp.pk}/").status_code == 302


def test_bad_uploads_get_clear_errors_and_good_ones_in_the_same_post_are_kept(
    siti: Client, office: Any, settings: Any
) -> None:
    application = start(siti, SITI["nik"])
    response = siti.post(
        step_url(application, "documents"),
        {
            "upload": "1",
            "ktp": upload("ktp.jpg", gif_bytes(), "image/jpeg"),  # a GIF named .jpg
            "kk": upload("kk.pdf", pdf_bytes(encrypt_password="rahasia"), "application/pdf"),
            "civil_record": upload("akta.jpg", jpeg_bytes(), "image/jpeg"),
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "JPEG, PNG" in " ".join(errors["ktp"])
    assert "password" in " ".join(errors["kk"]).lower() or "kata sandi" in " ".join(errors["kk"]).lower()
    assert "civil_record" not in errors
    assert list(Document.objects.filter(application=application).values_list("kind", flat=True)) == ["civil_record"]
    html = response.content.decode()
    assert 'class="error-summary"' in html and 'href="#id_ktp"' in html

    settings.DOCUMENT_MAX_BYTES = 10_000
    big = siti.post(step_url(application, "documents"), {"upload": "1", "ktp": upload("k.jpg", jpeg_bytes(2000, 1500))})
    assert "larger than" in " ".join(big.context["form"].errors["ktp"]) or "lebih besar" in " ".join(
        big.context["form"].errors["ktp"]
    )
    # Continuing with documents missing names them.
    settings.DOCUMENT_MAX_BYTES = 5 * 1024 * 1024
    missing = siti.post(step_url(application, "documents"), {"continue": "1"})
    assert missing.status_code == 200 and set(missing.context["form"].errors) == {"ktp", "kk"}


def test_a_parent_files_for_a_minor_with_consent_and_5_years_only(siti: Client, office: Any) -> None:
    application = start(siti, PUTRI_NIK)
    assert application.applicant_minor and application.for_dependant
    siti.post(step_url(application, "kind"), {"kind": "first"})
    ten = siti.post(
        step_url(application, "passport"), {"product": "regular", "validity_years": 10, "office": office.pk}
    )
    assert ten.status_code == 200 and ten.context["form"].errors["validity_years"]
    fill_in(siti, application, office=office, passport={"product": "regular", "validity_years": 5})
    no_consent = siti.post(step_url(application, "review"), {"declaration": "on"})
    assert no_consent.status_code == 200 and no_consent.context["form"].errors["parental_consent"]
    ok = siti.post(step_url(application, "review"), {"declaration": "on", "parental_consent": "on"})
    assert ok.status_code == 302
    application.refresh_from_db()
    assert application.status == "submitted" and application.parental_consent_at is not None
    assert application.versions.get().fee["total"] == 350_000
    # Both applications show on the account page.
    other = start(siti, SITI["nik"])
    home = siti.get("/akun/").content.decode()
    assert "Putri Ayu Lestari" in home and str(other.public_id) in home


def test_one_open_application_per_person_and_withdrawal_frees_it(siti: Client, office: Any) -> None:
    mark = last_audit_id()
    application = start(siti, SITI["nik"])
    again = siti.post("/permohonan/paspor/baru/", {"applicant_nik": SITI["nik"], "kind": "first"})
    assert again.status_code == 200 and again.context["form"].errors["applicant_nik"]
    fill_in(siti, application, office=office)
    siti.post(step_url(application, "review"), {"declaration": "on"})
    confirm = siti.get(f"/permohonan/{application.public_id}/tarik/")
    assert confirm.status_code == 200
    done = siti.post(f"/permohonan/{application.public_id}/tarik/", {"reason": "salah kantor"})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == "withdrawn" and application.withdrawn_at is not None
    assert siti.post(f"/permohonan/{application.public_id}/tarik/", {}).status_code == 302  # no second withdrawal
    assert (
        AuditEvent.objects.filter(action="applications.withdraw", object_id=str(application.pk), id__gt=mark).count()
        == 1
    )
    start(siti, SITI["nik"])  # a new one is allowed


def test_a_lost_passport_needs_the_police_report_and_pays_the_replacement(siti: Client, office: Any) -> None:
    application = start(siti, SITI["nik"], kind="lost")
    missing = siti.post(step_url(application, "kind"), {"kind": "lost"})
    assert set(missing.context["form"].errors) == {"police_report_number", "police_report_date"}
    fill_in(
        siti,
        application,
        office=office,
        kind={"kind": "lost", "police_report_number": "LP/123/XI/2026/Polsek", "police_report_date": "2026-11-01"},
        passport={"product": "regular", "validity_years": 5},
    )
    assert Document.objects.filter(application=application, kind="police_report").exists()
    siti.post(step_url(application, "review"), {"declaration": "on"})
    fee = ApplicationVersion.objects.get(application=application).fee
    assert [i["service"] for i in fee["items"]] == ["passport-regular-5y", "passport-replace-lost"]
    assert fee["total"] == 1_350_000


def test_an_officer_request_creates_a_new_version_and_the_first_stays_readable(
    siti: Client, office: Any, make_staff: Any, settings: Any, tmp_path: Any
) -> None:
    from gerbang.conftest import staff_client
    from gerbang.duty.tests.support import on_duty
    from gerbang.payments.actions import issue_bill
    from gerbang.payments.tests.support import make_bank, notification, send

    application = start(siti, SITI["nik"])
    fill_in(siti, application, office=office)
    siti.post(step_url(application, "review"), {"declaration": "on"})
    application.refresh_from_db()
    mark = last_audit_id()
    verifier = make_staff("document_verifier", office=office)
    officer = staff_client(verifier)
    # Before payment no officer holds the case: the verifier on duty is drawn when the bank proves payment.
    assert officer.get(f"/staf/permohonan/{application.reference}/").status_code == 404
    on_duty(verifier, office, "document_verifier")
    with transaction.atomic():
        fee = application.versions.get().fee
        bill = issue_bill(
            application=application, payer_name="Siti", items=fee["items"], service="passport", actor=None
        )
    settings.BANK_SECRETS_DIR = tmp_path / "banks"
    bank, secret = make_bank(settings.BANK_SECRETS_DIR)
    assert send(Client(), bank, secret, notification(bill, bank)).json() == {"status": "credited"}
    page = officer.get(f"/staf/permohonan/{application.reference}/")
    html = page.content.decode()
    assert page.status_code == 200 and "317301******0001" in html
    assert SITI["nik"] not in html and "siti@example.test" not in html  # masked NIK, no e-mail
    asked = officer.post(f"/staf/permohonan/{application.reference}/", {"kinds": ["ktp"], "note": "Foto KTP buram"})
    assert asked.status_code == 302
    application.refresh_from_db()
    assert application.status == "documents_requested"

    # Without a new KTP the applicant cannot resubmit; with it, version 2.
    refused = siti.post(step_url(application, "review"), {"declaration": "on"})
    assert refused.status_code == 200 and refused.context["form"].non_field_errors()
    siti.post(step_url(application, "documents"), {"upload": "1", "ktp": upload("k2.png", jpeg_bytes(800, 500))})
    again = siti.post(step_url(application, "review"), {"declaration": "on"})
    assert again.status_code == 302
    v1, v2 = ApplicationVersion.objects.filter(application=application).order_by("number")
    assert v2.number == 2 and v1.documents != v2.documents
    assert siti.get(f"/permohonan/{application.public_id}/versi/1/").status_code == 200

    # Frozen in the database, not only in the code.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE applications_applicationversion SET reason = 'x' WHERE id = %s", [v1.pk])
    v1.refresh_from_db()
    assert v1.reason == "submitted"

    # An officer of another office sees nothing.
    from gerbang.conftest import build_office

    elsewhere = staff_client(make_staff("document_verifier", office=build_office()))
    assert elsewhere.get(f"/staf/permohonan/{application.reference}/").status_code == 404
    assert AuditEvent.objects.filter(action="applications.viewed_by_officer", actor=verifier, id__gt=mark).exists()


def test_reference_numbers_detect_every_single_digit_typo_and_adjacent_swap() -> None:
    for _ in range(50):
        reference = references.new_reference()
        assert references.is_valid(reference) and references.is_valid(references.display(reference))
        digits = reference[3:]
        for i, ch in enumerate(digits):
            for other in "0123456789":
                if other != ch:
                    assert not references.is_valid("PAS" + digits[:i] + other + digits[i + 1 :])
            if i + 1 < len(digits) and ch != digits[i + 1]:
                swapped = digits[:i] + digits[i + 1] + ch + digits[i + 2 :]
                assert not references.is_valid("PAS" + swapped)
    assert not PassportApplication.objects.exists()
