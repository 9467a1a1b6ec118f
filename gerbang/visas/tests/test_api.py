"""Visas in the JSON API: the public catalogue and permit check, and the caller's own applications (bearer token)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from gerbang.accounts.actions import issue_api_token
from gerbang.accounts.models import Role, User
from gerbang.casework.models import Assignment, Duty
from gerbang.casework.tests.support import two_offices
from gerbang.conftest import build_staff, build_user
from gerbang.duty.tests.support import verified
from gerbang.visas import actions
from gerbang.visas.models import Permit, Status, VisaApplication

from .support import company_sponsor, filed, foreigner, load_data, pay, sponsored

pytestmark = pytest.mark.django_db


class Api:
    def __init__(self, user: User | None = None) -> None:
        self.client = Client()
        self.headers = {"Accept-Language": "en"}
        if user is not None:
            raw, _token = issue_api_token(user)
            self.headers["Authorization"] = f"Bearer {raw}"

    def get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return self.client.get("/api/v1/visas" + path, params or {}, headers=self.headers)

    def post(self, path: str, body: Any) -> Any:
        return self.client.post("/api/v1/visas" + path, body, "application/json", headers=self.headers)


@pytest.fixture
def stage() -> Any:
    load_data()
    return two_offices(province_code="31")


def holder(application: VisaApplication, duty: str) -> User:
    assignment = Assignment.objects.get(visa_application=application, duty=duty, ended_at__isnull=True)
    return verified(assignment.officer)


def test_the_catalogue_is_public_with_the_fee_in_force(stage: Any) -> None:
    answer = Api().get("/catalogue")
    assert answer.status_code == 200
    kinds = {k["code"]: k for k in answer.json()}
    assert kinds["e23"]["index_code"] == "E23" and kinds["e23"]["fee"] == 3_000_000
    assert kinds["e23"]["sponsor_required"] is True and kinds["e23"]["category"] == "visa"
    assert "employment_contract" in [d["code"] for d in kinds["e23"]["required_documents"]]
    assert kinds["evoa"]["fee"] == 500_000 and kinds["evoa"]["sponsor_required"] is False
    assert kinds["itas"]["category"] == "stay_permit" and kinds["itas"]["extensions"] == 4


def test_the_caller_sees_only_their_own_applications(stage: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="AUS", surname="TAN", given_names="MEI")
    mine = filed(user, person, "evoa", stage.home, submit=False)
    sponsor = company_sponsor()
    theirs = filed(sponsor.account, sponsored(sponsor), "e23", stage.home)

    assert Api().get("/applications").status_code == 401
    listed = Api(user).get("/applications")
    assert listed.status_code == 200
    assert [a["id"] for a in listed.json()] == [str(mine.public_id)]
    assert [a["id"] for a in Api(sponsor.account).get("/applications").json()] == [str(theirs.public_id)]

    assert Api(user).get(f"/applications/{theirs.public_id}").status_code == 404
    assert Api(user).post(f"/applications/{theirs.public_id}/submit", {"declaration": True}).status_code == 404
    assert Api(user).get("/applications/not-a-uuid").status_code == 422


def test_detail_and_submit(stage: Any, tmp_path: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="JPN", surname="TANAKA", given_names="HIRO", sex="M")
    application = filed(user, person, "evoa", stage.home, submit=False)
    api = Api(user)
    path = f"/applications/{application.public_id}"

    draft = api.get(path).json()
    assert draft["status"] == "draft" and draft["reference"] == "" and draft["bill"] is None
    assert draft["kind"] == "evoa" and draft["purpose"] == "visa" and draft["office"] == stage.home.code
    assert draft["uploaded_documents"] == sorted(draft["required_documents"])
    assert set(draft["allowed_actions"]) == {"submit", "withdraw"}
    assert draft["next_step"].startswith("Complete the application")

    refused = api.post(f"{path}/submit", {"declaration": False})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "declaration"]
    assert api.post(f"{path}/submit", {}).status_code == 422

    submitted = api.post(f"{path}/submit", {"declaration": True})
    assert submitted.status_code == 200, submitted.content
    body = submitted.json()
    assert body["status"] == "submitted" and body["reference"].startswith("VIS")
    assert len(body["bill"]["billing_code"]) == 15 and body["bill"]["amount"] == 500_000
    assert body["bill"]["status"] == "issued" and body["permit"] is None

    application.refresh_from_db()
    pay(application, tmp_path)
    issued = api.get(path).json()
    permit = Permit.objects.get(application=application)
    assert issued["status"] == "issued" and issued["permit"]["number"] == permit.number
    assert issued["bill"]["status"] == "paid" and issued["bill"]["ntpn"]
    assert issued["decisions"] == []


def test_a_refusal_carries_its_legal_reason_and_no_officer(stage: Any, tmp_path: Any) -> None:
    maintainer = verified(build_staff(Role.DENY_LIST_MAINTAINER))
    user = build_user()
    person = foreigner(user, own=True, nationality="NLD", surname="DEVRIES", given_names="JAN", sex="M")
    actions.add_to_deny_list(
        actor=maintainer, nationality="NLD", passport_number=person.passport_number, reason="Entry ban 12/2026"
    )
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    actions.verify(application, actor=holder(application, Duty.VERIFICATION), accept=True)
    actions.decide(
        application, actor=holder(application, Duty.DECISION), outcome="refuse", note="Ban", reason="deny_list"
    )
    actions.review_refusal(application, actor=holder(application, Duty.REFUSAL_REVIEW), confirm=True, note="Yes")
    application.refresh_from_db()
    assert application.status == Status.REFUSED

    body = Api(user).get(f"/applications/{application.public_id}").json()
    assert body["status"] == "refused" and body["refusal_reason"] == "deny_list"
    assert [(d["stage"], d["outcome"], d["reason"]) for d in body["decisions"]] == [
        ("decision", "refuse", "deny_list"),
        ("review", "refuse", "deny_list"),
    ]
    assert body["decisions"][0]["reason_label"] == "Subject to an entry ban (deny list)"
    assert all(set(d) == {"stage", "outcome", "reason", "reason_label", "at"} for d in body["decisions"])
    assert "appeal" in body["allowed_actions"]


def test_the_public_permit_check(stage: Any, tmp_path: Any) -> None:
    user = build_user()
    person = foreigner(user, own=True, nationality="GBR", surname="SMITH", given_names="JOHN", sex="M")
    application = filed(user, person, "evoa", stage.home)
    pay(application, tmp_path)
    permit = Permit.objects.get(application=application)
    other = foreigner(build_user(), own=True, nationality="GBR", surname="JONES", given_names="MARY")

    public = Api()
    right = public.get("/permits/verify", {"number": permit.number, "passport": person.passport_number})
    assert right.status_code == 200
    assert right.json() == {
        "valid": True,
        "kind": "evoa",
        "valid_until": permit.valid_until.isoformat(),
        "status": "valid",
    }
    spaced = public.get("/permits/verify", {"number": permit.number.lower(), "passport": f" {person.passport_number} "})
    assert spaced.json()["valid"] is True
    for number, passport in ((permit.number, other.passport_number), ("V00000000", person.passport_number)):
        wrong = public.get("/permits/verify", {"number": number, "passport": passport})
        assert wrong.status_code == 200 and wrong.json() == {"valid": False}
    assert public.get("/permits/verify", {"number": permit.number}).status_code == 422
