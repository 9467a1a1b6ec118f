"""Registration binds an account to a NIK only when the real (sandbox) registry confirms it, over signed HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from gerbang.accounts.models import Role, User
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff, grant, last_audit_id, staff_client
from gerbang.identity.actions import nik_digest
from gerbang.identity.models import CitizenIdentity, Dependant, OfficeIdentityCheck, mask_nik

from .support import ANDI, APPLICANT_PASSWORD, BUDI, PUTRI_NIK, RIZKY_NIK, SITI, register, signed_in_citizen

pytestmark = pytest.mark.django_db


def ENGLISH() -> Client:
    """A browser that asks for English pages (Indonesian is the default)."""
    return Client(headers={"accept-language": "en"})


def test_a_resident_registers_with_nik_kk_name_and_birth_date_and_gets_their_minors(
    registry: Any, django_capture_on_commit_callbacks: Any
) -> None:
    mark = last_audit_id()
    client, user = signed_in_citizen(
        SITI | {"full_name": "  siti   RAHAYU "}, "siti@example.test", django_capture_on_commit_callbacks
    )
    identity = CitizenIdentity.objects.get(account=user)
    assert identity.status == "active" and identity.nik == SITI["nik"] and identity.kk == SITI["kk"]
    # The registry's spelling of the name wins over what was typed.
    assert user.full_name == "Siti Rahayu" and identity.relationship == "wife"
    assert sorted(Dependant.objects.filter(guardian=identity).values_list("nik", flat=True)) == sorted(
        [PUTRI_NIK, RIZKY_NIK]
    )
    home = client.get("/akun/").content.decode()
    assert SITI["nik"] in home  # the owner sees the whole NIK
    assert "Putri Ayu Lestari" in home and "Rizky Pratama Santoso" in home
    events = AuditEvent.objects.filter(object_type="identity.citizenidentity", object_id=str(identity.pk), id__gt=mark)
    assert list(events.values_list("action", flat=True)) == ["identity.bound"]
    assert SITI["nik"] not in str(events.get().details)  # a keyed digest, never the NIK itself


@pytest.mark.parametrize(
    "change",
    [
        {"kk": "3173011001200002"},  # someone else's card
        {"full_name": "Siti Rahmawati"},
        {"nik": "3173015708870002"},  # a valid NIK that does not exist
    ],
)
def test_a_stranger_who_knows_only_some_details_cannot_register(registry: Any, change: dict[str, str]) -> None:
    before = User.objects.count()
    mark = last_audit_id()
    response = register(Client(), SITI | change, "stranger@example.test")  # Indonesian, the default
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert any("Registri kependudukan tidak mengonfirmasi" in e for e in errors)
    english = register(ENGLISH(), SITI | change, "stranger@example.test")
    assert any("population registry does not confirm" in e for e in english.context["form"].non_field_errors())
    assert User.objects.count() == before and not mail.outbox
    nik = (SITI | change)["nik"]
    refused = AuditEvent.objects.filter(action="identity.registry_refused", details__nik_digest=nik_digest(nik))
    assert refused.filter(id__gt=mark).count() == 2  # the Indonesian and the English attempt


def test_nik_is_checked_with_stdnum_before_anyone_is_asked(registry: Any) -> None:
    mark = last_audit_id()
    bad_region = register(ENGLISH(), SITI | {"nik": "9973015708870001"}, "a@example.test")
    assert "not a valid NIK" in " ".join(bad_region.context["form"].errors["nik"])
    short = register(ENGLISH(), SITI | {"nik": "31730157"}, "a@example.test")
    assert "16 digits" in " ".join(short.context["form"].errors["nik"])
    # Day 57 is a woman born on the 17th: a male-looking date that differs is refused before the registry.
    wrong_date = register(ENGLISH(), SITI | {"birth_date": "1987-08-18"}, "a@example.test")
    assert wrong_date.context["form"].errors["birth_date"]
    assert not AuditEvent.objects.filter(action="identity.registry_refused", id__gt=mark).exists()


def test_a_registry_that_is_down_or_not_trusted_saves_nothing(registry: Any, settings: Any, tmp_path: Any) -> None:
    settings.REGISTRY_URL = "http://127.0.0.1:9"
    response = register(ENGLISH(), ANDI, "andi@example.test")
    assert "cannot be reached" in " ".join(response.context["form"].non_field_errors())
    assert not User.objects.filter(email="andi@example.test").exists()

    # A registry answer signed with a key Gerbang does not trust is not believed.
    from signedhttp import generate_keypair

    generate_keypair("registry", tmp_path / "other")
    settings.REGISTRY_URL = registry.url
    settings.REGISTRY_PUBLIC_KEY_FILE = tmp_path / "other" / "registry.pub"
    response = register(ENGLISH(), ANDI, "andi@example.test")
    assert "cannot be reached" in " ".join(response.context["form"].non_field_errors())
    assert not User.objects.filter(email="andi@example.test").exists()


def test_registration_over_the_api(registry: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = ENGLISH()
    body = {k: v for k, v in ANDI.items()} | {"email": "andi@example.com", "password": APPLICANT_PASSWORD}
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/accounts/register", body, "application/json")
    assert created.status_code == 201, created.content
    assert created.json()["identity"]["status"] == "active" and created.json()["identity"]["nik"] == ANDI["nik"]
    assert created.json()["identity"]["dependants"] == []
    bad = client.post("/api/v1/accounts/register", body | {"email": "x@example.com", "nik": "1234"}, "application/json")
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "nik"
    refused = client.post(
        "/api/v1/accounts/register", body | {"email": "y@example.com", "full_name": "Andi W"}, "application/json"
    )
    assert refused.status_code == 422 and "does not confirm" in refused.json()["detail"][0]["msg"]


def test_a_claimed_nik_is_settled_at_an_office_and_the_earlier_account_is_suspended(
    registry: Any, office: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Someone (a broker with Budi's documents) registers Budi first.
    _broker_client, broker = signed_in_citizen(BUDI, "calo@example.test", django_capture_on_commit_callbacks)
    # The real Budi registers: not a dead end, a pending claim with a code to show at an office.
    budi_client, budi = signed_in_citizen(BUDI, "budi@example.test", django_capture_on_commit_callbacks)
    claim = CitizenIdentity.objects.get(account=budi)
    assert claim.status == "pending_office_check" and claim.claim_code
    assert claim.claim_code in budi_client.get("/akun/").content.decode()
    # A pending claim cannot apply.
    assert budi_client.get("/permohonan/paspor/baru/")["Location"] == "/akun/identitas/verifikasi/"

    officer = build_staff(home=office)
    grant(officer, Role.FRONT_DESK, office=office)
    client = staff_client(officer)
    url = f"/staf/identitas/klaim/?claim_code={claim.claim_code.replace('-', '').lower()}"
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert mask_nik(BUDI["nik"]) in html and BUDI["nik"] not in html  # the officer sees the NIK masked
    assert "data:image/png;base64," in html  # the registry photo, fetched over signed HTTP
    assert "calo@example.test" not in html and "budi@example.test" not in html

    # Typing a different NIK than the one on the card, or no face match, is refused and changes nothing.
    wrong = client.post(
        url,
        {
            "office": office.pk,
            "document_number": SITI["nik"],
            "face_matches": "on",
            "decision": "confirm",
            "note": "KTP asli",
        },
    )
    assert wrong.status_code == 200 and wrong.context["settle"].errors["document_number"]
    no_face = client.post(
        url, {"office": office.pk, "document_number": BUDI["nik"], "decision": "confirm", "note": "KTP asli"}
    )
    assert no_face.context["settle"].errors["face_matches"]
    claim.refresh_from_db()
    assert claim.status == "pending_office_check"

    done = client.post(
        url,
        {
            "office": office.pk,
            "document_number": BUDI["nik"],
            "face_matches": "on",
            "decision": "confirm",
            "note": "e-KTP asli diperiksa, wajah cocok",
        },
    )
    assert done.status_code == 302
    claim.refresh_from_db()
    broker.refresh_from_db()
    earlier = CitizenIdentity.objects.get(account=broker)
    assert claim.status == "active" and earlier.status == "superseded" and not broker.is_active
    check = OfficeIdentityCheck.objects.get(claim=claim)
    assert check.officer == officer and check.office == office and check.superseded == earlier
    actions = set(AuditEvent.objects.filter(actor=officer).values_list("action", flat=True))
    assert {
        "identity.claim_viewed",
        "identity.claim_confirmed_at_office",
        "identity.superseded",
        "accounts.suspended",
    } <= actions
    # The suspended broker account cannot sign in any more; Budi can apply.
    assert (
        Client().post("/akun/masuk/", {"username": "calo@example.test", "password": APPLICANT_PASSWORD}).status_code
        == 200
    )
    assert budi_client.get("/permohonan/paspor/baru/").status_code == 200


def test_only_counter_officers_and_office_heads_settle_claims(registry: Any, office: Any) -> None:
    verifier = build_staff(home=office)
    grant(verifier, Role.DOCUMENT_VERIFIER, office=office)
    assert staff_client(verifier).get("/staf/identitas/klaim/").status_code == 404
    assert Client().get("/staf/identitas/klaim/").status_code == 302


def test_an_account_without_a_nik_binds_one_later(registry: Any) -> None:
    from gerbang.conftest import build_user

    user = build_user(full_name="Andi")
    client = Client()
    client.force_login(user)
    assert client.get("/permohonan/paspor/baru/")["Location"] == "/akun/identitas/verifikasi/"
    bad = client.post("/akun/identitas/verifikasi/", ANDI | {"kk": "3578012010200009"})
    assert bad.status_code == 200 and bad.context["form"].non_field_errors()
    ok = client.post("/akun/identitas/verifikasi/", ANDI)
    assert ok.status_code == 302
    assert CitizenIdentity.objects.get(account=user).status == "active"
    assert client.get("/permohonan/paspor/baru/").status_code == 200
