"""The mobile client's view: the same application through the JSON API with a bearer token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gerbang.accounts.actions import verify_email
from gerbang.accounts.models import ApiToken, User
from gerbang.applications import references
from gerbang.applications.models import PassportApplication
from gerbang.audit.models import AuditEvent
from gerbang.identity.tests.support import APPLICANT_PASSWORD, PUTRI_NIK, SITI

from .samples import gif_bytes, jpeg_bytes, pdf_bytes, png_bytes
from .support import load_demo_tariffs, upload

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, token: str = "") -> None:
        self.client = Client()
        self.headers = {"Accept-Language": "en"} | ({"Authorization": f"Bearer {token}"} if token else {})

    def get(self, path: str) -> Any:
        return self.client.get("/api/v1" + path, headers=self.headers)

    def post(self, path: str, body: Any = None) -> Any:
        return self.client.post("/api/v1" + path, body or {}, "application/json", headers=self.headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch("/api/v1" + path, body, "application/json", headers=self.headers)

    def upload(self, path: str, kind: str, file: Any) -> Any:
        return self.client.post("/api/v1" + path, {"kind": kind, "file": file}, headers=self.headers)


@pytest.fixture
def api(registry: Any) -> Api:
    load_demo_tariffs()
    anonymous = Api()
    created = anonymous.post(
        "/accounts/register",
        {
            "email": "siti@example.com",
            "password": APPLICANT_PASSWORD,
            "nik": SITI["nik"],
            "kk": SITI["kk"],
            "full_name": SITI["full_name"],
            "birth_date": SITI["birth_date"],
        },
    )
    assert created.status_code == 201, created.content
    # Before the e-mail is confirmed there is no token.
    early = anonymous.post("/auth/token", {"email": "siti@example.com", "password": APPLICANT_PASSWORD})
    assert early.status_code == 401
    verify_email(User.objects.get(email="siti@example.com"))
    token = anonymous.post("/auth/token", {"email": "siti@example.com", "password": APPLICANT_PASSWORD})
    assert token.status_code == 201
    return Api(token.json()["token"])


def test_the_whole_application_through_the_api(api: Api, office: Any) -> None:
    me = api.get("/me").json()
    assert me["identity"]["nik"] == SITI["nik"]
    assert [d["nik"] for d in me["identity"]["dependants"]] == [PUTRI_NIK, "3173010211190001"]

    created = api.post("/applications", {"applicant_nik": SITI["nik"], "kind": "renewal"})
    assert created.status_code == 201, created.content
    app = created.json()
    path = f"/applications/{app['id']}"
    assert app["status"] == "draft" and app["reference"] == ""
    assert app["required_documents"] == ["ktp", "old_passport"]
    assert set(app["missing"]) >= {"renewal_reason", "old_passport_number", "office", "documents.ktp"}

    bad = api.patch(path, {"validity_years": 7, "old_passport_number": "12"})
    assert bad.status_code == 422
    assert {d["loc"][-1] for d in bad.json()["detail"]} == {"validity_years"}
    bad_number = api.patch(path, {"old_passport_number": "12"})
    assert bad_number.status_code == 422 and bad_number.json()["detail"][0]["loc"] == ["body", "old_passport_number"]
    unknown_office = api.patch(path, {"office": "no-such-office"})
    assert unknown_office.status_code == 422 and unknown_office.json()["detail"][0]["loc"] == ["body", "office"]
    saved = api.patch(
        path,
        {
            "renewal_reason": "nearly_expired",
            "old_passport_number": "b 1234567",
            "office": office.code,
            "product": "regular",
            "validity_years": 10,
        },
    )
    assert saved.status_code == 200 and saved.json()["old_passport_number"] == "B1234567"

    fee = api.get(path + "/fee").json()
    assert fee["total"] == 650_000 and fee["items"][0]["service"] == "passport-regular-10y"

    refused = api.upload(path + "/documents", "ktp", upload("ktp.jpg", gif_bytes()))
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "file"
    not_needed = api.upload(path + "/documents", "police_report", upload("p.pdf", pdf_bytes()))
    assert not_needed.status_code == 422 and not_needed.json()["detail"][0]["loc"][-1] == "kind"
    early = api.post(path + "/submit", {"declaration": True})
    assert early.status_code == 422 and "documents" in {d["loc"][-1] for d in early.json()["detail"]}

    ktp = api.upload(path + "/documents", "ktp", upload("ktp.png", png_bytes()))
    old = api.upload(path + "/documents", "old_passport", upload("old.jpg", jpeg_bytes()))
    assert ktp.status_code == old.status_code == 201
    download = api.get(f"{path}/documents/{ktp.json()['id']}")
    assert download.status_code == 200 and download["Content-Type"] == "image/png"

    no_declaration = api.post(path + "/submit", {"declaration": False})
    assert no_declaration.status_code == 422 and no_declaration.json()["detail"][0]["loc"][-1] == "declaration"
    version = api.post(path + "/submit", {"declaration": True})
    assert version.status_code == 200, version.content
    assert version.json()["number"] == 1 and version.json()["fee"]["total"] == 650_000

    status = api.get(path + "/status").json()
    assert status["status"] == "submitted" and references.is_valid(status["reference"])
    assert [s["action"] for s in status["timeline"]] == ["create", "submit"]
    assert "working days" in status["service_standard"]
    indonesian = api.client.get("/api/v1" + path + "/status", headers=api.headers | {"Accept-Language": "id"}).json()
    assert "3 hari kerja" in indonesian["service_standard"] and indonesian["status_label"] != status["status_label"]
    assert api.get(path + "/versions/1").json()["content"]["old_passport_number"] == "B1234567"
    assert api.get(path + "/versions/2").status_code == 404
    changed = api.patch(path, {"express": True})
    assert changed.status_code == 422  # submitted: frozen

    withdrawn = api.post(path + "/withdraw", {"reason": "berubah rencana"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert api.post(path + "/withdraw", {}).status_code == 422
    listed = api.get("/applications").json()
    assert [a["status"] for a in listed] == ["withdrawn"]
    siti = User.objects.get(email="siti@example.com")
    assert AuditEvent.objects.filter(action="accounts.api_token_issued", actor=siti, object_id=str(siti.pk)).exists()


def test_minor_through_the_api_needs_consent_and_5_years(api: Api, office: Any) -> None:
    app = api.post("/applications", {"applicant_nik": PUTRI_NIK, "kind": "first"}).json()
    path = f"/applications/{app['id']}"
    assert app["applicant"]["minor"] is True and app["validity_years"] == 5
    assert api.patch(path, {"validity_years": 10}).status_code == 422
    api.patch(path, {"office": office.code})
    for kind, file in (("ktp", jpeg_bytes()), ("kk", pdf_bytes()), ("civil_record", png_bytes())):
        assert api.upload(path + "/documents", kind, upload("f", file)).status_code == 201
    no_consent = api.post(path + "/submit", {"declaration": True})
    assert no_consent.status_code == 422 and no_consent.json()["detail"][0]["loc"][-1] == "parental_consent"
    ok = api.post(path + "/submit", {"declaration": True, "parental_consent": True})
    assert ok.status_code == 200
    # Somebody else's NIK, or an adult's, cannot be filed for.
    stranger = api.post("/applications", {"applicant_nik": "3173011203840001", "kind": "first"})
    assert stranger.status_code == 422 and stranger.json()["detail"][0]["loc"][-1] == "applicant_nik"


def test_without_a_valid_token_nothing_is_seen(api: Api) -> None:
    app = api.post("/applications", {"applicant_nik": SITI["nik"], "kind": "first"}).json()
    assert Api().get("/applications").status_code == 401
    assert Api("not-a-token").get(f"/applications/{app['id']}").status_code == 401
    assert api.get("/applications/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/applications/not-a-uuid").status_code == 422
    # Without a token a write is 401 too (not a CSRF 403): the session applies only to a signed-in browser.
    assert Api().post("/applications", {"applicant_nik": SITI["nik"], "kind": "first"}).status_code == 401
    # Malformed bodies are clear 4xx answers in JSON, never silently "every field left out".
    path = f"/applications/{app['id']}"
    assert api.post(path + "/withdraw", [None, None]).status_code == 400
    assert api.patch(path, {"police_report_date": 0}).status_code == 422
    assert api.get("/tariffs?on=0").status_code == 422
    broken = api.client.post(
        "/api/v1" + path + "/documents", b"x", content_type="multipart/form-data", headers=api.headers
    )
    assert broken.status_code == 400 and broken.json()["detail"][0]["loc"] == ["body"]
    assert PassportApplication.objects.get(public_id=app["id"]).status == "draft"
    # Signing out revokes the token.
    assert api.client.delete("/api/v1/auth/token", headers=api.headers).status_code == 204
    assert api.get("/applications").status_code == 401
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 1


def test_repeated_wrong_passwords_lock_the_token_endpoint_with_a_json_429(api: Api, settings: Any) -> None:
    anonymous = Api()
    answers = [
        anonymous.post("/auth/token", {"email": "siti@example.com", "password": "wrong"})
        for _ in range(settings.AXES_FAILURE_LIMIT + 1)
    ]
    assert answers[0].status_code == 401
    locked = answers[-1]
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0 and "Too many" in locked.json()["detail"]
    # Even the right password waits now.
    assert (
        anonymous.post("/auth/token", {"email": "siti@example.com", "password": APPLICANT_PASSWORD}).status_code == 429
    )
