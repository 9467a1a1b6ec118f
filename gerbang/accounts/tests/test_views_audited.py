"""Looking at someone's record is itself recorded: who looked, at whom, when."""

from __future__ import annotations

import pytest

from gerbang.accounts.models import Role
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_staff, staff_client

pytestmark = pytest.mark.django_db


def test_viewing_a_staff_account_and_the_account_list_are_audit_events(office) -> None:
    person = build_staff(home=office)
    admin = build_staff(Role.SYSTEM_ADMIN)
    client = staff_client(admin)

    assert client.get(f"/staf/akun/{person.pk}/").status_code == 200
    viewed = AuditEvent.objects.filter(action="accounts.account_viewed", object_id=str(person.pk)).get()
    assert viewed.actor == admin and viewed.office == office

    assert client.get("/staf/akun/").status_code == 200
    listed = AuditEvent.objects.filter(action="accounts.account_list_viewed", actor=admin).get()
    assert person.pk in listed.details["shown"]


def test_a_refused_view_records_nothing(office) -> None:
    person = build_staff(home=office)
    outsider = build_staff(Role.FRONT_DESK, office=office)
    assert staff_client(outsider).get(f"/staf/akun/{person.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(action="accounts.account_viewed", object_id=str(person.pk)).exists()
