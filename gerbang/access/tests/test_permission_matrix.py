"""Every protected action, for every kind of caller: anonymous, applicant, staff without the second
factor, wrong role, wrong office, and allowed. A refusal changes nothing, and a record the caller may
not see answers exactly like one that does not exist."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from gerbang.accounts.models import GrantStatus, Role, RoleGrant, User
from gerbang.audit.models import AuditEvent
from gerbang.conftest import PASSWORD, build_office, build_staff, build_user, staff_client
from gerbang.organisation.models import Counter, Office

pytestmark = pytest.mark.django_db


@dataclass
class World:
    office: Office
    other_office: Office
    target: User  # a staff member at `office`, subject of account actions
    pending: RoleGrant  # a grant waiting for a second approver


@dataclass
class Case:
    name: str
    allowed_role: Role
    other_role: Role
    call: Callable[[Client, World], Any]
    api: bool = False
    form_field: str = ""


def _grant_form(world: World) -> dict[str, str]:
    return {
        "form": "grant",
        "grant-role": Role.FRONT_DESK,
        "grant-scope": "office",
        "grant-office": str(world.office.pk),
        "grant-reason": "new counter staff",
    }


CASES = [
    Case(
        "view office staff (web)",
        Role.OFFICE_HEAD,
        Role.FRONT_DESK,
        lambda c, w: c.get(f"/staf/kantor/{w.office.code}/pegawai/"),
    ),
    Case(
        "view office staff (API)",
        Role.REGIONAL_SUPERVISOR,
        Role.ADJUDICATOR,
        lambda c, w: c.get(f"/api/v1/staff/offices/{w.office.code}/staff"),
        api=True,
    ),
    Case(
        "add counter (web)",
        Role.OFFICE_HEAD,
        Role.SYSTEM_ADMIN,
        lambda c, w: c.post(
            f"/staf/kantor/{w.office.code}/loket/", {"unit": w.office.units.get().pk, "number": 7, "label": "A"}
        ),
    ),
    Case(
        "add counter (API)",
        Role.OFFICE_HEAD,
        Role.FRONT_DESK,
        lambda c, w: c.post(
            f"/api/v1/staff/offices/{w.office.code}/counters",
            {"unit_id": w.office.units.get().pk, "number": 7, "label": "A"},
            "application/json",
        ),
        api=True,
    ),
    Case(
        "correct office data",
        Role.SYSTEM_ADMIN,
        Role.OFFICE_HEAD,
        lambda c, w: c.post(
            f"/staf/kantor/{w.office.code}/ubah/",
            {"office_class": "I Khusus TPI", "city": "Kota Baru", "address": "", "timezone": "Asia/Jakarta"},
        ),
    ),
    Case(
        "create staff account",
        Role.SYSTEM_ADMIN,
        Role.OFFICE_HEAD,
        lambda c, w: c.post(
            "/staf/akun/",
            {
                "full_name": "Pegawai Baru",
                "email": "baru@kanim.test",
                "home_office": str(w.office.pk),
                "password": PASSWORD,
            },
        ),
        form_field="home_office",
    ),
    Case(
        "request a role grant",
        Role.SYSTEM_ADMIN,
        Role.DIRECTORATE_AUDITOR,
        lambda c, w: c.post(f"/staf/akun/{w.target.pk}/", _grant_form(w)),
    ),
    Case(
        "approve a role grant",
        Role.SYSTEM_ADMIN,
        Role.OFFICE_HEAD,
        lambda c, w: c.post(f"/staf/hak-akses/{w.pending.pk}/putuskan/", {"decision": "approve"}),
    ),
]


def _snapshot() -> tuple[int, ...]:
    return (
        Counter.objects.count(),
        User.objects.count(),
        RoleGrant.objects.count(),
        RoleGrant.objects.filter(status=GrantStatus.ACTIVE).count(),
        AuditEvent.objects.exclude(action__endswith="_viewed").count(),  # reads are recorded too; not changes
    )


@pytest.fixture
def world() -> World:
    office = build_office()
    other = build_office(province_code="51", timezone_name="Asia/Makassar")
    target = build_staff(home=office)
    requester = build_staff(Role.SYSTEM_ADMIN, office=office)
    pending = RoleGrant.objects.create(
        user=target, role=Role.INTERVIEWER, scope="office", office=office, reason="x", requested_by=requester
    )
    return World(office=office, other_office=other, target=target, pending=pending)


def _callers(case: Case, world: World) -> dict[str, Client]:
    anonymous = Client()
    applicant = Client()
    applicant.force_login(build_user())
    no_second_factor = Client()
    no_second_factor.force_login(build_staff(case.allowed_role, office=world.office))
    return {
        "anonymous": anonymous,
        "applicant": applicant,
        "password only": no_second_factor,
        "wrong role": staff_client(build_staff(case.other_role, office=world.office)),
        "wrong office": staff_client(build_staff(case.allowed_role, office=world.other_office)),
        "wrong division": staff_client(build_staff(case.allowed_role, division=world.other_office.division)),
    }


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_refused_callers_change_nothing(case: Case, world: World) -> None:
    for who, client in _callers(case, world).items():
        before = _snapshot()
        response = case.call(client, world)
        if who == "anonymous":
            expected = {401} if case.api else {302}
        elif who in ("applicant", "password only") and not case.api:
            expected = {302}  # sent to the staff sign-in or second-factor step
        else:
            expected = {404}
        if case.form_field and who in ("wrong office", "wrong division"):
            # The office is simply not among the choices offered: a form error, no hint it exists.
            assert response.status_code == 200, f"{case.name}: {who} got {response.status_code}"
            assert case.form_field in response.context["form"].errors
        else:
            assert response.status_code in expected, f"{case.name}: {who} got {response.status_code}"
        assert _snapshot() == before, f"{case.name}: {who} changed something"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("scope", ["office", "division", "directorate"])
def test_allowed_callers_succeed(case: Case, world: World, scope: str) -> None:
    if scope == "office":
        actor = build_staff(case.allowed_role, office=world.office)
    elif scope == "division":
        actor = build_staff(case.allowed_role, division=world.office.division)
    else:
        actor = build_staff(case.allowed_role)
    before = _snapshot()
    response = case.call(staff_client(actor), world)
    assert response.status_code in (200, 201, 302), f"{case.name} as {scope}: {response.status_code}"
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        form = response.context.get("form") if response.context else None
        assert not (form is not None and form.errors), form.errors if form else None
    if case.name.startswith(("add", "create", "request", "approve", "correct")):
        assert _snapshot() != before, f"{case.name} as {scope} changed nothing"


def test_hidden_record_answers_like_a_missing_one(world: World) -> None:
    client = staff_client(build_staff(Role.OFFICE_HEAD, office=world.other_office))
    hidden = client.get(f"/staf/kantor/{world.office.code}/pegawai/")
    missing = client.get("/staf/kantor/no-such-office/pegawai/")
    assert hidden.status_code == missing.status_code == 404
    api_hidden = client.get(f"/api/v1/staff/offices/{world.office.code}/staff")
    api_missing = client.get("/api/v1/staff/offices/no-such-office/staff")
    assert api_hidden.status_code == api_missing.status_code == 404
    assert api_hidden.content == api_missing.content


def test_system_administrators_never_hold_personal_data_access() -> None:
    from gerbang.access.permissions import PERMISSIONS, Perm

    assert Role.SYSTEM_ADMIN not in PERMISSIONS[Perm.VIEW_APPLICANT_DATA]
    assert Role.LOCKER_ATTENDANT not in PERMISSIONS[Perm.VIEW_APPLICANT_DATA]


def test_every_permission_has_roles_and_every_role_is_known() -> None:
    from gerbang.access.permissions import PERMISSIONS, Perm

    assert set(PERMISSIONS) == set(Perm)
    for roles in PERMISSIONS.values():
        assert roles and roles <= set(Role)
