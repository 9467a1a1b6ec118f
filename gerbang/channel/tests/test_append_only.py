"""Messages of the official channel cannot be changed in the database (channel.0002's triggers)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from gerbang.channel.models import Message
from gerbang.conftest import build_office
from gerbang.payments.tests.support import submitted_application

pytestmark = pytest.mark.django_db


def test_a_sent_message_cannot_be_rewritten() -> None:
    application, _bill = submitted_application(bill=False)
    application.office = build_office()
    application.save(update_fields=["office"])
    message = Message.objects.create(
        application=application, sender="applicant", author=application.filer, body="Halo", sent_at=timezone.now()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.filter(pk=message.pk).update(body="Something else")
    message.refresh_from_db()
    assert message.body == "Halo"
