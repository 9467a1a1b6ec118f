from __future__ import annotations

import pytest
from django.db import transaction

from gerbang.audit.actions import AuditOutsideTransaction, record
from gerbang.audit.models import AuditEvent
from gerbang.conftest import build_user

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_event_is_recorded_only_inside_the_action_transaction() -> None:
    user = build_user()
    with pytest.raises(AuditOutsideTransaction):
        record("test.outside", actor=user, obj=user)
    with transaction.atomic():
        event = record("test.inside", actor=user, obj=user, details={"reason": "x"})
    assert event.object_type == "accounts.user" and event.object_id == str(user.pk)


def test_an_event_rolls_back_with_its_change() -> None:
    user = build_user()
    with pytest.raises(RuntimeError), transaction.atomic():
        record("test.rolled_back", actor=user, obj=user)
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()


def test_details_never_carry_secrets() -> None:
    user = build_user()
    with pytest.raises(ValueError), transaction.atomic():
        record("test.secret", actor=user, details={"password": "x"})
