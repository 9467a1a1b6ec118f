from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from gerbang.accounts.models import GrantStatus, Role, RoleGrant
from gerbang.audit.models import AuditEvent
from gerbang.conftest import last_audit_id

pytestmark = pytest.mark.django_db

ARGS = [
    "--email1=satu@imigrasi.test",
    "--name1=Admin Satu",
    "--token1=HW-1:" + "11" * 20,
    "--email2=dua@imigrasi.test",
    "--name2=Admin Dua",
    "--token2=HW-2:" + "22" * 20,
]


def test_bootstrap_installs_two_administrators_approved_by_each_other(monkeypatch: pytest.MonkeyPatch) -> None:
    before = last_audit_id()  # audit events outlive the data of transactional tests that ran earlier
    monkeypatch.setenv("GERBANG_ADMIN_PASSWORD_1", "Rahasia-Admin-Satu-1")
    monkeypatch.setenv("GERBANG_ADMIN_PASSWORD_2", "Rahasia-Admin-Dua-22")
    call_command("bootstrap_admins", *ARGS)
    grants = RoleGrant.objects.filter(role=Role.SYSTEM_ADMIN, status=GrantStatus.ACTIVE)
    assert grants.count() == 2
    for grant in grants:
        assert grant.decided_by not in (grant.user, grant.requested_by)
    assert AuditEvent.objects.filter(id__gt=before, action="accounts.bootstrap_admin").count() == 2
    # Once administrators exist, the grant workflow is the only way.
    with pytest.raises(CommandError):
        call_command(
            "bootstrap_admins", *[a.replace("satu", "tiga").replace("dua", "empat").replace("HW-", "HX-") for a in ARGS]
        )


def test_bootstrap_refuses_a_weak_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GERBANG_ADMIN_PASSWORD_1", "password")
    monkeypatch.setenv("GERBANG_ADMIN_PASSWORD_2", "Rahasia-Admin-Dua-22")
    with pytest.raises(CommandError):
        call_command("bootstrap_admins", *ARGS)
    assert not RoleGrant.objects.exists()
