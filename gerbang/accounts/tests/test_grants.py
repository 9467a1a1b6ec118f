"""Granting or widening a role needs a second approver: in the workflow, and in the database."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from gerbang.accounts.models import GrantStatus, Role, RoleGrant
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff, staff_client

pytestmark = pytest.mark.django_db


def _request(client: Client, person_pk: int, office_pk: int, scope: str = "office", **extra: str):
    data = {
        "form": "grant",
        "grant-role": Role.DOCUMENT_VERIFIER,
        "grant-scope": scope,
        "grant-office": str(office_pk),
        "grant-reason": "rotation",
        **extra,
    }
    return client.post(f"/staf/akun/{person_pk}/", data)


def test_a_grant_takes_effect_only_after_a_second_administrator_approves(office) -> None:
    person = build_staff(home=office)
    first = build_staff(Role.SYSTEM_ADMIN)
    second = build_staff(Role.SYSTEM_ADMIN)
    first_client = staff_client(first)
    assert _request(first_client, person.pk, office.pk).status_code == 302
    grant = RoleGrant.objects.get(user=person)
    assert grant.status == GrantStatus.PENDING

    # The requester cannot approve: the grant is not even in their queue.
    assert grant not in first_client.get("/staf/hak-akses/").context["grants"]
    assert first_client.post(f"/staf/hak-akses/{grant.pk}/putuskan/", {"decision": "approve"}).status_code == 404
    # The grantee cannot approve their own grant either.
    person_client = staff_client(person)
    assert person_client.post(f"/staf/hak-akses/{grant.pk}/putuskan/", {"decision": "approve"}).status_code == 404
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING

    second_client = staff_client(second)
    assert grant in second_client.get("/staf/hak-akses/").context["grants"]
    assert second_client.post(f"/staf/hak-akses/{grant.pk}/putuskan/", {"decision": "approve"}).status_code == 302
    grant.refresh_from_db()
    assert grant.status == GrantStatus.ACTIVE and grant.decided_by == second
    events = AuditEvent.objects.filter(object_type="accounts.rolegrant", object_id=str(grant.pk))
    actions = list(events.values_list("action", flat=True))
    assert actions == ["accounts.grant_requested", "accounts.grant_approved"]


def test_a_rejection_needs_a_reason(office) -> None:
    person = build_staff(home=office)
    _request(staff_client(build_staff(Role.SYSTEM_ADMIN)), person.pk, office.pk)
    grant = RoleGrant.objects.get(user=person)
    approver = staff_client(build_staff(Role.SYSTEM_ADMIN))
    approver.post(f"/staf/hak-akses/{grant.pk}/putuskan/", {"decision": "reject", "reason": ""})
    grant.refresh_from_db()
    assert grant.status == GrantStatus.PENDING
    approver.post(f"/staf/hak-akses/{grant.pk}/putuskan/", {"decision": "reject", "reason": "not trained"})
    grant.refresh_from_db()
    assert grant.status == GrantStatus.REJECTED


def test_widening_to_a_division_also_waits_for_a_second_approver(office) -> None:
    person = build_staff(Role.DOCUMENT_VERIFIER, office=office)
    client = staff_client(build_staff(Role.SYSTEM_ADMIN))
    response = _request(client, person.pk, office.pk, scope="division", **{"grant-division": str(office.division_id)})
    assert response.status_code == 302
    wider = RoleGrant.objects.get(user=person, scope="division")
    assert wider.status == GrantStatus.PENDING
    event = AuditEvent.objects.get(action="accounts.grant_requested", object_id=str(wider.pk))
    assert event.details["widening"] is True


def test_office_administrator_cannot_grant_beyond_their_office(office) -> None:
    person = build_staff(home=office)
    client = staff_client(build_staff(Role.SYSTEM_ADMIN, office=office))
    response = _request(client, person.pk, office.pk, scope="directorate")
    assert response.status_code == 200
    assert not RoleGrant.objects.filter(user=person).exists()


def test_the_database_refuses_a_self_approved_or_self_requested_grant(office) -> None:
    person = build_staff(home=office)
    admin = build_staff(Role.SYSTEM_ADMIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(
            user=person, role=Role.FRONT_DESK, scope="office", office=office, reason="x",
            requested_by=admin, decided_by=admin, status=GrantStatus.ACTIVE,
        )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(
            user=person, role=Role.FRONT_DESK, scope="office", office=office, reason="x", requested_by=person
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        RoleGrant.objects.create(
            user=person, role=Role.FRONT_DESK, scope="office", office=office, reason="x",
            requested_by=admin, status=GrantStatus.ACTIVE,
        )  # fmt: skip


def test_suspended_staff_cannot_sign_in(office) -> None:
    from gerbang.conftest import PASSWORD

    person = build_staff(home=office)
    admin = staff_client(build_staff(Role.SYSTEM_ADMIN))
    response = admin.post(f"/staf/akun/{person.pk}/", {"form": "suspend", "suspend-reason": "investigation"})
    assert response.status_code == 302
    person.refresh_from_db()
    assert not person.is_active
    login = Client().post("/akun/staf/masuk/", {"username": person.email, "password": PASSWORD})
    assert login.status_code == 200
    assert AuditEvent.objects.filter(action="accounts.suspended", object_id=str(person.pk)).exists()


def test_hardware_token_registration_by_serial(office) -> None:
    person = build_staff(home=office)
    admin = staff_client(build_staff(Role.SYSTEM_ADMIN, office=office))
    data = {"form": "token", "token-serial": "GT-000123", "token-seed_hex": "00" * 20}
    assert admin.post(f"/staf/akun/{person.pk}/", data).status_code == 302
    assert TOTPDevice.objects.filter(user=person, name="GT-000123").exists()
    again = admin.post(f"/staf/akun/{person.pk}/", data)
    assert again.status_code == 200 and again.context["token_form"].errors["serial"]
    bad = admin.post(f"/staf/akun/{person.pk}/", {**data, "token-serial": "GT-9", "token-seed_hex": "zz"})
    assert bad.context["token_form"].errors
