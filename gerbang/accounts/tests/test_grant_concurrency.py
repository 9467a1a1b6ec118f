"""Two administrators deciding the same grant at the same moment: exactly one decision is recorded."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from gerbang.accounts import actions
from gerbang.accounts.models import GrantStatus, Role, RoleGrant, User
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_office, build_staff

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


def test_concurrent_decisions_on_one_grant_leave_exactly_one() -> None:
    office = build_office()
    person = build_staff(home=office)
    requester = build_staff(Role.SYSTEM_ADMIN)
    approvers = [build_staff(Role.SYSTEM_ADMIN) for _ in range(4)]
    grant = RoleGrant.objects.create(
        user=person, role=Role.FRONT_DESK, scope="office", office=office, reason="x", requested_by=requester
    )
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def decide(approver: User, approve: bool) -> None:
        approver.is_verified = lambda: True  # type: ignore[attr-defined]
        barrier.wait()
        try:
            actions.decide_grant(
                RoleGrant.objects.get(pk=grant.pk), approve=approve, actor=approver, reason="concurrent"
            )
            outcomes.append("decided")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(a, i % 2 == 0)) for i, a in enumerate(approvers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["decided", "refused", "refused", "refused"]
    grant.refresh_from_db()
    assert grant.status in (GrantStatus.ACTIVE, GrantStatus.REJECTED)
    decisions = AuditEvent.objects.filter(
        object_type="accounts.rolegrant",
        object_id=str(grant.pk),
        action__in=["accounts.grant_approved", "accounts.grant_rejected"],
    )
    assert decisions.count() == 1
