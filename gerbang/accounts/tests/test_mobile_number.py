"""The applicant's mobile number for SMS notifications: validated, normalised, audited without the number."""

from __future__ import annotations

import pytest
from django.test import Client

from gerbang.audit.models import AuditEvent
from gerbang.channel import notifications
from gerbang.conftest import build_user, last_audit_id

pytestmark = pytest.mark.django_db


def test_the_applicant_sets_a_mobile_number_and_sms_notifications_follow() -> None:
    user = build_user()
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    before = last_audit_id()
    bad = client.post("/akun/", {"mobile_number": "021 555 1234"})
    assert bad.status_code == 200 and b"Type an Indonesian mobile number" in bad.content
    letters = client.post("/akun/", {"mobile_number": "0812-ABCD"})
    assert b"digits only" in letters.content
    client.post("/akun/", {"mobile_number": "0812 3456 7890"})
    user.refresh_from_db()
    assert user.mobile_number == "+6281234567890"
    event = AuditEvent.objects.get(id__gt=before, action="accounts.mobile_number_set")
    assert event.details == {"has_number": True} and "7890" not in str(event.details)
    from django.db import transaction

    with transaction.atomic():
        sent = notifications.notify(user, subject="Test", body="Body")
    assert len(sent) == 2  # e-mail and SMS
    client.post("/akun/", {"mobile_number": ""})
    user.refresh_from_db()
    assert user.mobile_number == ""
